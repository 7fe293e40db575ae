import { Module, ValidationPipe } from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import { MqttWsModule } from 'nestjs-mqtt-ws';
import { DashboardModule } from './dashboard/dashboard.module.js';
import { TelemetryModule } from './telemetry/telemetry.module.js';

@Module({
  imports: [MqttWsModule.forRoot({ path: '/mqtt' }), TelemetryModule, DashboardModule],
  providers: [
    // The same as app.useGlobalPipes(new ValidationPipe(...)) in main.ts, but it travels with the
    // module, so tests that boot AppModule validate payloads exactly as the running app does.
    { provide: APP_PIPE, useValue: new ValidationPipe({ transform: true, whitelist: true }) },
  ],
})
export class AppModule {}
