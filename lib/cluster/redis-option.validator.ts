import type { MqttWsModuleOptions } from '../interfaces/mqtt-ws-options.interface.js';

type Fail = (option: string, expected: string, value: unknown) => never;

/** Checks the `redis` option, and that it is not combined with the backends it builds. */
export function validateRedisOption(options: MqttWsModuleOptions, fail: Fail): void {
  const redis = options.redis;
  if (redis === undefined) return;
  if (redis === null || typeof redis !== 'object') fail('redis', "an object such as { url: 'redis://host:6379' }", redis);
  if (typeof redis.url !== 'string' || !/^rediss?:\/\/[^/]/.test(redis.url) || !URL.canParse(redis.url)) {
    // The value may hold a password: it is not repeated in the error.
    fail('redis.url', "a URL such as 'redis://host:6379' or 'rediss://user:password@host:6380/0'", typeof redis.url);
  }
  if (redis.keyPrefix !== undefined && typeof redis.keyPrefix !== 'string') fail('redis.keyPrefix', 'a string', redis.keyPrefix);
  const timeout = redis.connectTimeout;
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) {
    fail('redis.connectTimeout', 'a positive integer (ms)', timeout);
  }
  for (const backend of ['persistence', 'mq'] as const) {
    if (options[backend] !== undefined && options[backend] !== null) {
      // Half a Redis cluster (shared sessions, local routing, or the reverse) is never what one wants by accident.
      fail(backend, 'left out when "redis" is set (redis builds both persistence and mq)', typeof options[backend]);
    }
  }
}
