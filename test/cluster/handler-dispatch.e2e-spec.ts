/**
 * Handler semantics across three instances on one Redis: a handler of the default scope runs once
 * per message in the whole cluster, one of scope 'instance' once per message on every instance.
 * The handlers are in test/cluster/fixtures/cluster-instance.ts; each instance counts its runs by topic.
 */
import { jest } from '@jest/globals';
import { ClusterClient } from './utils/cluster-client.js';
import { InstanceProcess, killAllInstances, pollUntil, type HandlerCounts } from './utils/instance-process.js';
import { describeWithRedis, RedisServer } from './utils/redis-server.js';

jest.setTimeout(60_000);

/** Messages per publishing path: a client on each instance, and MqttService.publish on each instance. */
const PER_CLIENT = 30;
const PER_SERVICE = 4;

describeWithRedis('Cluster on Redis: handler dispatch across three instances', () => {
  let redis: RedisServer;
  let instances: InstanceProcess[];
  let clients: ClusterClient[];

  beforeAll(async () => {
    redis = await RedisServer.start();
    instances = await Promise.all(['A', 'B', 'C'].map((name) => InstanceProcess.start(name, redis.url, 'dispatch:')));
    clients = await Promise.all(instances.map((instance) => ClusterClient.connect(instance.url)));
  }, 60_000);

  afterAll(async () => {
    await Promise.all((clients ?? []).map((client) => client.drop()));
    await killAllInstances();
    await redis?.stop();
  });

  /** Publishes from every client (QoS 0, 1 and 2 in turn) and every instance's MqttService; returns the topics. */
  async function publishStream(scope: 'cluster' | 'instance'): Promise<string[]> {
    const topics: string[] = [];
    const sends: Promise<unknown>[] = [];
    clients.forEach((client, c) => {
      for (let n = 0; n < PER_CLIENT; n++) {
        const topic = `count/${scope}/client${c}-${n}`;
        topics.push(topic);
        sends.push(client.publish(topic, String(n), (n % 3) as 0 | 1 | 2));
      }
    });
    instances.forEach((instance, i) => {
      for (let n = 0; n < PER_SERVICE; n++) {
        const topic = `count/${scope}/service${i}-${n}`;
        topics.push(topic);
        sends.push(instance.publish(topic, String(n), (n % 3) as 0 | 1 | 2));
      }
    });
    await Promise.all(sends);
    return topics;
  }

  const allCounts = (): Promise<HandlerCounts[]> => Promise.all(instances.map((instance) => instance.counts()));

  /** Handler runs of one scope for `topics`, summed over the instances, by topic. */
  function totals(counts: HandlerCounts[], scope: 'cluster' | 'instance', topics: string[]): Record<string, number> {
    return Object.fromEntries(topics.map((topic) => [topic, counts.reduce((sum, byScope) => sum + (byScope[scope][topic] ?? 0), 0)]));
  }

  it('runs a default handler exactly once per message in the cluster', async () => {
    const topics = await publishStream('cluster');
    const expectedTotal = 3 * PER_CLIENT + 3 * PER_SERVICE;
    expect(topics).toHaveLength(expectedTotal);

    // QoS 0 messages of a client are handled without an acknowledgement to wait for: poll for the total.
    await pollUntil(
      async () => Object.values(totals(await allCounts(), 'cluster', topics)).reduce((a, b) => a + b, 0) >= expectedTotal,
      15_000,
      `${expectedTotal} handler runs`,
    );
    // A fence through every instance's emitter: anything still on its way has arrived when it is handled.
    await fence('cluster');
    const counts = await allCounts();
    expect(totals(counts, 'cluster', topics)).toEqual(Object.fromEntries(topics.map((topic) => [topic, 1])));
    // Each ran where it entered the broker: the instance of the publishing client or of the MqttService.
    topics.forEach((topic) => {
      const origin = Number(/(?:client|service)(\d)-/.exec(topic)![1]);
      expect(counts[origin].cluster[topic]).toBe(1);
    });
  });

  it("runs a handler of scope 'instance' once per message on every instance", async () => {
    const topics = await publishStream('instance');
    const perInstance = Object.fromEntries(topics.map((topic) => [topic, 1]));
    await pollUntil(
      async () => (await allCounts()).every((byScope) => topics.every((topic) => byScope.instance[topic] === 1)),
      15_000,
      'every instance to handle every message',
    );
    await fence('instance');
    const counts = await allCounts();
    for (const byScope of counts) {
      const own = Object.fromEntries(topics.map((topic) => [topic, byScope.instance[topic]]));
      expect(own).toEqual(perInstance);
    }
    expect(Object.values(totals(counts, 'instance', topics)).reduce((a, b) => a + b, 0)).toBe(3 * topics.length);
  });

  /**
   * Publishes a last message from each client and waits until each instance handled all of them
   * (scope 'instance' sees every message everywhere): Redis delivers one connection's messages in order.
   */
  async function fence(scope: string): Promise<void> {
    const fences = clients.map((_, c) => `count/instance/fence/${scope}-${c}`);
    await Promise.all(clients.map((client, c) => client.publish(fences[c], 'fence', 1)));
    await pollUntil(
      async () => (await allCounts()).every((byScope) => fences.every((topic) => byScope.instance[topic] === 1)),
      15_000,
      'the fence messages',
    );
  }
});
