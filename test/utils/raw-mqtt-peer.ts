import mqttPacket, { type Packet } from 'mqtt-packet';

export const DEFAULT_WAIT = 2000;

/**
 * What the raw MQTT peers of the tests share, whatever carries their bytes (WebSocket or TCP): they
 * send packets MQTT.js would refuse to build, read every packet the broker sends, in order, and
 * tell whether the broker closed the connection. A subclass feeds `received` and `closedNow` from
 * its socket and writes with `sendBytes`.
 */
export abstract class RawMqttPeer {
  private readonly received: Packet[] = [];
  private readIndex = 0;
  private wake: (() => void) | undefined;
  protected readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  private protocolVersion: 4 | 5 = 4;
  readonly closed: Promise<void>;
  isClosed = false;
  private markClosed!: () => void;

  protected constructor() {
    this.parser.on('packet', (packet: Packet) => {
      this.received.push(packet);
      this.wake?.();
    });
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
  }

  /** Bytes from the broker. */
  protected receive(data: Buffer): void {
    this.parser.parse(data);
  }

  /** The socket closed. */
  protected closedNow(): void {
    this.isClosed = true;
    this.wake?.();
    this.markClosed();
  }

  abstract sendBytes(bytes: Buffer): void;

  /** Closes without DISCONNECT, as a network failure would. */
  abstract drop(): Promise<void>;

  /** Speak MQTT 5 from now on (packets sent and read carry properties and reason codes). */
  speakMqtt5(): void {
    this.protocolVersion = 5;
    (this.parser as unknown as { settings: { protocolVersion: number } }).settings.protocolVersion = 5;
  }

  send(packet: Record<string, unknown> | Packet): void {
    this.sendBytes(mqttPacket.generate(packet as Packet, { protocolVersion: this.protocolVersion }));
  }

  /** Sends a packet and resolves with the next packet the broker sends (`undefined` if none came). */
  request(packet: Record<string, unknown>, wait = DEFAULT_WAIT): Promise<Packet | undefined> {
    this.send(packet);
    return this.next(wait);
  }

  /** The next packet not read yet, or `undefined` when none arrives within `wait` ms or the connection closed. */
  async next(wait = DEFAULT_WAIT): Promise<Packet | undefined> {
    const deadline = Date.now() + wait;
    while (this.readIndex >= this.received.length) {
      const left = deadline - Date.now();
      if (this.isClosed || left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.received[this.readIndex++];
  }

  /** The next `count` packets; fails when fewer arrive. */
  async nextPackets(count: number, wait = DEFAULT_WAIT): Promise<Packet[]> {
    const packets: Packet[] = [];
    for (let i = 0; i < count; i++) {
      const packet = await this.next(wait);
      if (!packet) throw new Error(`expected ${count} packets, got ${packets.length}: ${JSON.stringify(packets)}`);
      packets.push(packet);
    }
    return packets;
  }

  /** Whether the broker closed the connection within `wait` ms. */
  async closesWithin(wait = DEFAULT_WAIT): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, wait, false)));
    const result = await Promise.race([this.closed.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** Sends DISCONNECT and waits for the broker to close. */
  async disconnect(): Promise<void> {
    if (!this.isClosed) this.send({ cmd: 'disconnect' });
    await this.closesWithin();
    await this.drop();
  }
}
