import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { randomBytes } from 'node:crypto';
import { SessionController } from './session.controller.js';
import { SessionGuard } from './session.guard.js';
import { SESSION_TTL_SECONDS, SessionService } from './session.service.js';
import { UsersService } from './users.service.js';

@Module({
  imports: [
    JwtModule.register({
      // Without CHAT_JWT_SECRET each start signs with a new random key, so a restart signs everyone out.
      secret: process.env.CHAT_JWT_SECRET ?? randomBytes(32).toString('base64url'),
      signOptions: { algorithm: 'HS256', expiresIn: SESSION_TTL_SECONDS },
      verifyOptions: { algorithms: ['HS256'] },
    }),
  ],
  controllers: [SessionController],
  providers: [UsersService, SessionService, SessionGuard],
  exports: [SessionService, SessionGuard],
})
export class AuthModule {}
