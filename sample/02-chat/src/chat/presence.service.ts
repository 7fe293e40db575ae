import { Injectable, Logger } from '@nestjs/common';
import { getMqttPrincipal, MqttService, OnMqttEvent, type MqttClientEvent } from 'nestjs-mqtt-ws';
import type { ChatUser } from '../auth/users.service.js';
import { topics } from '../topics.js';
import { RoomsService } from './rooms.service.js';

type Connection = MqttClientEvent['client'];

/**
 * Publishes who is online in each room, retained, so a member who subscribes later sees everyone
 * at once. A user is online while at least one of their connections is open (two tabs count once).
 */
@Injectable()
export class PresenceService {
  private readonly logger = new Logger(PresenceService.name);
  private readonly connections = new Map<string, Set<Connection>>();

  constructor(
    private readonly mqtt: MqttService,
    private readonly rooms: RoomsService,
  ) {}

  isOnline(user: string): boolean {
    return (this.connections.get(user)?.size ?? 0) > 0;
  }

  @OnMqttEvent('client.connected')
  async onConnected({ client }: MqttClientEvent): Promise<void> {
    const user = getMqttPrincipal<ChatUser>(client)?.name;
    if (!user) return;
    let open = this.connections.get(user);
    if (!open) this.connections.set(user, (open = new Set()));
    open.add(client);
    if (open.size === 1) await this.announce(user, 'online');
  }

  @OnMqttEvent('client.disconnected')
  async onDisconnected({ client }: MqttClientEvent): Promise<void> {
    const user = getMqttPrincipal<ChatUser>(client)?.name;
    const open = user ? this.connections.get(user) : undefined;
    if (!user || !open?.delete(client) || open.size > 0) return;
    this.connections.delete(user);
    await this.announce(user, 'offline');
  }

  /** A new member appears in the room's presence right away, online or not. */
  async joined(room: string, user: string): Promise<void> {
    await this.publish(room, user, this.isOnline(user) ? 'online' : 'offline');
  }

  /** An empty retained message deletes the retained one: the user is gone from the room's presence. */
  async left(room: string, user: string): Promise<void> {
    await this.publish(room, user, '');
  }

  private async announce(user: string, status: 'online' | 'offline'): Promise<void> {
    this.logger.log(`${user} is ${status}`);
    await Promise.all(this.rooms.roomsOf(user).map((room) => this.publish(room, user, status)));
  }

  private publish(room: string, user: string, status: string): Promise<void> {
    return this.mqtt.publish(topics.presence(room, user), status, { qos: 1, retain: true });
  }
}
