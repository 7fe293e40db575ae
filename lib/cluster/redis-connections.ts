import { createRequire } from 'node:module';
import type { Logger } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';
import type { MqttRedisHealth } from './redis-health.js';

type RedisClass = new (url: string, options: RedisOptions) => Redis;

/**
 * The broker's three connections to Redis (persistence, message bus publisher, message bus subscriber). Once started
 * they wait for Redis as long as it is away instead of failing commands: the broker holds the
 * acknowledgements that depend on Redis and sends them when it returns. The outage and the return
 * are logged and reported to `health` once each, not once per reconnection attempt.
 */
export class RedisConnections {
  readonly persistence: Redis;
  readonly publisher: Redis;
  readonly subscriber: Redis;
  private readonly down = new Set<Redis>();
  private started = false;
  private closing = false;

  constructor(
    Client: RedisClass,
    url: string,
    keyPrefix: string | undefined,
    private readonly logger: Logger,
    private readonly health?: MqttRedisHealth,
  ) {
    // No retry limit per command: a command issued while Redis is away waits for it.
    // ioredis waits disconnectTimeout (default 2 s) for a closed socket that never says so, holding the process.
    const options: RedisOptions = { maxRetriesPerRequest: null, connectionName: 'nestjs-mqtt-ws', disconnectTimeout: 500 };
    this.persistence = new Client(url, { ...options, keyPrefix });
    // Pub/sub channels are not prefixed by ioredis; the message bus prefixes its channel itself.
    this.publisher = new Client(url, { ...options, enableAutoPipelining: true });
    this.subscriber = new Client(url, options);
    for (const connection of this.all) this.watch(connection);
  }

  /** True while every connection is ready. */
  get available(): boolean {
    return this.all.every((connection) => connection.status === 'ready');
  }

  /** Resolves when every connection is ready, or fails after `timeout` ms with the last error. */
  async ready(target: string, timeout: number): Promise<void> {
    // Start-up failures are reported by this method's error, not as an outage.
    let lastError: Error | undefined;
    const onError = (error: Error) => (lastError = error);
    for (const connection of this.all) connection.on('error', onError);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all(this.all.map((connection) => waitUntilReady(connection))),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const reason = lastError ? `: ${lastError.message}` : '';
            reject(new Error(`MqttWsModule: could not reach Redis at ${target} within ${timeout} ms${reason}`));
          }, timeout);
        }),
      ]);
      this.started = true;
      this.health?.markUp();
    } finally {
      clearTimeout(timer);
      for (const connection of this.all) connection.off('error', onError);
    }
  }

  /**
   * Resolves once no command has been waiting for Redis for a few event-loop turns, or after
   * `timeout`: what a closing broker had under way (a message it acknowledged, then stores and
   * routes) reaches Redis before the connections close. At once when Redis is away.
   */
  async settle(timeout: number): Promise<void> {
    const deadline = Date.now() + timeout;
    for (let idleTurns = 0; idleTurns < 3 && this.available && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      idleTurns = this.pendingCommands() === 0 ? idleTurns + 1 : 0;
    }
  }

  /**
   * Lets the connections close without waiting for Redis: a `QUIT` queued while Redis is away would
   * otherwise wait for it, and so would the app's shutdown.
   */
  closeNow(): void {
    this.closing = true;
    for (const connection of this.all) {
      if (connection.status !== 'ready' && connection.status !== 'end') connection.disconnect();
    }
  }

  /** Closes every connection at once; for a start-up that failed. */
  disconnect(): void {
    this.closing = true;
    for (const connection of this.all) connection.disconnect();
  }

  private pendingCommands(): number {
    let pending = 0;
    for (const connection of [this.persistence, this.publisher]) {
      const { offlineQueue } = connection as unknown as { offlineQueue: { length: number } };
      pending += connection.commandQueue.length + offlineQueue.length;
    }
    return pending;
  }

  private get all(): Redis[] {
    return [this.persistence, this.publisher, this.subscriber];
  }

  private watch(connection: Redis): void {
    let lastError: Error | undefined;
    connection.on('error', (error: Error) => {
      lastError = error;
      if (this.down.size > 0) this.health?.noteError(error);
    });
    // Only a connection that will be re-established says 'reconnecting'; a closed one says 'end'.
    connection.on('reconnecting', () => {
      if (!this.started || this.closing || this.down.has(connection)) return;
      if (this.down.size === 0) {
        const reason = lastError ? ` (${lastError.message})` : '';
        this.logger.error(
          `Lost the connection to Redis${reason}. Local clients stay connected; messages to other instances, ` +
            'persistent sessions, retained messages and QoS 1/2 acknowledgements wait until Redis is back.',
        );
        this.health?.markDown(lastError);
      }
      this.down.add(connection);
    });
    connection.on('ready', () => {
      lastError = undefined;
      if (this.down.delete(connection) && this.down.size === 0) {
        this.logger.log('Redis is back; the cluster resumes.');
        this.health?.markUp();
      }
    });
  }
}

/** The ioredis that aedes-persistence-redis itself uses: the app installs it with that package, not on its own. */
export function loadRedisClient(): RedisClass {
  const persistencePath = createRequire(import.meta.url).resolve('aedes-persistence-redis');
  return createRequire(persistencePath)('ioredis') as RedisClass;
}

function waitUntilReady(connection: Redis): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => connection.once('ready', () => resolve()));
}

/** The Redis URL with its password masked, for logs and errors. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an invalid URL)';
  }
}
