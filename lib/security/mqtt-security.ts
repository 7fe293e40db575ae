import type { MqttHookStage } from '../broker/hook-chain.js';
import type { MqttBroker } from '../broker/mqtt-broker.js';
import type { ResolvedMqttWsOptions } from '../mqtt-ws-options.validator.js';
import type { MqttAuthPolicyHost } from './mqtt-auth-policy.host.js';
import { authPolicyStage } from './mqtt-auth-policy.stage.js';
import { brokerLimitsStage } from './mqtt-limits.stage.js';
import { limitOfflineQueues } from './offline-queue.limit.js';
import { OfflineSessions } from './offline-sessions.js';
import { DEFAULT_MAX_CLIENT_ID_LENGTH } from './mqtt-security-options.validator.js';

/** The security options as hook stages, and what must be attached once the broker exists. */
export interface MqttSecurity {
  stages: MqttHookStage[];
  attach(broker: MqttBroker): void;
}

/**
 * The limits and the auth policy as stages of the hook chain (lib/broker/hook-chain.ts orders
 * them: limits before the policy, so a refused oversized topic never reaches it), and the offline
 * queue bound. The limits on bytes are options of the broker adapter.
 */
export function createMqttSecurity(options: ResolvedMqttWsOptions, auth?: MqttAuthPolicyHost): MqttSecurity {
  const stages: MqttHookStage[] = [
    brokerLimitsStage({
      maxTopicLength: options.maxTopicLength,
      maxClientIdLength: options.maxClientsIdLength ?? DEFAULT_MAX_CLIENT_ID_LENGTH,
    }),
  ];
  if (auth?.enabled) stages.push(authPolicyStage(auth));
  const sessions = options.maxQueuedMessages > 0 ? new OfflineSessions() : undefined;
  if (sessions) stages.push(sessions.stage);
  return {
    stages,
    attach(broker) {
      if (options.maxQueuedMessages > 0) limitOfflineQueues(broker, sessions!, options.maxQueuedMessages);
    },
  };
}
