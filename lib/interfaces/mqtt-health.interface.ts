/**
 * This instance's link to Redis (option `redis`): `'up'` when its connections are ready, `'down'`
 * while one of them is lost, `'disabled'` when the module manages no Redis (no `redis` option; an app
 * that passes its own `persistence` and `mq` watches them itself).
 */
export type MqttRedisStatus = 'up' | 'down' | 'disabled';

/** What `MqttService.health()` returns: a snapshot for the app's own health endpoint. */
export interface MqttHealth {
  redis: MqttRedisStatus;
  /** When `redis` took its current value (for `'disabled'`, when the module started). */
  since: Date;
  /**
   * While `'down'`: the last connection error reported, such as `connect ECONNREFUSED 127.0.0.1:6379`.
   * A Redis that was killed may say nothing until the first reconnection attempt fails.
   */
  lastError?: string;
}

/** The argument of `@OnMqttEvent('redis.down')` and `@OnMqttEvent('redis.up')`: the health at the change. */
export interface MqttRedisStatusEvent extends MqttHealth {
  redis: 'up' | 'down';
}
