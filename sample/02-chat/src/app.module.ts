import { Module, ValidationPipe } from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import { MqttWsModule } from 'nestjs-mqtt-ws';
import { ChatAuthPolicy } from './chat/chat-auth.policy.js';
import { ChatModule } from './chat/chat.module.js';
import { WebModule } from './web/web.module.js';

@Module({
  imports: [
    // Default allowedOrigins: only pages of this app's own origin may open the MQTT WebSocket.
    MqttWsModule.forRoot({ path: '/mqtt', auth: { useExisting: ChatAuthPolicy } }),
    ChatModule,
    WebModule,
  ],
  providers: [
    // Validates HTTP bodies and MQTT payloads alike (ChatMessageDto on `chat/rooms/<room>/send`).
    { provide: APP_PIPE, useValue: new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }) },
  ],
})
export class AppModule {}
