import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { ChatAuthPolicy } from './chat-auth.policy.js';
import { ChatService } from './chat.service.js';
import { PresenceService } from './presence.service.js';
import { RoomsController } from './rooms.controller.js';
import { RoomsService } from './rooms.service.js';

@Module({
  imports: [AuthModule],
  controllers: [RoomsController],
  // ChatAuthPolicy is an ordinary provider here, so it gets SessionService and RoomsService
  // injected; MqttWsModule finds this instance through `auth: { useExisting: ChatAuthPolicy }`.
  providers: [RoomsService, PresenceService, ChatService, ChatAuthPolicy],
})
export class ChatModule {}
