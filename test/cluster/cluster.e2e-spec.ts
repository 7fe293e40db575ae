/**
 * Two (and, for restarts and shutdown, more) app instances in their own processes on one private
 * Redis, driven by MQTT.js clients over WebSocket: they behave as one broker. See docs/cluster.md.
 */
import { jest } from '@jest/globals';
import { RawMqttSocket } from '../utils/raw-mqtt-socket.js';
import { ClusterClient } from './utils/cluster-client.js';
import { InstanceProcess, killAllInstances, pollUntil } from './utils/instance-process.js';
import { describeWithRedis, RedisServer } from './utils/redis-server.js';

jest.setTimeout(60_000);

describeWithRedis('Cluster on Redis: two instances act as one broker', () => {
  let redis: RedisServer;
  let a: InstanceProcess;
  let b: InstanceProcess;
  const clients: ClusterClient[] = [];
  const connect = async (url: string, options: Parameters<typeof ClusterClient.connect>[1] = {}) => {
    const client = await ClusterClient.connect(url, options);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    [a, b] = await Promise.all([InstanceProcess.start('A', redis.url, 'it:'), InstanceProcess.start('B', redis.url, 'it:')]);
  }, 60_000);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.drop()));
  });

  afterAll(async () => {
    await killAllInstances();
    await redis?.stop();
  });

  it('gives each instance its own broker id', () => {
    expect(a.brokerId).not.toEqual(b.brokerId);
    expect(a.logs.join('\n')).toContain('Clustering on Redis at redis://127.0.0.1');
  });

  it('delivers a message published on A to a subscriber on B at QoS 0, 1 and 2', async () => {
    const subscriber = await connect(b.url);
    await subscriber.subscribe('cross/#', 2);
    const publisher = await connect(a.url);
    await publisher.publish('cross/qos0', 'zero', 0);
    await publisher.publish('cross/qos1', 'one', 1);
    await publisher.publish('cross/qos2', 'two', 2);
    await a.publish('cross/server', 'from MqttService on A', 1);

    await subscriber.waitForPayloads(4, 'cross/');
    const byTopic = Object.fromEntries(subscriber.messages.map((packet) => [packet.topic, packet]));
    expect(byTopic['cross/qos0']).toMatchObject({ qos: 0 });
    expect(byTopic['cross/qos1']).toMatchObject({ qos: 1 });
    expect(byTopic['cross/qos2']).toMatchObject({ qos: 2 });
    expect(byTopic['cross/server'].payload.toString()).toBe('from MqttService on A');
    expect(subscriber.messages).toHaveLength(4);
  });

  it('delivers a retained message set through A on subscribe at B', async () => {
    const publisher = await connect(a.url);
    await publisher.publish('retained/lamp', 'on', 1, true);
    const subscriber = await connect(b.url);
    await subscriber.subscribe('retained/#', 1);
    await subscriber.waitForPayloads(1, 'retained/');
    expect(subscriber.messages[0]).toMatchObject({ topic: 'retained/lamp', retain: true });
    expect(subscriber.payloads()).toEqual(['on']);
  });

  it('gives a persistent session created on A its queued QoS 1 and 2 messages when it reconnects to B', async () => {
    const first = await connect(a.url, { clientId: 'persist-1', clean: false });
    await first.subscribe('queued/#', 2);
    await first.end();

    const publisher = await connect(b.url);
    await publisher.publish('queued/one', 'q1', 1);
    await publisher.publish('queued/two', 'q2', 2);

    const again = await connect(b.url, { clientId: 'persist-1', clean: false });
    expect(again.sessionPresent).toBe(true);
    await again.waitForPayloads(2, 'queued/');
    expect(again.messages.map(({ topic, qos }) => ({ topic, qos }))).toEqual([
      { topic: 'queued/one', qos: 1 },
      { topic: 'queued/two', qos: 2 },
    ]);
  });

  // Aedes 1.2 writes a message for a restored subscription as soon as the CONNECT restored it, before
  // the CONNACK [MQTT-3.2.0-1]; with Redis between the two there is time for that, and MQTT.js then
  // stalls. lib/protocol/connack-first.ts holds such deliveries until the CONNACK is written.
  it('sends CONNACK first to a persistent session that reconnects while its messages flow', async () => {
    const session = await connect(a.url, { clientId: 'connack-first', clean: false });
    await session.subscribe('flow/#', 1);
    await session.end();
    const publisher = await connect(b.url);
    let stop = false;
    const pumping = (async () => {
      while (!stop) await Promise.all(Array.from({ length: 10 }, (_, n) => publisher.publish(`flow/${n}`, 'x', 1)));
    })();
    try {
      for (let attempt = 0; attempt < 200; attempt++) {
        const raw = await RawMqttSocket.open(a.url);
        raw.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: false, clientId: 'connack-first', keepalive: 0 });
        const [first] = await raw.waitForPackets(1);
        await raw.close();
        expect(first.cmd).toBe('connack');
      }
    } finally {
      stop = true;
      await pumping;
    }
  });

  it('lets a client id connecting to B take over the same id on A', async () => {
    const onA = await connect(a.url, { clientId: 'takeover-1' });
    const onB = await connect(b.url, { clientId: 'takeover-1' });
    await onA.closed;
    expect(onB.client.connected).toBe(true);

    // The session now lives on B: a message from A reaches it there.
    await onB.subscribe('takeover/#', 1);
    const publisher = await connect(a.url);
    await publisher.publish('takeover/x', 'after takeover', 1);
    await onB.waitForPayloads(1, 'takeover/');
  });

  it('loses no queued and no retained message when an instance is killed with SIGKILL and restarted', async () => {
    const c = await InstanceProcess.start('C', redis.url, 'it:');
    const offline = await connect(c.url, { clientId: 'kill-offline', clean: false });
    await offline.subscribe('killq/#', 1);
    await offline.end();
    const online = await connect(c.url, { clientId: 'kill-online', clean: false });
    await online.subscribe('killq/#', 1);

    const publisher = await connect(a.url);
    await publisher.publish('killr/state', 'kept', 1, true);
    for (const n of [1, 2, 3]) await publisher.publish(`killq/${n}`, `m${n}`, 1);
    await online.waitForPayloads(3, 'killq/');
    await c.kill();
    await online.closed;
    await publisher.publish('killq/4', 'm4', 1);
    await publisher.publish('killq/5', 'm5', 2);

    // The offline session's queue (m1 to m5) outlived the instance; so did the retained message.
    const restarted = await InstanceProcess.start('C2', redis.url, 'it:');
    const offlineAgain = await connect(restarted.url, { clientId: 'kill-offline', clean: false });
    expect(offlineAgain.sessionPresent).toBe(true);
    expect(await offlineAgain.waitForPayloads(5, 'killq/')).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);

    // The session that was online on the killed instance gets what was published since, on B.
    const onlineAgain = await connect(b.url, { clientId: 'kill-online', clean: false });
    await pollUntil(() => ['m4', 'm5'].every((p) => onlineAgain.payloads().includes(p)), 10_000, 'm4 and m5');
    const reader = await connect(b.url);
    await reader.subscribe('killr/#', 0);
    expect(await reader.waitForPayloads(1, 'killr/')).toEqual(['kept']);
    await restarted.terminate();
  });

  it('on graceful shutdown of one instance disconnects its clients, which resume elsewhere without losing an acknowledged message', async () => {
    const d = await InstanceProcess.start('D', redis.url, 'it:');
    const subscriber = await connect(d.url, { clientId: 'grace-sub', clean: false });
    await subscriber.subscribe('grace/#', 1);
    const publisher = await connect(d.url, { clientId: 'grace-pub' });

    // Eight messages in flight at any time, so that the shutdown catches some between PUBACK and Redis.
    const acknowledged: string[] = [];
    const lanes = Array.from({ length: 8 }, async (_, lane) => {
      for (let n = 0; publisher.client.connected; n++) {
        // MQTT.js keeps a message it could not send for a reconnection that will not come.
        const sentOff = publisher.publish(`grace/${lane}`, `g${lane}-${n}`, 1).then(() => true, () => false);
        if (!(await Promise.race([sentOff, publisher.closed.then(() => false)]))) return;
        acknowledged.push(`g${lane}-${n}`);
      }
    });
    await pollUntil(() => acknowledged.length >= 200, 10_000, '200 acknowledged messages');

    // Nest closes the app on SIGTERM, then re-raises the signal to end the process.
    const exit = await d.terminate();
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    expect(d.logs).toContain('[log] app closed on SIGTERM');
    await Promise.all([subscriber.closed, publisher.closed, ...lanes]);
    expect(d.logs.filter((line) => line.startsWith('[error]'))).toEqual([]);

    const resumed = await connect(a.url, { clientId: 'grace-sub', clean: false });
    expect(resumed.sessionPresent).toBe(true);
    const received = () => new Set([...subscriber.payloads(), ...resumed.payloads()]);
    await pollUntil(() => acknowledged.every((payload) => received().has(payload)), 10_000, 'every acknowledged message');
  });

  // Last: the restart empties this Redis (it keeps no data on disk).
  it('keeps both instances up through a Redis restart during traffic, reports it, and resumes', async () => {
    const subscriber = await connect(b.url, { clientId: 'outage-sub' });
    await subscriber.subscribe('outage/#', 1);
    const publisher = await connect(a.url, { clientId: 'outage-pub' });

    let stop = false;
    let sent = 0;
    const failures: unknown[] = [];
    const publishing = (async () => {
      while (!stop) {
        // QoS 1: the PUBACK waits for Redis while it is away.
        await publisher.publish(`outage/${sent}`, `o${sent}`, 1).catch((error) => failures.push(error));
        sent++;
      }
    })();
    await subscriber.waitForPayloads(10, 'outage/');

    await redis.stopProcess();
    await Promise.all([a.waitForLog('Lost the connection to Redis'), b.waitForLog('Lost the connection to Redis')]);
    const sentDuringOutage = sent;
    await redis.startProcess();
    await Promise.all([a.waitForLog('Redis is back'), b.waitForLog('Redis is back')]);

    // Traffic flows again across instances: a message published after the return reaches B.
    const afterReturn = sent + 1;
    await pollUntil(
      () => subscriber.payloads('outage/').some((payload) => Number(payload.slice(1)) > afterReturn),
      20_000,
      'a message published after Redis returned',
    );
    stop = true;
    await publishing;

    expect(sent).toBeGreaterThan(sentDuringOutage);
    expect(failures).toEqual([]);
    expect([a.alive, b.alive]).toEqual([true, true]);
    expect([publisher.client.connected, subscriber.client.connected]).toEqual([true, true]);
    // And new persistent sessions work on the restarted Redis.
    const late = await connect(a.url, { clientId: 'outage-late', clean: false });
    await late.subscribe('outage-late/#', 1);
    await late.end();
    // QoS 2: its PUBREC follows the routing. A QoS 1 PUBACK precedes it (Aedes), so the message could
    // still be on its way when the session reconnects, and Aedes may then write it before the CONNACK.
    await publisher.publish('outage-late/x', 'queued after the outage', 2);
    const lateAgain = await connect(b.url, { clientId: 'outage-late', clean: false });
    expect(await lateAgain.waitForPayloads(1, 'outage-late/')).toEqual(['queued after the outage']);
  });
});
