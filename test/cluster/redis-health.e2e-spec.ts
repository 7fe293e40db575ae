/**
 * `MqttService.health()` and the `redis.down` / `redis.up` events of an instance (its own process)
 * whose private redis-server is stopped and started again. See docs/cluster.md, "Health".
 */
import { jest } from '@jest/globals';
import { ClusterClient } from './utils/cluster-client.js';
import { InstanceProcess, killAllInstances, pollUntil } from './utils/instance-process.js';
import { describeWithRedis, RedisServer } from './utils/redis-server.js';

jest.setTimeout(60_000);

describeWithRedis('Redis health of an instance', () => {
  let redis: RedisServer;
  let instance: InstanceProcess;
  let client: ClusterClient | undefined;

  beforeAll(async () => {
    redis = await RedisServer.start();
    instance = await InstanceProcess.start('H', redis.url, 'health:');
  }, 60_000);

  afterAll(async () => {
    await client?.drop();
    await killAllInstances();
    await redis?.stop();
  });

  it('reports Redis up, down while it is stopped (with the reason), and up again, with one event per change', async () => {
    expect(await instance.health()).toEqual({ redis: 'up', since: expect.any(String) });
    client = await ClusterClient.connect(instance.url, { clientId: 'health-client' });

    const stoppedAt = Date.now();
    await redis.stopProcess();
    await instance.waitForEvent('redis.down');
    const down = await instance.health();
    expect(down.redis).toBe('down');
    expect(Date.parse(down.since)).toBeGreaterThanOrEqual(stoppedAt);
    // The reason: a connection reset by the dying Redis (when a read was pending), or the first failed reconnection.
    await pollUntil(async () => (await instance.health()).lastError !== undefined, 10_000, 'the reason of the outage');
    expect((await instance.health()).lastError).toMatch(/ECONNREFUSED|ECONNRESET/);
    expect(instance.alive).toBe(true);
    expect(client.client.connected).toBe(true);

    const restartedAt = Date.now();
    await redis.startProcess();
    await instance.waitForEvent('redis.up');
    const up = await instance.health();
    expect(up).toEqual({ redis: 'up', since: expect.any(String) });
    expect(Date.parse(up.since)).toBeGreaterThanOrEqual(restartedAt);

    // One event per change, not one per connection (there are three) or per reconnection attempt.
    expect(instance.events.map(({ event }) => event)).toEqual(['redis.down', 'redis.up']);
    expect(instance.events[0].health).toMatchObject({ redis: 'down', since: down.since });
    expect(instance.events[1].health).toEqual(up);
    expect(instance.logs.filter((line) => line.includes('Lost the connection to Redis'))).toHaveLength(1);
    expect(client.client.connected).toBe(true);
  });
});
