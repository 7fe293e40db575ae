import { createParamDecorator, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { SessionService } from './session.service.js';
import type { ChatUser } from './users.service.js';

type RequestWithUser = IncomingMessage & { user?: ChatUser };

/** HTTP routes behind it need the session cookie; the user is then `@CurrentUser()`. */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(private readonly sessions: SessionService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithUser>();
    const user = await this.sessions.userFromCookieHeader(request.headers.cookie);
    if (!user) throw new UnauthorizedException('Sign in first');
    request.user = user;
    return true;
  }
}

export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): ChatUser => context.switchToHttp().getRequest<RequestWithUser>().user!,
);
