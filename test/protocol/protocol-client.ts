import mqttPacket, { type Packet } from 'mqtt-packet';
import WebSocket from 'ws';

const DEFAULT_WAIT = 2000;

/**
 * A raw MQTT 3.1.1 peer over WebSocket (subprotocol 'mqtt') for conformance tests: it sends
 * packets MQTT.js would refuse to build, reads every packet the broker sends, in order, and tells
 * whether and how the broker closed the connection.
 */
export class ProtocolClient {
  private readonly received: Packet[] = [];
  private readIndex = 0;
  private wake: (() => void) | undefined;
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  readonly closed: Promise<void>;
  isClosed = false;

  private constructor(private readonly socket: WebSocket) {
    this.parser.on('packet', (packet: Packet) => {
      this.received.push(packet);
      this.wake?.();
    });
    this.parser.on('error', (error: Error) => {
      throw error;
    });
    socket.on('message', (data: Buffer) => this.parser.parse(data));
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wake?.();
        resolve();
      }),
    );
  }

  static open(url: string): Promise<ProtocolClient> {
    const socket = new WebSocket(url, 'mqtt');
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new ProtocolClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Opens a connection and completes a CONNECT handshake; resolves with the client and its CONNACK. */
  static async connect(url: string, connect: Partial<mqttPacket.IConnectPacket> & { clientId: string }) {
    const client = await ProtocolClient.open(url);
    const connack = await client.request({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, ...connect });
    if (connack?.cmd !== 'connack' || connack.returnCode !== 0) throw new Error(`connect failed: ${JSON.stringify(connack)}`);
    return { client, connack: connack as mqttPacket.IConnackPacket };
  }

  send(packet: Record<string, unknown> | Packet): void {
    this.sendBytes(mqttPacket.generate(packet as Packet));
  }

  sendBytes(bytes: Buffer): void {
    this.socket.send(bytes, { binary: true });
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

  /** Closes without DISCONNECT, as a network failure would. */
  async drop(): Promise<void> {
    if (!this.isClosed) this.socket.terminate();
    await this.closed;
  }

  /** Sends DISCONNECT and waits for the broker to close. */
  async disconnect(): Promise<void> {
    if (!this.isClosed) this.send({ cmd: 'disconnect' });
    await this.closesWithin();
    await this.drop();
  }
}

export { rawPacket } from '../utils/raw-packet.js';

/** An MQTT string field holding exactly `bytes`, well-formed UTF-8 or not. */
export function mqttString(bytes: Buffer | string): Buffer {
  const content = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(content.length);
  return Buffer.concat([prefix, content]);
}

/** A CONNECT body for hand-made CONNECTs: protocol name and level, flags byte, keepalive, then fields. */
export function connectBody(options: { name?: string; level?: number; flags?: number; fields: Buffer[] }): Buffer {
  const { name = 'MQTT', level = 4, flags = 0x02, fields } = options;
  return Buffer.concat([mqttString(name), Buffer.from([level, flags, 0, 0]), ...fields]);
}

/** The first byte of a CONNECT. */
export const CONNECT = 0x10;
