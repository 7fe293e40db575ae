export type { MqttRedisOptions } from './mqtt-redis-options.interface.js';
export { createRedisBackends, REDIS_PACKAGES, type RedisBackends } from './redis-backends.factory.js';
export { validateRedisOption } from './redis-option.validator.js';
export { MqttRedisHealth } from './redis-health.js';
