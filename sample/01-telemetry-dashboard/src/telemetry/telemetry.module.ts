import { Module } from '@nestjs/common';
import { DeviceCommandsService } from './device-commands.service.js';
import { DevicePresenceService } from './device-presence.service.js';
import { DevicesController } from './devices.controller.js';
import { DevicesStore } from './devices.store.js';
import { TelemetryService } from './telemetry.service.js';

@Module({
  controllers: [DevicesController],
  providers: [DevicesStore, TelemetryService, DevicePresenceService, DeviceCommandsService],
})
export class TelemetryModule {}
