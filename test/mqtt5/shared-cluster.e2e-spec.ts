/**
 * MQTT 5 shared subscriptions across a cluster on one private Redis (issue 13): each message of a
 * `$share/{group}/{filter}` goes to exactly one member of the group in the whole cluster, with members
 * on different instances and publishers on every instance; members that leave, persistent members
 * that are offline, and instances that stop or die. docs/mqtt5.md, "Shared subscriptions".
 *
 * Before publishing, a test waits until every instance sees the same members (`sharedMembers`,
 * bounded polling): the guarantee is for a cluster whose instances agree; the moment of change is
 * described in the docs.
 */
import { jest } from '@jest/globals';
import mqtt from 'mqtt';
import { InstanceProcess, killAllInstances, pollUntil } from '../cluster/utils/instance-process.js';
import { describeWithRedis, RedisServer } from '../cluster/utils/redis-server.js';
import { TestClient } from '../utils/mqtt-client.js';
import { runPaho } from '../utils/paho.js';

jest.setTimeout(90_000);

const V5 = { protocolVersion: 5 } as const;
const SESSION = { clean: false, properties: { sessionExpiryInterval: 300 } } as const;
/** Short, so that a killed instance is noticed within a few seconds. */
const HEARTBEAT = { HEARTBEAT_INTERVAL: '500' };

type Members = Record<string, { online: string[]; offline: string[] }>;

