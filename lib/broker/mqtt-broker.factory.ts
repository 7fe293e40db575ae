import type { MqttBackendProvider } from '../interfaces/mqtt-ws-options.interface.js';
import { AEDES_COUNT_OPTIONS } from '../mqtt-ws.constants.js';
import type { ResolvedMqttWsOptions } from '../mqtt-ws-options.validator.js';
import type { MqttMessageDispatcher } from '../dispatch/mqtt-message.dispatcher.js';
import { createRedisBackends, type MqttRedisHealth } from '../cluster/index.js';
import type { MqttAuthPolicyHost } from '../security/mqtt-auth-policy.host.js';
import { createMqttSecurity } from '../security/mqtt-security.js';
import { AedesMqttBroker, prepareAedesAdapter } from './aedes/aedes-mqtt-broker.js';
import { ClusterEmitter } from './aedes/cluster-emitter.js';
import type { MqttBroker } from './mqtt-broker.js';
import { operationsStages } from '../sys/operations.stages.js';
import type { MqttStatistics } from '../metrics/mqtt-statistics.js';

const BROKER_OPTIONS = ['id', ...AEDES_COUNT_OPTIONS, 'maxTopicLevels', 'maxInflightInbound'] as const;

/**
 * Builds the broker of one module instance: the adapter's contract check first (before any
 * backend connects or anything listens), then the backends, then the broker with its hook chain.
 */
export async function createMqttBroker(
  options: ResolvedMqttWsOptions,
  messages: MqttMessageDispatcher,
  auth?: MqttAuthPolicyHost,
  redisHealth?: MqttRedisHealth,
  statistics?: MqttStatistics | null,
): Promise<MqttBroker> {
  await prepareAedesAdapter();
  const brokerOptions: Record<string, unknown> = {};
  for (const key of BROKER_OPTIONS) {
    if (options[key] !== undefined) brokerOptions[key] = options[key];
  }
  // A Redis cluster's backends, or the ones given (validation allows one or the other).
  const redis = options.redis ? await createRedisBackends(options.redis, redisHealth) : undefined;
  brokerOptions.persistence = redis?.persistence ?? (await resolveBackend(options.persistence));
  brokerOptions.mq = redis ? new ClusterEmitter(redis.bus, options.concurrency) : await resolveBackend(options.mq);
  const security = createMqttSecurity(options, auth);
  const broker = await AedesMqttBroker.create({
    brokerOptions,
    maxPacketSize: options.maxPacketSize,
    maxBufferedBytes: options.maxBufferedBytes,
    acknowledgeAfterRouting: options.acknowledgeAfterRouting,
    trustedProxies: options.trustedProxies,
    // In any order: lib/broker/hook-chain.ts puts them in the written one.
    stages: [...security.stages, messages.stage, ...operationsStages(options, statistics, auth)],
  });
  redis?.watch(broker);
  security.attach(broker);
  statistics?.attach(broker);
  return broker;
}

async function resolveBackend<T>(provider: MqttBackendProvider<T> | undefined): Promise<T | undefined> {
  return typeof provider === 'function' ? await (provider as () => T | Promise<T>)() : provider;
}
