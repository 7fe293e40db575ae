import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { pollUntil } from './instance-process.js';

/**
 * An MQTT.js client over WebSocket that records messages from its first packet on: a persistent
 * session's queued messages may arrive in the same frame as the CONNACK, before a listener added
 * after `connectAsync` would see them.
 */
export class ClusterClient {
  readonly messages: IPublishPacket[] = [];
  sessionPresent = false;
  readonly closed: Promise<void>;

  private constructor(readonly client: MqttClient) {
    client.on('message', (_topic, _payload, packet) => this.messages.push(packet));
    this.closed = new Promise((resolve) => client.once('close', () => resolve()));
  }

  static connect(url: string, options: IClientOptions = {}): Promise<ClusterClient> {
    const wrapper = new ClusterClient(mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...options }));
    return new Promise((resolve, reject) => {
      wrapper.client.once('connect', (connack) => {
        wrapper.client.off('error', reject);
        wrapper.sessionPresent = connack.sessionPresent;
        resolve(wrapper);
      });
      wrapper.client.once('error', reject);
    });
  }

  /** Payloads received (as strings), optionally only those of topics starting with `prefix`. */
  payloads(prefix = ''): string[] {
    return this.messages.filter((packet) => packet.topic.startsWith(prefix)).map((packet) => packet.payload.toString());
  }

  async waitForPayloads(count: number, prefix = '', timeout = 10_000): Promise<string[]> {
    await pollUntil(() => this.payloads(prefix).length >= count, timeout, `${count} messages on "${prefix}…"`);
    return this.payloads(prefix);
  }

  async subscribe(topic: string | string[], qos: 0 | 1 | 2): Promise<void> {
    const granted = await this.client.subscribeAsync(topic, { qos });
    for (const grant of granted) if (grant.qos === 128) throw new Error(`subscription to ${grant.topic} refused`);
  }

  publish(topic: string, payload: string, qos: 0 | 1 | 2 = 0, retain = false): Promise<unknown> {
    return this.client.publishAsync(topic, payload, { qos, retain });
  }

  /** A clean DISCONNECT; a persistent session stays on the broker. */
  async end(): Promise<void> {
    if (!this.client.disconnected) await this.client.endAsync();
  }

  /** Drops the connection without DISCONNECT. */
  async drop(): Promise<void> {
    await this.client.endAsync(true);
  }
}