describeWithRedis('MQTT 5.0 shared subscriptions across instances on Redis', () => {
  let redis: RedisServer;
  let a: InstanceProcess;
  let b: InstanceProcess;
  let c: InstanceProcess;
  const clients: TestClient[] = [];
  const connect = async (instance: InstanceProcess, clientId: string, options: mqtt.IClientOptions = {}) => {
    const client = await TestClient.connect(instance.url, { ...V5, clientId, ...options });
    clients.push(client);
    return client;
  };

  /** Waits until each instance sees exactly these members in these groups (group key → online, offline). */
  const converged = async (instances: InstanceProcess[], expected: Members) => {
    // Only the groups of the test: the others' are not its concern.
    const normalized = (members: Members) => JSON.stringify(Object.keys(expected).sort().map((key) => [key, members[key] ?? null]));
    const want = normalized(expected);
    let seen: Members[] = [];
    await pollUntil(
      async () => (seen = await Promise.all(instances.map((instance) => instance.sharedMembers()))).every((members) => normalized(members) === want),
      15_000,
      `every instance to see ${want}`,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; they see ${seen.map((members) => normalized(members)).join(', ')}`);
    });
  };

  /** The payloads a group's members received on `topic`, all together. */
  const payloads = (members: TestClient[], topic: string) => members.flatMap((member) => member.received(topic).map((message) => message.payload.toString()));

  const waitForTotal = async (members: TestClient[], topic: string, total: number) => {
    await pollUntil(() => payloads(members, topic).length >= total, 15_000, `${total} messages on ${topic}`);
  };

  /**
   * A marker from every instance to every member, on a plain subscription: it comes after anything
   * the same instance published before it, so a duplicate would have arrived by then.
   */
  const barrier = async (members: TestClient[], instances: InstanceProcess[], name: string) => {
    for (const member of members) await member.subscribe(`barrier/${name}`, 1);
    for (const instance of instances) await instance.publish(`barrier/${name}`, instance.name, 1);
    await Promise.all(members.map((member) => member.waitFor(instances.length, `barrier/${name}`)));
  };

  const range = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

  beforeAll(async () => {
    redis = await RedisServer.start();
    [a, b, c] = await Promise.all(['A', 'B', 'C'].map((name) => InstanceProcess.start(name, redis.url, 'share:', HEARTBEAT)));
  }, 60_000);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end(true)));
  });

  afterAll(async () => {
    await killAllInstances();
    await redis?.stop();
  });

  it('says Shared Subscription Available 1 on Redis and grants $share/ subscriptions', async () => {
    const client = mqtt.connect(a.url, { ...V5, reconnectPeriod: 0, clientId: 'avail' });
    const connack = await new Promise<mqtt.IConnackPacket>((resolve) => client.once('connect', resolve));
    const granted = await client.subscribeAsync('$share/g/avail/t', { qos: 1 });
    await client.endAsync();
    expect(connack.properties?.sharedSubscriptionAvailable).not.toBe(false);
    expect(granted.map((grant) => grant.qos)).toEqual([1]);
  });

  it('delivers each message once per group across three instances: two groups on one filter, members on different instances, publishers on every instance', async () => {
    const g = [await connect(a, 'g-a'), await connect(b, 'g-b'), await connect(c, 'g-c')];
    const h = [await connect(b, 'h-b'), await connect(c, 'h-c')];
    for (const member of g) await member.subscribe('$share/g/spread/+', 1);
    for (const member of h) await member.subscribe('$share/h/spread/+', 1);
    await converged([a, b, c], { 'g/spread/+': { online: ['g-a', 'g-b', 'g-c'], offline: [] }, 'h/spread/+': { online: ['h-b', 'h-c'], offline: [] } });
    const publishers = [await connect(a, 'spread-pub-a'), await connect(b, 'spread-pub-b'), await connect(c, 'spread-pub-c')];
    const count = 30;
    for (let i = 0; i < count; i++) await publishers[i % 3].publish('spread/t', `m${i}`, { qos: 1 });
    await waitForTotal(g, 'spread/t', count);
    await waitForTotal(h, 'spread/t', count);
    await barrier([...g, ...h], [a, b, c], 'spread');
    expect(payloads(g, 'spread/t').sort()).toEqual(range('m', count).sort());
    expect(payloads(h, 'spread/t').sort()).toEqual(range('m', count).sort());
    for (const member of [...g, ...h]) expect(member.received('spread/t').length).toBeGreaterThan(0);
  });

  it('delivers QoS 0 and QoS 2 messages from the server (MqttService.publish) once per group too', async () => {
    const g = [await connect(a, 'q-a'), await connect(b, 'q-b')];
    for (const member of g) await member.subscribe('$share/q/qos/+', 2);
    await converged([a, b, c], { 'q/qos/+': { online: ['q-a', 'q-b'], offline: [] } });
    for (let i = 0; i < 6; i++) await c.publish('qos/zero', `z${i}`, 0);
    for (let i = 0; i < 6; i++) await a.publish('qos/two', `t${i}`, 2);
    await waitForTotal(g, 'qos/zero', 6);
    await waitForTotal(g, 'qos/two', 6);
    await barrier(g, [a, b, c], 'qos');
    expect(payloads(g, 'qos/zero').sort()).toEqual(range('z', 6));
    expect(payloads(g, 'qos/two').sort()).toEqual(range('t', 6));
  });

  it('sends everything to the members left once one unsubscribes or disconnects mid-stream', async () => {
    const g = [await connect(a, 'l-a'), await connect(b, 'l-b'), await connect(c, 'l-c')];
    for (const member of g) await member.subscribe('$share/l/leave/t', 1);
    await converged([a, b, c], { 'l/leave/t': { online: ['l-a', 'l-b', 'l-c'], offline: [] } });
    const publisher = await connect(b, 'leave-pub');
    for (let i = 0; i < 9; i++) await publisher.publish('leave/t', `first${i}`, { qos: 1 });
    await waitForTotal(g, 'leave/t', 9);
    await g[0].client.unsubscribeAsync('$share/l/leave/t');
    await g[1].end();
    await converged([a, b, c], { 'l/leave/t': { online: ['l-c'], offline: [] } });
    for (let i = 0; i < 5; i++) await publisher.publish('leave/t', `second${i}`, { qos: 1 });
    const second = () => g[2].received('leave/t').map((message) => message.payload.toString()).filter((payload) => payload.startsWith('second'));
    await pollUntil(() => second().length >= 5, 15_000, 'the second batch');
    await barrier([g[0], g[2]], [a, b, c], 'leave');
    expect(payloads(g, 'leave/t').sort()).toEqual([...range('first', 9), ...range('second', 5)].sort());
    expect(second()).toEqual(range('second', 5));
  });

  it('queues a message for one offline persistent member only, and the session resumed on another instance gets its share', async () => {
    const p1 = await connect(a, 'p-1', SESSION);
    const p2 = await connect(b, 'p-2', SESSION);
    await p1.subscribe('$share/p/offline/t', 1);
    await p2.subscribe('$share/p/offline/t', 1);
    await p1.end();
    await p2.end();
    await converged([a, b, c], { 'p/offline/t': { online: [], offline: ['p-1', 'p-2'] } });
    const publisher = await connect(c, 'offline-pub');
    const count = 10;
    for (let i = 0; i < count; i++) await publisher.publish('offline/t', `o${i}`, { qos: 1 });
    // Back on other instances, without subscribing again: the sessions keep their group.
    const back = [await connect(c, 'p-1', SESSION), await connect(a, 'p-2', SESSION)];
    await waitForTotal(back, 'offline/t', count);
    await converged([a, b, c], { 'p/offline/t': { online: ['p-1', 'p-2'], offline: [] } });
    for (let i = 0; i < 4; i++) await publisher.publish('offline/t', `n${i}`, { qos: 1 });
    await waitForTotal(back, 'offline/t', count + 4);
    await barrier(back, [a, b, c], 'offline');
    expect(payloads(back, 'offline/t').sort()).toEqual([...range('o', count), ...range('n', 4)].sort());
    expect(back[0].received('offline/t').length).toBeGreaterThan(0);
    expect(back[1].received('offline/t').length).toBeGreaterThan(0);
    await Promise.all(back.map((client) => client.client.unsubscribeAsync('$share/p/offline/t')));
  });

  it('takes a member over with its client id: the connection on another instance is the member, the old one gets nothing more', async () => {
    const first = await connect(a, 'to-member', SESSION);
    await first.subscribe('$share/to/takeover/t', 1);
    const other = await connect(c, 'to-other');
    await other.subscribe('$share/to/takeover/t', 1);
    await converged([a, b, c], { 'to/takeover/t': { online: ['to-member', 'to-other'], offline: [] } });
    const firstClosed = new Promise<void>((resolve) => first.client.once('close', () => resolve()));
    const second = await connect(b, 'to-member', SESSION);
    await firstClosed;
    await converged([a, b, c], { 'to/takeover/t': { online: ['to-member', 'to-other'], offline: [] } });
    for (let i = 0; i < 10; i++) await c.publish('takeover/t', `t${i}`, 1);
    await waitForTotal([second, other], 'takeover/t', 10);
    await barrier([second, other], [a, b, c], 'takeover');
    expect(payloads([second, other], 'takeover/t').sort()).toEqual(range('t', 10));
    expect(second.received('takeover/t').length).toBeGreaterThan(0);
    expect(first.received('takeover/t')).toHaveLength(0);
    await second.client.unsubscribeAsync('$share/to/takeover/t');
  });

  it('prefers an online member: an offline persistent member gets nothing queued while another is connected', async () => {
    const away = await connect(a, 'pref-away', SESSION);
    await away.subscribe('$share/pref/prefer/t', 1);
    await away.end();
    const online = await connect(b, 'pref-online');
    await online.subscribe('$share/pref/prefer/t', 1);
    await converged([a, b, c], { 'pref/prefer/t': { online: ['pref-online'], offline: ['pref-away'] } });
    for (let i = 0; i < 6; i++) await c.publish('prefer/t', `p${i}`, 1);
    await online.waitFor(6, 'prefer/t');
    const back = await connect(c, 'pref-away', SESSION);
    await barrier([back, online], [a, b, c], 'prefer');
    expect(back.received('prefer/t')).toHaveLength(0);
    expect(online.received('prefer/t').map((message) => message.payload.toString())).toEqual(range('p', 6));
    await back.client.unsubscribeAsync('$share/pref/prefer/t');
  });

  it('shares a group between a Paho Python member on A and an MQTT.js member on B', async () => {
    const paho = runPaho('shared', a.url);
    expect(await paho.waitForEvent('suback')).toMatchObject({ reasonCodes: [1, 1] });
    const member = await connect(b, 'paho-mqttjs');
    await member.subscribe('$share/paho/paho/shared', 1);
    await member.subscribe('paho/end', 1);
    await converged([a, b, c], { 'paho/paho/shared': { online: ['paho-mqttjs', 'paho-shared'], offline: [] } });
    for (let i = 0; i < 10; i++) await c.publish('paho/shared', `s${i}`, 1);
    // After the messages, from the same instance: they have arrived when it does.
    await c.publish('paho/end', 'end', 1);
    const { code, events, stderr } = await paho.finished;
    await member.waitFor(1, 'paho/end');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const atPaho = events.find((event) => event.event === 'done')!.payloads as string[];
    const atMqttJs = member.received('paho/shared').map((message) => message.payload.toString());
    expect([...atPaho, ...atMqttJs].sort()).toEqual(range('s', 10));
    expect(atPaho.length).toBeGreaterThan(0);
    expect(atMqttJs.length).toBeGreaterThan(0);
  });

  it('takes a stalled instance for gone, and has its members back once it speaks again', async () => {
    const stalled = await connect(a, 'stall-a');
    await stalled.subscribe('$share/stall/stall/t', 1);
    const other = await connect(b, 'stall-b');
    await other.subscribe('$share/stall/stall/t', 1);
    const both = { 'stall/stall/t': { online: ['stall-a', 'stall-b'], offline: [] } };
    await converged([a, b, c], both);
    a.suspend();
    try {
      await converged([b, c], { 'stall/stall/t': { online: ['stall-b'], offline: [] } });
    } finally {
      a.resume();
    }
    await converged([a, b, c], both);
    for (let i = 0; i < 8; i++) await c.publish('stall/t', `s${i}`, 1);
    await waitForTotal([stalled, other], 'stall/t', 8);
    await barrier([stalled, other], [a, b, c], 'stall');
    expect(payloads([stalled, other], 'stall/t').sort()).toEqual(range('s', 8));
    expect(stalled.received('stall/t').length).toBeGreaterThan(0);
  });

  it('forgets the members of an instance that dies, keeps its persistent members offline, and of one that stops at once', async () => {
    const d = await InstanceProcess.start('D', redis.url, 'share:', HEARTBEAT);
    const e = await InstanceProcess.start('E', redis.url, 'share:', HEARTBEAT);
    await connect(d, 'k-d').then((member) => member.subscribe('$share/k/kill/t', 1));
    await connect(d, 'k-persistent', SESSION).then((member) => member.subscribe('$share/k/kill/t', 1));
    await connect(e, 'k-e').then((member) => member.subscribe('$share/k/kill/t', 1));
    const survivor = await connect(b, 'k-b');
    await survivor.subscribe('$share/k/kill/t', 1);
    await converged([a, b, c, d, e], { 'k/kill/t': { online: ['k-b', 'k-d', 'k-e', 'k-persistent'], offline: [] } });
    await d.kill();
    await e.terminate();
    await converged([a, b, c], { 'k/kill/t': { online: ['k-b'], offline: ['k-persistent'] } });
    for (let i = 0; i < 6; i++) await a.publish('kill/t', `k${i}`, 1);
    await survivor.waitFor(6, 'kill/t');
    expect(survivor.received('kill/t').map((message) => message.payload.toString())).toEqual(range('k', 6));
    const back = await connect(c, 'k-persistent', SESSION);
    await back.client.unsubscribeAsync('$share/k/kill/t');
  });
});
