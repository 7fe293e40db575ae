import { Body, Controller, Delete, Get, HttpCode, Post, Req, Res, UnauthorizedException, UseGuards } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TLSSocket } from 'node:tls';
import { CurrentUser, SessionGuard } from './session.guard.js';
import { SessionService } from './session.service.js';
import { SignInDto } from './sign-in.dto.js';
import { UsersService, type ChatUser } from './users.service.js';

@Controller('api/session')
export class SessionController {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
  ) {}

  /** Signs in: sets the session cookie. The browser sends it with every request and with the MQTT WebSocket's handshake. */
  @Post()
  @HttpCode(200)
  async signIn(
    @Body() { user, password }: SignInDto,
    @Req() request: IncomingMessage,
    @Res({ passthrough: true }) response: ServerResponse,
  ): Promise<ChatUser> {
    const signedIn = this.users.verify(user, password);
    if (!signedIn) throw new UnauthorizedException('Unknown user or wrong password');
    response.setHeader('Set-Cookie', this.sessions.cookie(await this.sessions.issue(signedIn), isHttps(request)));
    return signedIn;
  }

  @Get()
  @UseGuards(SessionGuard)
  current(@CurrentUser() user: ChatUser): ChatUser {
    return user;
  }

  /** Signs out of this browser. The token itself stays valid until it expires: the sample keeps no revocation list. */
  @Delete()
  @HttpCode(204)
  signOut(@Req() request: IncomingMessage, @Res({ passthrough: true }) response: ServerResponse): void {
    response.setHeader('Set-Cookie', this.sessions.clearedCookie(isHttps(request)));
  }
}

function isHttps(request: IncomingMessage): boolean {
  return request.socket instanceof TLSSocket;
}
