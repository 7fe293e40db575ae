import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

const DEFAULT_WAIT = 2000;

/**
 * A raw MQTT 3.1.1 peer on a TCP socket, for conformance checks over the `tcp` listener: it sends
 * packets MQTT.js would refuse to build (or several in one write), reads every packet the broker
 * sends, in order, and tells whether the broker closed the connection.
 */
export class TcpPeer {
  private readonly received: Packet[] = [];
  private readIndex = 0;
  private wake: (() => void) | undefined;
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  readonly closed: Promise<void>;
  isClosed = false;

  private constructor(private readonly socket: Socket) {
    this.parser.on('packet', (packet: Packet) => {
      this.received.push(packet);
      this.wake?.();
    });
    socket.on('data', (data: Buffer) => this.parser.parse(data));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wake?.();
        resolve();
      }),
    );
  }

  static open(url: string): Promise<TcpPeer> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        socket.off('error', reject);
        resolve(new TcpPeer(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Opens a connection and completes a CONNECT; resolves with the peer and its CONNACK. */
  static async connect(url: string, connect: Partial<mqttPacket.IConnectPacket> & { clientId: string }) {
    const peer = await TcpPeer.open(url);
    const connack = await peer.request({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, ...connect });
    if (connack?.cmd !== 'connack' || connack.returnCode !== 0) throw new Error(`connect failed: ${JSON.stringify(connack)}`);
    return { peer, connack: connack as mqttPacket.IConnackPacket };
  }

  static encode(packet: Record<string, unknown>): Buffer {
    return mqttPacket.generate(packet as unknown as Packet);
  }

  send(...packets: Record<string, unknown>[]): void {
    this.socket.write(Buffer.concat(packets.map(TcpPeer.encode)));
  }

  sendBytes(bytes: Buffer): void {
    this.socket.write(bytes);
  }

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

  /** Stops reading the socket, as a client that no longer keeps up. */
  pause(): void {
    this.socket.pause();
  }

  /** Closes without DISCONNECT, as a network failure would. */
  async drop(): Promise<void> {
    if (!this.isClosed) this.socket.destroy();
    await this.closed;
  }

  async disconnect(): Promise<void> {
    if (!this.isClosed) this.send({ cmd: 'disconnect' });
    await this.closesWithin();
    await this.drop();
  }
}
