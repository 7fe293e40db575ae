import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { UsersService, type ChatUser } from './users.service.js';

/** The session cookie: an HS256 JWT whose subject is the user name. */
export const SESSION_COOKIE = 'chat_session';
export const SESSION_TTL_SECONDS = 8 * 60 * 60;

/**
 * Issues and checks session tokens. The HTTP guard and the MQTT auth policy both go through
 * `userFromCookieHeader`, so a browser is the same user on both.
 */
@Injectable()
export class SessionService {
  constructor(
    private readonly jwt: JwtService,
    private readonly users: UsersService,
  ) {}

  issue(user: ChatUser): Promise<string> {
    return this.jwt.signAsync({ sub: user.name });
  }

  /** `Set-Cookie` value: HttpOnly (scripts cannot read it), SameSite=Strict (no cross-site request carries it). */
  cookie(token: string, secure: boolean): string {
    return serializeCookie(token, SESSION_TTL_SECONDS, secure);
  }

  clearedCookie(secure: boolean): string {
    return serializeCookie('', 0, secure);
  }

  /** The user of a `Cookie` header, or `undefined` when it carries no valid, unexpired session of a known user. */
  async userFromCookieHeader(header: string | undefined): Promise<ChatUser | undefined> {
    const token = readCookie(header, SESSION_COOKIE);
    if (!token) return undefined;
    try {
      const { sub } = await this.jwt.verifyAsync<{ sub?: unknown }>(token, { algorithms: ['HS256'] });
      return typeof sub === 'string' && this.users.exists(sub) ? { name: sub } : undefined;
    } catch {
      return undefined;
    }
  }
}

function serializeCookie(value: string, maxAge: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}
