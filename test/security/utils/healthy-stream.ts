import { TestClient } from '../../utils/mqtt-client.js';

/**
 * A well-behaved publisher and subscriber exchanging a numbered QoS 1 stream on their own topic,
 * run alongside a hostile client: `finish()` resolves once every acknowledged message arrived
 * and fails if any is missing or out of order.
 */
export class HealthyStream {
  private sent = 0;
  private running: Promise<void> | undefined;
  private stopped = false;

  private constructor(
    private readonly publisher: TestClient,
    private readonly subscriber: TestClient,
    readonly topic: string,
  ) {}

  static async start(url: string, name = 'healthy'): Promise<HealthyStream> {
    const subscriber = await TestClient.connect(url, { clientId: `${name}-sub` });
    const publisher = await TestClient.connect(url, { clientId: `${name}-pub` });
    const topic = `${name}/stream`;
    await subscriber.subscribe(topic, 1);
    const stream = new HealthyStream(publisher, subscriber, topic);
    stream.running = stream.publishUntilStopped();
    return stream;
  }

  /** Keeps publishing, one acknowledged message at a time, until `finish`. */
  private async publishUntilStopped(): Promise<void> {
    while (!this.stopped) {
      await this.publisher.publish(this.topic, String(this.sent), { qos: 1 });
      this.sent++;
    }
  }

  /** Waits for `atLeast` messages to have been acknowledged. */
  async progress(atLeast: number): Promise<void> {
    await this.subscriber.waitFor(atLeast, this.topic);
  }

  async finish(extra = 20): Promise<number> {
    const target = this.sent + extra;
    await this.subscriber.waitFor(target, this.topic);
    this.stopped = true;
    await this.running;
    await this.subscriber.waitFor(this.sent, this.topic);
    const received = this.subscriber.received(this.topic).map((message) => Number(message.payload.toString()));
    const expected = Array.from({ length: this.sent }, (_, i) => i);
    if (received.length !== this.sent || received.some((value, i) => value !== expected[i])) {
      throw new Error(`healthy stream broken: sent ${this.sent}, received ${received.length}`);
    }
    await Promise.all([this.publisher.end(), this.subscriber.end()]);
    return this.sent;
  }
}
