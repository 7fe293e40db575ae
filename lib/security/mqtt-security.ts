import type { Aedes } from 'aedes';
import type { ResolvedMqttWsOptions } from '../mqtt-ws-options.validator.js';
import { installMqttAuthHooks } from './mqtt-auth.hooks.js';
import type { MqttAuthPolicyHost } from './mqtt-auth-policy.host.js';
import { installMqttBrokerLimits } from './mqtt-broker.limits.js';
import { limitOfflineQueues } from './offline-queue.limit.js';
import { DEFAULT_MAX_CLIENT_ID_LENGTH } from './mqtt-security-options.validator.js';

/**
 * Installs the auth policy and the limits on a new broker's hooks and persistence. The limits wrap
 * the policy, so a refused oversized topic never reaches it. Compose with other hook wiring: call
 * it before the hooks that must run after authorization (handlers of a QoS 1 message) wrap
 * `authorizePublish`.
 */
export function applyMqttSecurity(broker: Aedes, options: ResolvedMqttWsOptions, auth?: MqttAuthPolicyHost): void {
  if (auth?.enabled) installMqttAuthHooks(broker, auth);
  installMqttBrokerLimits(broker, {
    maxPacketSize: options.maxPacketSize,
    maxTopicLength: options.maxTopicLength,
    maxClientIdLength: options.maxClientsIdLength ?? DEFAULT_MAX_CLIENT_ID_LENGTH,
    maxBufferedBytes: options.maxBufferedBytes,
    trustedProxies: options.trustedProxies,
  });
  if (options.maxQueuedMessages > 0) limitOfflineQueues(broker, options.maxQueuedMessages);
}
