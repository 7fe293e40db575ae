import { Controller, Get, HttpCode, NotFoundException, Param, Post, UseGuards } from '@nestjs/common';
import { CurrentUser, SessionGuard } from '../auth/session.guard.js';
import type { ChatUser } from '../auth/users.service.js';
import { PresenceService } from './presence.service.js';
import { RoomsService } from './rooms.service.js';

export interface RoomView {
  name: string;
  title: string;
  joined: boolean;
}

/** Joining is an HTTP request: the server records it, and the MQTT auth policy reads that record. */
@Controller('api/rooms')
@UseGuards(SessionGuard)
export class RoomsController {
  constructor(
    private readonly rooms: RoomsService,
    private readonly presence: PresenceService,
  ) {}

  @Get()
  list(@CurrentUser() user: ChatUser): RoomView[] {
    return this.rooms.list().map(({ name, title }) => ({ name, title, joined: this.rooms.isMember(name, user.name) }));
  }

  @Post(':room/join')
  @HttpCode(200)
  async join(@Param('room') room: string, @CurrentUser() user: ChatUser): Promise<RoomView> {
    const known = this.known(room);
    if (this.rooms.join(room, user.name)) await this.presence.joined(room, user.name);
    return { ...known, joined: true };
  }

  /** Leaving takes effect at once: `authorizeForward` stops delivering the room to the user's open connections. */
  @Post(':room/leave')
  @HttpCode(200)
  async leave(@Param('room') room: string, @CurrentUser() user: ChatUser): Promise<RoomView> {
    const known = this.known(room);
    if (this.rooms.leave(room, user.name)) await this.presence.left(room, user.name);
    return { ...known, joined: false };
  }

  private known(room: string) {
    const found = this.rooms.list().find(({ name }) => name === room);
    if (!found) throw new NotFoundException(`No room "${room}"`);
    return found;
  }
}
