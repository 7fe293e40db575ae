import { Logger } from '@nestjs/common';
import type { MqttBroker } from '../broker/mqtt-broker.js';
import type { MqttRedisOptions } from './mqtt-redis-options.interface.js';
import { importOptionalPackages } from './optional-packages.loader.js';
import { describeRedisUrl, loadRedisClient, RedisConnections } from './redis-connections.js';
import type { MqttRedisHealth } from './redis-health.js';

/** The versions Aedes 1.2 is built for (its own peer dependency on aedes-persistence-redis says ^11.2.1). */
export const REDIS_PACKAGES = [
  { name: 'aedes-persistence-redis', range: '^11.2.1' },
  { name: 'mqemitter-redis', range: '^7.2.0' },
] as const;

export const DEFAULT_REDIS_CONNECT_TIMEOUT = 10_000;
/** Longest wait, on close, for the commands a closing broker left under way. */
const SETTLE_TIMEOUT = 2_000;

/** Handed to the broker as they are (lib/broker/aedes/ is what knows their interfaces). */
type Persistence = object;
type Emitter = { close(callback?: () => void): unknown };

interface MqEmitterRedisOptions {
  pubConn: unknown;
  subConn: unknown;
  concurrency?: number;
  matchEmptyLevels: boolean;
}
interface MqEmitterRedisModule {
  (options: MqEmitterRedisOptions): Emitter;
  MQEmitterRedisPrefix: new (prefix: string, options: MqEmitterRedisOptions) => Emitter;
}
type PersistenceFactory = (options: { conn: unknown }) => Persistence;

/** The persistence and emitter of one broker of a Redis cluster, on connections this module watches. */
export interface RedisBackends {
  persistence: Persistence;
  mq: Emitter;
  connections: RedisConnections;
  /** Logs the broker's own reports of Redis failures, which would otherwise end the process. */
  watch(broker: MqttBroker): void;
}

/**
 * Builds aedes-persistence-redis and mqemitter-redis on one Redis, once it answers: start-up fails
 * (after `connectTimeout`) when Redis cannot be reached, rather than serving a broker that is not one.
 */
export async function createRedisBackends(
  options: MqttRedisOptions,
  concurrency?: number,
  health?: MqttRedisHealth,
): Promise<RedisBackends> {
  const logger = new Logger('MqttWsModule');
  const [createPersistence, mqemitterRedis] = (await importOptionalPackages('option "redis"', REDIS_PACKAGES)) as [
    PersistenceFactory,
    MqEmitterRedisModule,
  ];
  const target = describeRedisUrl(options.url);
  const connections = new RedisConnections(loadRedisClient(), options.url, options.keyPrefix, logger, health);
  try {
    await connections.ready(target, options.connectTimeout ?? DEFAULT_REDIS_CONNECT_TIMEOUT);
  } catch (error) {
    connections.disconnect();
    throw error;
  }

  const persistence = createPersistence({ conn: connections.persistence });
  // matchEmptyLevels as Aedes' own emitter: 'a/#' also matches 'a' [MQTT-4.7.1-2].
  const emitterOptions = { pubConn: connections.publisher, subConn: connections.subscriber, concurrency, matchEmptyLevels: true };
  const mq = options.keyPrefix
    ? new mqemitterRedis.MQEmitterRedisPrefix(options.keyPrefix, emitterOptions)
    : mqemitterRedis(emitterOptions);
  // mqemitter-redis re-emits its connections' errors here; RedisConnections has logged them already.
  (mq as unknown as { state: { on(event: 'error', listener: () => void): void } }).state.on('error', () => {});
  // Aedes closes the emitter last, once its clients are closed; what they left under way goes first.
  const close = mq.close.bind(mq);
  mq.close = (callback?: () => void) => {
    void connections.settle(SETTLE_TIMEOUT).then(() => {
      close(callback);
      connections.closeNow();
    });
    return mq;
  };
  logger.log(`Clustering on Redis at ${target}${options.keyPrefix ? ` (key prefix "${options.keyPrefix}")` : ''}`);

  return {
    persistence,
    mq,
    connections,
    watch(broker) {
      broker.on('error', (error: Error) =>
        logger.error(`Broker error (Redis persistence): ${error?.message ?? error}`),
      );
    },
  };
}
