import mqttPacket, { type Packet } from 'mqtt-packet';
import WebSocket from 'ws';

/**
 * A bare WebSocket speaking hand-made MQTT packets, for what MQTT.js will not do: split or
 * coalesce frames, send text frames or garbage, and see exactly which frames come back.
 */
export class RawMqttSocket {
  readonly frames: Buffer[] = [];
  readonly packets: Packet[] = [];
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  private waiters: { count: number; resolve: () => void }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    this.parser.on('packet', (packet: Packet) => {
      this.packets.push(packet);
      this.waiters = this.waiters.filter((waiter) => {
        if (this.packets.length < waiter.count) return true;
        waiter.resolve();
        return false;
      });
    });
    socket.on('message', (data: Buffer) => {
      this.frames.push(data);
      this.parser.parse(data);
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static open(url: string, protocols: string | string[] = 'mqtt', headers: Record<string, string> = {}): Promise<RawMqttSocket> {
    const socket = new WebSocket(url, protocols, { headers });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new RawMqttSocket(socket)));
      socket.once('error', reject);
    });
  }

  static encode(packet: Record<string, unknown>): Buffer {
    return mqttPacket.generate(packet as unknown as Packet);
  }

  send(data: Buffer | string, binary = true): void {
    this.socket.send(data, { binary });
  }

  sendPacket(packet: Record<string, unknown>): void {
    this.send(RawMqttSocket.encode(packet));
  }

  async waitForPackets(count: number): Promise<Packet[]> {
    if (this.packets.length < count) await new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    return this.packets;
  }

  async connect(clientId: string): Promise<void> {
    this.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0 });
    const [connack] = await this.waitForPackets(this.packets.length + 1);
    if (connack.cmd !== 'connack') throw new Error(`expected CONNACK, got ${connack.cmd}`);
  }

  close(): Promise<unknown> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.terminate();
    return this.closed;
  }
}

/** An HTTP upgrade attempt that resolves with the HTTP status instead of throwing. */
export function upgradeStatus(
  url: string,
  protocols?: string | string[],
  headers: Record<string, string> = {},
): Promise<{ status: number; protocol?: string }> {
  const socket = new WebSocket(url, protocols, { headers });
  return new Promise((resolve) => {
    socket.once('open', () => {
      const protocol = socket.protocol;
      socket.terminate();
      resolve({ status: 101, protocol });
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0 });
      response.resume();
      socket.terminate();
    });
    socket.once('error', () => resolve({ status: 0 }));
  });
}
