import { Aedes, type AedesOptions } from 'aedes';
import { AEDES_COUNT_OPTIONS } from '../mqtt-ws.constants.js';
import type { MqttBackendProvider } from '../interfaces/mqtt-ws-options.interface.js';
import type { ResolvedMqttWsOptions } from '../mqtt-ws-options.validator.js';
import type { MqttMessageDispatcher } from '../dispatch/mqtt-message.dispatcher.js';
import { applyMqttProtocolConformance } from '../protocol/index.js';
import { createRedisBackends, type MqttRedisHealth } from '../cluster/index.js';
import type { MqttAuthPolicyHost } from '../security/mqtt-auth-policy.host.js';
import { applyMqttSecurity } from '../security/mqtt-security.js';
import { installQos2ReleaseFix } from './aedes/qos2-release.js';

const BROKER_OPTIONS = ['id', ...AEDES_COUNT_OPTIONS, 'maxTopicLevels', 'maxInflightInbound'] as const;

/** Builds the Aedes broker of one module instance: its backends and its hooks. */
export async function createMqttBroker(
  options: ResolvedMqttWsOptions,
  messages: MqttMessageDispatcher,
  auth?: MqttAuthPolicyHost,
  redisHealth?: MqttRedisHealth,
): Promise<Aedes> {
  const brokerOptions: AedesOptions = { published: messages.published };
  for (const key of BROKER_OPTIONS) {
    if (options[key] !== undefined) (brokerOptions as Record<string, unknown>)[key] = options[key];
  }
  // A Redis cluster's backends, or the ones given (validation allows one or the other).
  const redis = options.redis ? await createRedisBackends(options.redis, options.concurrency, redisHealth) : undefined;
  brokerOptions.persistence = redis?.persistence ?? (await resolveBackend(options.persistence));
  brokerOptions.mq = redis?.mq ?? (await resolveBackend(options.mq));
  const broker = await Aedes.createBroker(brokerOptions);
  installQos2ReleaseFix(broker);
  // Aedes' timers must not keep a process alive whose app failed to start and never closed it.
  const timers = broker as unknown as Record<'_heartbeatInterval' | '_clearWillInterval', NodeJS.Timeout | undefined>;
  timers._heartbeatInterval?.unref();
  timers._clearWillInterval?.unref();
  redis?.watch(broker);
  // First: handlers of a client's QoS 1 message run only once the message is authorized.
  applyMqttSecurity(broker, options, auth);
  broker.authorizePublish = messages.handleBeforeAcknowledging(broker.authorizePublish);
  // Wraps the hooks set so far, calling each; see docs/protocol-conformance.md.
  applyMqttProtocolConformance(broker);
  return broker;
}

async function resolveBackend<T>(provider: MqttBackendProvider<T> | undefined): Promise<T | undefined> {
  return typeof provider === 'function' ? await (provider as () => T | Promise<T>)() : provider;
}
