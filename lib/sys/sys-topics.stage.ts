import { defineHookStage, type MqttHookStage } from '../broker/hook-chain.js';
import type { MqttAuthPolicyHost } from '../security/mqtt-auth-policy.host.js';

/**
 * Whether a filter can match a topic under `$SYS/broker/`: its first level is `$SYS` (a filter
 * starting with a wildcard never matches a `$` topic, [MQTT-4.7.2-1]) and its second is `broker`,
 * `+` or `#`.
 */
export function readsSysBroker(filter: string): boolean {
  if (!filter.startsWith('$SYS')) return false;
  if (filter === '$SYS' || filter === '$SYS/#') return true;
  if (filter.charCodeAt(4) !== 47) return false;
  const end = filter.indexOf('/', 5);
  const second = end < 0 ? filter.slice(5) : filter.slice(5, end);
  return second === 'broker' || second === '+' || second === '#';
}

/**
 * The `sys-topics` stage, with `sysInterval` on: the statistics under `$SYS/broker/` are for the
 * clients the auth policy lets read them explicitly. A filter that can match them is refused
 * (SUBACK 0x80) unless the app's policy has an `authorizeSubscribe`, which ran before this stage
 * and allowed it; without a policy, or with one that leaves subscriptions to the default, nobody
 * reads them.
 */
export function sysTopicsStage(auth: MqttAuthPolicyHost | undefined): MqttHookStage {
  return defineHookStage({
    name: 'sys-topics',
    authorizeSubscribe(client, subscription, callback, next) {
      if (readsSysBroker(subscription.topic) && auth?.policy?.authorizeSubscribe === undefined) return callback(null, null);
      next(client, subscription, callback);
    },
  });
}
