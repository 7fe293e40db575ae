import type { Logger } from '@nestjs/common';
import type { MqttMessageBus } from '../broker/mqtt-message-bus.js';
import { isOwnBatch, MessageBatchWriter, newSenderId, readBatch, type BusPacket } from './message-batch.codec.js';
import type { RedisConnections } from './redis-connections.js';

/** The one pub/sub channel of a cluster (after its key prefix): every instance publishes and subscribes it. */
export const BUS_CHANNEL = 'nestjs-mqtt-ws:messages';
/** A batch goes at the end of the event-loop turn, or as soon as it holds this many bytes. */
export const MAX_BATCH_BYTES = 256 * 1024;
/**
 * While Redis is away, batches up to this many bytes in all are taken (their publishers go on) and
 * sent when it is back; past it, the broker waits for Redis as it does for its persistence.
 */
export const OUTAGE_BUFFER_BYTES = 8 * 1024 * 1024;
/** Longest wait, on close, for the commands a closing broker left under way. */
const SETTLE_TIMEOUT = 2_000;

type Done = (error?: Error | null) => void;

/**
 * The cluster's message bus on Redis pub/sub: the messages an instance routes during one event-loop
 * turn go to the other instances as one batch (message-batch.codec.ts) in one `PUBLISH` on one
 * channel, which every instance subscribes; an instance drops its own batches, recognised by their
 * sender id, before reading them.
 *
 * A message's `done` is called when Redis answered the `PUBLISH` of its batch: every instance
 * subscribed at that moment has the batch in its connection (Redis pub/sub delivers at most once:
 * an instance that is reconnecting misses it, as it did with one channel per topic). While Redis
 * is away, `done` is called as soon as the batch is queued, as long as the batches queued so far
 * stay within `OUTAGE_BUFFER_BYTES`: local subscribers keep receiving, and what the other instances
 * miss meanwhile is sent when Redis is back.
 */
export class RedisMessageBus implements MqttMessageBus {
  private readonly senderId = newSenderId();
  private readonly writer = new MessageBatchWriter(this.senderId);
  private readonly channelName: Buffer;
  private callbacks: Done[] = [];
  private flushTimer: NodeJS.Immediate | undefined;
  private readonly flushNow = (): void => this.flush();
  /** Bytes of batches taken while Redis was away and not yet answered. */
  private outageBytes = 0;
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
    this.callbacks.push(done);
    if (this.writer.size >= MAX_BATCH_BYTES) this.flush();
    else this.flushTimer ??= setImmediate(this.flushNow);
  }

  receive(wants: (topic: string) => boolean, deliver: (packet: BusPacket) => void): void {
    this.connections.subscriber.on('messageBuffer', (channel: Buffer, batch: Buffer) => {
      if (isOwnBatch(batch, this.senderId) || !channel.equals(this.channelName)) return;
      try {
        readBatch(batch, wants, deliver);
      } catch (error) {
        this.logger.error(`Dropped a message batch from another instance: ${(error as Error).message}`);
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
    const callbacks = this.callbacks;
    this.callbacks = [];
    const { publisher } = this.connections;
    const away = publisher.status !== 'ready';
    const takenNow = away && this.outageBytes + batch.length <= OUTAGE_BUFFER_BYTES;
    if (takenNow) {
      this.outageBytes += batch.length;
      for (const done of callbacks) done(null);
    }
    publisher.publish(this.channelName, batch, (error) => {
      if (takenNow) this.outageBytes -= batch.length;
      else for (const done of callbacks) done(error);
    });
  }
}
