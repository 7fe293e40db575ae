import { Injectable } from '@nestjs/common';
import {
  MqttConnectReturnCode,
  type MqttAuthenticateResult,
  type MqttAuthPolicy,
  type MqttConnectAuthContext,
  type MqttPublishAuthContext,
  type MqttSubscribeAuthContext,
} from 'nestjs-mqtt-ws';
import { SessionService } from '../auth/session.service.js';
import type { ChatUser } from '../auth/users.service.js';
import { RoomsService } from './rooms.service.js';

const ROOMS_PREFIX = 'chat/rooms/';

/**
 * The chat's security model, in four hooks:
 * - connect: the session cookie of the WebSocket handshake must hold a valid token; its user is
 *   the connection's principal. The client id must start with `<user>-`, so nobody can take over
 *   (and so disconnect) another user's session by reusing its client id;
 * - publish: only `chat/rooms/<room>/send`, not retained, in a room the user joined;
 * - subscribe: only the `messages`, `history` and `presence/+` (or `presence/<user>`) of a room the user joined; any
 *   wildcard in the room level (`chat/rooms/+/messages`, `chat/#`) is refused;
 * - forward: each delivery is checked against the membership again, so leaving a room stops it
 *   at once, on subscriptions made while the user was a member.
 */
@Injectable()
export class ChatAuthPolicy implements MqttAuthPolicy<ChatUser> {
  constructor(
    private readonly sessions: SessionService,
    private readonly rooms: RoomsService,
  ) {}

  async authenticate({ request, clientId }: MqttConnectAuthContext): Promise<MqttAuthenticateResult> {
    const user = await this.sessions.userFromCookieHeader(request?.headers.cookie);
    if (!user) return MqttConnectReturnCode.NotAuthorized;
    if (!clientId.startsWith(`${user.name}-`)) return MqttConnectReturnCode.IdentifierRejected;
    return user;
  }

  authorizePublish({ topic, packet, principal }: MqttPublishAuthContext<ChatUser>): boolean {
    const [room, kind, ...rest] = levelsUnderRooms(topic);
    return !packet.retain && kind === 'send' && rest.length === 0 && this.isMember(room, principal);
  }

  authorizeSubscribe({ topic, principal }: MqttSubscribeAuthContext<ChatUser>): boolean {
    const [room, kind, ...rest] = levelsUnderRooms(topic);
    if (!this.isMember(room, principal)) return false;
    if (kind === 'messages' || kind === 'history') return rest.length === 0;
    return kind === 'presence' && rest.length === 1 && rest[0] !== '#'; // `+` or one member
  }

  authorizeForward({ topic, principal }: MqttPublishAuthContext<ChatUser>): boolean {
    if (!topic.startsWith(ROOMS_PREFIX)) return false;
    const end = topic.indexOf('/', ROOMS_PREFIX.length);
    return end > 0 && this.isMember(topic.slice(ROOMS_PREFIX.length, end), principal);
  }

  /** A wildcard is never a room name, so `+` and `#` fail here. */
  private isMember(room: string | undefined, principal: ChatUser | undefined): boolean {
    return room !== undefined && principal !== undefined && this.rooms.isMember(room, principal.name);
  }
}

/** The levels after `chat/rooms/`, or none when the topic is elsewhere. */
function levelsUnderRooms(topic: string): string[] {
  return topic.startsWith(ROOMS_PREFIX) ? topic.slice(ROOMS_PREFIX.length).split('/') : [];
}
