import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  packet: mqtt.IPublishPacket;
}

/** A real MQTT.js client over WebSocket that records what it receives, for tests to await. */
export class TestClient {
  readonly messages: ReceivedMessage[] = [];
  connack!: mqtt.IConnackPacket;
  private waiters: { count: number; topic?: string; resolve: () => void }[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload, packet });
      this.waiters = this.waiters.filter((waiter) => {
        if (this.received(waiter.topic).length < waiter.count) return true;
        waiter.resolve();
        return false;
      });
    });
  }

  /**
   * Connects over WebSocket, recording messages from the first packet on: a resumed session's queued
   * messages may come in the same read as the CONNACK, before a listener added once `connectAsync`
   * had settled would see them. Rejects on an error or a close before the CONNACK.
   */
  static async connect(url: string, options: IClientOptions = {}): Promise<TestClient> {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    const listening = new TestClient(client);
    listening.connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
      const settle = () => client.off('connect', connected).off('error', failed).off('close', closed);
      const connected = (connack: mqtt.IConnackPacket) => (settle(), resolve(connack));
      const failed = (error: Error) => (settle(), client.end(true), reject(error));
      const closed = () => failed(new Error(`closed before a CONNACK from ${url}`));
      client.on('connect', connected).on('error', failed).on('close', closed);
    });
    return listening;
  }

  received(topic?: string): ReceivedMessage[] {
    return topic === undefined ? this.messages : this.messages.filter((message) => message.topic === topic);
  }

  /** Resolves with the messages (optionally of one topic) once at least `count` have arrived. */
  async waitFor(count: number, topic?: string): Promise<ReceivedMessage[]> {
    if (this.received(topic).length < count) {
      await new Promise<void>((resolve) => this.waiters.push({ count, topic, resolve }));
    }
    return this.received(topic);
  }

  async subscribe(topic: string | string[], qos: 0 | 1 | 2 = 0) {
    return this.client.subscribeAsync(topic, { qos });
  }

  async publish(topic: string, payload: string | Buffer | object, options: IClientPublishOptions = {}) {
    const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    return this.client.publishAsync(topic, body, options);
  }

  async end(force = false): Promise<void> {
    await this.client.endAsync(force);
  }
}
