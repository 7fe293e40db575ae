import type { Logger } from '@nestjs/common';
import type { MqttMessageBus } from '../broker/mqtt-message-bus.js';
import { isOwnBatch, MessageBatchWriter, newSenderId, readBatch, type BusPacket } from './message-batch.codec.js';
import type { RedisConnections } from './redis-connections.js';

/** The one pub/sub channel of a cluster (after its key prefix): every instance publishes and subscribes it. */
export const BUS_CHANNEL = 'nestjs-mqtt-ws:messages';
/** A batch goes at the end of the event-loop turn, or as soon as it holds this many bytes. */
export const MAX_BATCH_BYTES = 256 * 1024;
/**
 * Batches up to this many bytes in all may be on their way to Redis, unanswered, while their
 * publishers go on: a round trip's worth normally, what the other instances miss while Redis is
 * away. Past it, the broker waits for Redis' answers, as it waits for its persistence.
 */
export const MAX_UNANSWERED_BYTES = 8 * 1024 * 1024;
/** Longest wait, on close, for the commands a closing broker left under way. */
const SETTLE_TIMEOUT = 2_000;

type Done = (error?: Error | null) => void;

/**
 * The cluster's message bus on Redis pub/sub: the messages an instance routes during one event-loop
 * turn go to the other instances as one batch (message-batch.codec.ts) in one `PUBLISH` on one
 * channel, which every instance subscribes; an instance drops its own batches, recognised by their
 * sender id, before reading them.
 *
 * When `done` is called (docs/cluster.md, "When emit calls back"): for a QoS 2 message, when Redis
 * answered the `PUBLISH` of its batch, so that its PUBREC means every instance subscribed at that
 * moment has it (Redis pub/sub delivers at most once: an instance that is reconnecting misses it).
 * For QoS 0 and 1 (Aedes acknowledges QoS 1 before it publishes), as soon as the batch is on its way,
 * as long as the batches unanswered by Redis stay within `MAX_UNANSWERED_BYTES`; past that, when
 * Redis answers. So publishers do not wait a round trip per batch, and while Redis is away local
 * subscribers keep receiving and the other instances get what was queued when it is back.
 */
export class RedisMessageBus implements MqttMessageBus {
  private readonly senderId = newSenderId();
  private readonly writer = new MessageBatchWriter(this.senderId);
  private readonly channelName: Buffer;
  /** Callbacks of the batch under way: those that may go once it is sent, and those that wait for Redis' answer. */
  private onSent: Done[] = [];
  private onAnswer: Done[] = [];
  private flushTimer: NodeJS.Immediate | undefined;
  private readonly flushNow = (): void => this.flush();
  /** Bytes of batches sent whose callbacks were called before Redis answered. */
  private unanswered = 0;
  private closed = false;

  constructor(
    private readonly connections: RedisConnections,
    channel: string,
    private readonly logger: Logger,
  ) {
    this.channelName = Buffer.from(channel);
  }

  /** Subscribes the channel; resolves once Redis confirmed it, so that the instance routes from its first client on. */
  async start(): Promise<void> {
    await this.connections.subscriber.subscribe(this.channelName.toString());
  }

  send(packet: BusPacket, done: Done): void {
    if (this.closed) {
      done(new Error('the cluster message bus is closed'));
      return;
    }
    this.writer.append(packet);
    (packet.qos === 2 ? this.onAnswer : this.onSent).push(done);
    if (this.writer.size >= MAX_BATCH_BYTES) this.flush();
    else this.flushTimer ??= setImmediate(this.flushNow);
  }

  receive(wants: (topic: string) => boolean, deliver: (packet: BusPacket) => void): void {
    this.connections.subscriber.on('messageBuffer', (channel: Buffer, batch: Buffer) => {
      if (isOwnBatch(batch, this.senderId) || !channel.equals(this.channelName)) return;
      try {
        readBatch(batch, wants, deliver);
      } catch (error) {
        this.logger.error(`Dropped a message batch from another instance (what was left of it): ${(error as Error).message}`);
      }
    });
  }

  /**
   * Aedes closes its emitter last, once its clients are closed: what they left under way (the last
   * batch, the persistence's commands) reaches Redis first, unless Redis is away.
   */
  async close(): Promise<void> {
    this.flush();
    this.closed = true;
    const { connections } = this;
    await connections.settle(SETTLE_TIMEOUT);
    connections.closeNow();
    const open = [connections.publisher, connections.subscriber].filter((connection) => connection.status === 'ready');
    await Promise.allSettled(open.map((connection) => connection.quit()));
  }

  private flush(): void {
    if (this.flushTimer !== undefined) {
      clearImmediate(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (this.writer.count === 0) return;
    const batch = this.writer.take();
    const onSent = this.onSent;
    let onAnswer = this.onAnswer;
    this.onSent = [];
    this.onAnswer = [];
    const early = onSent.length > 0 && this.unanswered + batch.length <= MAX_UNANSWERED_BYTES;
    if (early) this.unanswered += batch.length;
    else if (onSent.length > 0) onAnswer = onAnswer.length > 0 ? onSent.concat(onAnswer) : onSent;
    // Sent first, so that a callback that publishes again appends to the next batch, after this one.
    this.connections.publisher.publish(this.channelName, batch, (error) => {
      if (early) {
        this.unanswered -= batch.length;
        if (error) this.logger.error(`A batch of messages could not be sent to the other instances: ${error.message}`);
      }
      for (const done of onAnswer) done(error);
    });
    if (early) for (const done of onSent) done(null);
  }
}
