import mqttPacket, { type Packet } from 'mqtt-packet';
import WebSocket from 'ws';

/**
 * A raw MQTT 5 peer over WebSocket for the broker-* suites: it acknowledges nothing by itself (MQTT.js
 * acknowledges every PUBLISH at once) and keeps every packet as it came off the wire (MQTT.js resolves
 * topic aliases before a test sees them).
 */
export class RawV5Client {
  readonly packets: Packet[] = [];
  private waiters: { predicate: (packets: Packet[]) => boolean; resolve: () => void }[] = [];
  private readonly parser = mqttPacket.parser({ protocolVersion: 5 });
  readonly closed: Promise<void>;

  private constructor(private readonly socket: WebSocket) {
    this.parser.on('packet', (packet: Packet) => {
      this.packets.push(packet);
      this.waiters = this.waiters.filter((waiter) => !(waiter.predicate(this.packets) && (waiter.resolve(), true)));
    });
    socket.on('message', (data: Buffer) => this.parser.parse(data));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async connect(url: string, connect: Record<string, unknown>): Promise<RawV5Client> {
    const socket = new WebSocket(url, 'mqtt');
    await new Promise((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject)));
    const client = new RawV5Client(socket);
    client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, ...connect });
    await client.until((packets) => packets.some((packet) => packet.cmd === 'connack'));
    return client;
  }

  send(packet: Record<string, unknown>): void {
    this.socket.send(mqttPacket.generate(packet as unknown as Packet, { protocolVersion: 5 }), { binary: true });
  }

  until(predicate: (packets: Packet[]) => boolean): Promise<void> {
    if (predicate(this.packets)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ predicate, resolve }));
  }

  /** SUBSCRIBE and wait for its SUBACK. */
  async subscribe(subscriptions: Record<string, unknown>[], properties?: Record<string, unknown>, messageId = 1): Promise<void> {
    this.send({ cmd: 'subscribe', messageId, subscriptions, properties });
    await this.until((packets) => packets.some((packet) => packet.cmd === 'suback' && packet.messageId === messageId));
  }

  publishes(): mqttPacket.IPublishPacket[] {
    return this.packets.filter((packet): packet is mqttPacket.IPublishPacket => packet.cmd === 'publish');
  }

  /** Resolves with the PUBLISH packets once there are `count`. */
  async nextPublishes(count: number): Promise<mqttPacket.IPublishPacket[]> {
    await this.until(() => this.publishes().length >= count);
    return this.publishes();
  }

  close(): void {
    this.socket.terminate();
  }

  /** Closes without DISCONNECT (as a lost connection) and waits for the close. */
  async drop(): Promise<void> {
    this.socket.terminate();
    await this.closed;
  }
}
