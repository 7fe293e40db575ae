import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { RawMqttPeer } from '../utils/raw-mqtt-peer.js';

/**
 * A raw MQTT 3.1.1 peer on a TCP socket, for conformance checks over the `tcp` listener: it sends
 * packets MQTT.js would refuse to build (or several in one write), reads every packet the broker
 * sends, in order, and tells whether the broker closed the connection.
 */
export class TcpPeer extends RawMqttPeer {
  private constructor(private readonly socket: Socket) {
    super();
    socket.on('data', (data: Buffer) => this.receive(data));
    socket.on('error', () => undefined);
    socket.once('close', () => this.closedNow());
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

  /** Several packets in one write. */
  override send(...packets: (Record<string, unknown> | Packet)[]): void {
    this.socket.write(Buffer.concat(packets.map((packet) => TcpPeer.encode(packet as Record<string, unknown>))));
  }

  override sendBytes(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Stops reading the socket, as a client that no longer keeps up. */
  pause(): void {
    this.socket.pause();
  }

  /** Closes without DISCONNECT, as a network failure would. */
  override async drop(): Promise<void> {
    if (!this.isClosed) this.socket.destroy();
    await this.closed;
  }
}
