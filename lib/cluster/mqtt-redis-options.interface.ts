/**
 * The one-line cluster set-up: `MqttWsModule.forRoot({ redis: { url: 'redis://host:6379' } })`.
 * Every app instance given the same Redis (and key prefix) acts as one broker; see docs/cluster.md.
 */
export interface MqttRedisOptions {
  /** `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url: string;
  /**
   * Prefix of every Redis key and pub/sub channel the broker uses, so that several clusters, or the
   * app's own data, can share one Redis. Instances of one cluster must use the same prefix. Default: none,
   * the key layout of a plain Aedes broker on aedes-persistence-redis.
   */
  keyPrefix?: string;
  /**
   * How long start-up waits for Redis before it fails, ms. Default 10000. Once started, an instance
   * waits for Redis as long as it takes.
   */
  connectTimeout?: number;
}
