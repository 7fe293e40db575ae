import type { MqttHookStage } from '../broker/hook-chain.js';
import type { MqttStatistics } from '../metrics/mqtt-statistics.js';
import type { ResolvedMqttWsOptions } from '../mqtt-ws-options.validator.js';
import type { MqttAuthPolicyHost } from '../security/mqtt-auth-policy.host.js';
import { sysTopicsStage } from './sys-topics.stage.js';

/** The statistics stage of `metrics` and `sysInterval` (none when both are off), and the `$SYS` read rule, always (SUBSCRIBE only). */
export function operationsStages(options: ResolvedMqttWsOptions, statistics: MqttStatistics | null | undefined, auth: MqttAuthPolicyHost | undefined): MqttHookStage[] {
  const stages: MqttHookStage[] = [];
  if (statistics) stages.push(statistics.stage);
  stages.push(sysTopicsStage(auth));
  return stages;
}
