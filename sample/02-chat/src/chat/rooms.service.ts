import { Injectable } from '@nestjs/common';

export interface Room {
  name: string;
  title: string;
}

/** The rooms users can join. Anyone signed in may join any of them; only members may read or write in one. */
const ROOMS: Room[] = [
  { name: 'general', title: 'General' },
  { name: 'random', title: 'Random' },
  { name: 'ops', title: 'Ops' },
];

/**
 * Who joined which room: the record the MQTT auth policy checks on every subscription, message
 * and delivery. In memory; a real app would keep it in its database.
 */
@Injectable()
export class RoomsService {
  private readonly members = new Map<string, Set<string>>(ROOMS.map((room) => [room.name, new Set<string>()]));

  list(): Room[] {
    return ROOMS;
  }

  exists(room: string): boolean {
    return this.members.has(room);
  }

  /** Cheap and synchronous: `authorizeForward` asks it for every message delivered to a client. */
  isMember(room: string, user: string): boolean {
    return this.members.get(room)?.has(user) ?? false;
  }

  /** The rooms `user` joined. */
  roomsOf(user: string): string[] {
    return [...this.members].filter(([, members]) => members.has(user)).map(([room]) => room);
  }

  /** `true` when the user was not a member before. */
  join(room: string, user: string): boolean {
    const members = this.members.get(room);
    if (!members || members.has(user)) return false;
    members.add(user);
    return true;
  }

  /** `true` when the user was a member. */
  leave(room: string, user: string): boolean {
    return this.members.get(room)?.delete(user) ?? false;
  }
}
