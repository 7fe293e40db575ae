import { Logger } from '@nestjs/common';
import type { MqttBroker } from '../broker/mqtt-broker.js';
import type { MqttMessageBus } from '../broker/mqtt-message-bus.js';
import type { MqttRedisOptions } from './mqtt-redis-options.interface.js';
import { importOptionalPackages } from './optional-packages.loader.js';
import { describeRedisUrl, loadRedisClient, RedisConnections } from './redis-connections.js';
import type { MqttRedisHealth } from './redis-health.js';
import { BUS_CHANNEL, RedisMessageBus } from './redis-message-bus.js';

/**
 * The version Aedes is built for (its own peer dependency on aedes-persistence-redis says ^11.2.1).
 * Messages between instances go through the library's own bus (redis-message-bus.ts) on the
 * ioredis that comes with it.
 */
export const REDIS_PACKAGES = [{ name: 'aedes-persistence-redis', range: '^11.2.1' }] as const;

export const DEFAULT_REDIS_CONNECT_TIMEOUT = 10_000;
/** Handed to the broker as it is (lib/broker/aedes/ is what knows its interface). */
type Persistence = object;
type PersistenceFactory = (options: { conn: unknown }) => Persistence;

/** The persistence and message bus of one broker of a Redis cluster, on connections this module watches. */
export interface RedisBackends {
  persistence: Persistence;
  /** The broker builds its emitter on it (lib/broker/aedes/cluster-emitter.ts). */
  bus: MqttMessageBus;
  connections: RedisConnections;
  /** Logs the broker's own reports of Redis failures, which would otherwise end the process. */
  watch(broker: MqttBroker): void;
}

/**
 * Builds aedes-persistence-redis and the message bus on one Redis, once it answers: start-up fails
 * (after `connectTimeout`) when Redis cannot be reached, rather than serving a broker that is not one.
 */
export async function createRedisBackends(options: MqttRedisOptions, health?: MqttRedisHealth): Promise<RedisBackends> {
  const logger = new Logger('MqttWsModule');
  const [createPersistence] = (await importOptionalPackages('option "redis"', REDIS_PACKAGES)) as [PersistenceFactory];
  const target = describeRedisUrl(options.url);
  const connections = new RedisConnections(loadRedisClient(), options.url, options.keyPrefix, logger, health);
  const bus = new RedisMessageBus(connections, `${options.keyPrefix ?? ''}${BUS_CHANNEL}`, logger);
  try {
    await connections.ready(target, options.connectTimeout ?? DEFAULT_REDIS_CONNECT_TIMEOUT);
    await bus.start();
  } catch (error) {
    connections.disconnect();
    throw error;
  }

  const persistence = createPersistence({ conn: connections.persistence });
  logger.log(`Clustering on Redis at ${target}${options.keyPrefix ? ` (key prefix "${options.keyPrefix}")` : ''}`);

  return {
    persistence,
    bus,
    connections,
    watch(broker) {
      broker.on('error', (error: Error) =>
        logger.error(`Broker error (Redis persistence): ${error?.message ?? error}`),
      );
    },
  };
}
