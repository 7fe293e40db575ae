import { defineHookStage, type MqttHookStage } from '../broker/hook-chain.js';
import type { MqttAuthPolicyHost } from '../security/mqtt-auth-policy.host.js';

const SLASH = 47;

/**
 * Whether a filter can match a `$SYS` topic: its first level is `$SYS` (a filter starting with a
 * wildcard never matches a `$` topic, [MQTT-4.7.2-1]). Under `$SYS/` are this module's statistics
 * (`$SYS/broker/`, with `sysInterval`) and the broker's own reports (`$SYS/<broker id>/…`: the
 * heartbeat, and the ids of clients connecting anywhere in a cluster).
 */
export function readsSys(filter: string): boolean {
  return filter.startsWith('$SYS') && (filter.length === 4 || filter.charCodeAt(4) === SLASH);
}

/**
 * The `sys-topics` stage: what is under `$SYS/` is for the clients the auth policy lets read it
 * explicitly. A filter that can match it is refused (SUBACK 0x80) unless the app's policy has an
 * `authorizeSubscribe`, which ran before this stage and allowed it; without a policy, or with one
 * that leaves subscriptions to the default, nobody reads it: the broker's reports carry client ids,
 * which would let anyone on a public port learn, and take over, other clients' sessions.
 */
export function sysTopicsStage(auth: MqttAuthPolicyHost | undefined): MqttHookStage {
  return defineHookStage({
    name: 'sys-topics',
    authorizeSubscribe(client, subscription, callback, next) {
      if (readsSys(subscription.topic) && auth?.policy?.authorizeSubscribe === undefined) return callback(null, null);
      next(client, subscription, callback);
    },
  });
}
