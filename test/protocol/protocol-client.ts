import type mqttPacket from 'mqtt-packet';
import WebSocket from 'ws';
import { RawMqttPeer } from '../utils/raw-mqtt-peer.js';

/**
 * A raw MQTT 3.1.1 peer over WebSocket (subprotocol 'mqtt') for conformance tests: it sends
 * packets MQTT.js would refuse to build, reads every packet the broker sends, in order, and tells
 * whether and how the broker closed the connection.
 */
export class ProtocolClient extends RawMqttPeer {
  private constructor(private readonly socket: WebSocket) {
    super();
    this.parser.on('error', (error: Error) => {
      throw error;
    });
    socket.on('message', (data: Buffer) => this.receive(data));
    socket.once('close', () => this.closedNow());
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
    if (connect.protocolVersion === 5) client.speakMqtt5();
    const connack = await client.request({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, ...connect });
    if (connack?.cmd !== 'connack' || (connack.returnCode ?? connack.reasonCode) !== 0) throw new Error(`connect failed: ${JSON.stringify(connack)}`);
    return { client, connack: connack as mqttPacket.IConnackPacket };
  }

  override sendBytes(bytes: Buffer): void {
    this.socket.send(bytes, { binary: true });
  }

  /** Closes without DISCONNECT, as a network failure would. */
  override async drop(): Promise<void> {
    if (!this.isClosed) this.socket.terminate();
    await this.closed;
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
