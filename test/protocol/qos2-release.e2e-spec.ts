/**
 * Issue 11 item 7, the lost QoS 2 message: a resumed persistent session whose PUBRECs reach the
 * broker in one read must get one PUBREL per packet identifier, each with its own identifier, and
 * nothing may be left in the session's queue once every exchange is complete [MQTT-4.3.3-1]
 * [MQTT-4.4.0-1]. See lib/broker/aedes/qos2-release.ts and docs/upstream-reports.md.
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { MqttService, MqttWsModule, type MqttWsModuleOptions } from '../../lib/index.js';
import { describeWithRedis, RedisServer } from '../cluster/utils/redis-server.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';
import { ProtocolClient } from './protocol-client.js';

const PAYLOADS = ['x0', 'x1', 'x2'];
/** Runs of the MQTT.js scenario; before the fix every run got x2 again on the third connection. */
const RUNS = 50;
/** How long a run may take before it counts as a lost message. */
const RUN_DEADLINE = 5000;

/**
 * Keeps this process's event loop busy (the app and its clients share it) until stopped: each turn
 * burns a few milliseconds, so packets pile up in the sockets and Aedes reads several at once, as on
 * a loaded server. Bounded, in case a test never stops it.
 */
function busyEventLoop(): () => void {
  let turnsLeft = 20_000;
  const burn = () => {
    if (--turnsLeft <= 0) return;
    const until = performance.now() + 5;
    while (performance.now() < until);
    setImmediate(burn);
  };
  setImmediate(burn);
  return () => {
    turnsLeft = 0;
  };
}

/** The payloads `client` received once `last` has arrived or `ms` have passed, whichever comes first. */
async function payloadsUntil(client: TestClient, last: string, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  const payloads = () => client.messages.map((message) => message.payload.toString());
  while (!payloads().includes(last) && Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([client.waitFor(client.messages.length + 1), new Promise((resolve) => (timer = setTimeout(resolve, deadline - Date.now())))]);
    clearTimeout(timer);
  }
  return payloads().join(' ');
}

/** PUBRECs encoded into one buffer: one WebSocket message, so Aedes reads and handles them in one turn. */
function pubrecsInOneWrite(messageIds: number[]): Buffer {
  return Buffer.concat(messageIds.map((messageId) => mqttPacket.generate({ cmd: 'pubrec', messageId })));
}

function describeQos2Release(name: string, moduleOptions: () => MqttWsModuleOptions): void {
  describe(name, () => {
    let app: INestApplication;
    let url: string;
    let mqtt: MqttService;
    const open: ProtocolClient[] = [];

    const connected = async (clientId: string, clean = false) => {
      const result = await ProtocolClient.connect(url, { clientId, clean });
      open.push(result.client);
      return result;
    };
    /** A persistent session subscribed to `t/#` at QoS 2, offline, with x0, x1, x2 queued on `t/a`. */
    const offlineWithThreeQueued = async (clientId: string) => {
      const { client } = await connected(clientId);
      expect(await client.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't/#', qos: 2 }] })).toMatchObject({
        cmd: 'suback',
        granted: [2],
      });
      await client.disconnect();
      for (const payload of PAYLOADS) await mqtt.publish('t/a', payload, { qos: 2 });
    };

    beforeAll(async () => {
      ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot(moduleOptions())] }));
      mqtt = app.get(MqttService);
    });

    afterEach(async () => {
      await Promise.all(open.splice(0).map((client) => client.drop()));
    });

    afterAll(async () => {
      await app?.close();
    });

    it('[MQTT-4.3.3-1] answers PUBRECs sent in one write on a resumed session with one PUBREL each, with its own packet identifier', async () => {
      await offlineWithThreeQueued('burst');

      const { client, connack } = await connected('burst');
      expect(connack.sessionPresent).toBe(true);
      const queued = (await client.nextPackets(3)) as IPublishPacket[];
      expect(queued.map((packet) => [packet.cmd, packet.payload.toString(), packet.qos])).toEqual(PAYLOADS.map((payload) => ['publish', payload, 2]));
      const ids = queued.map((packet) => packet.messageId!);
      expect(new Set(ids).size).toBe(3);

      client.sendBytes(pubrecsInOneWrite(ids));
      const pubrels = await client.nextPackets(3);
      expect(pubrels.map((packet: Packet) => [packet.cmd, packet.messageId])).toEqual(ids.map((id) => ['pubrel', id]));
      expect(await client.next(300)).toBeUndefined();

      for (const id of ids) client.send({ cmd: 'pubcomp', messageId: id });
      await client.disconnect();

      // Every exchange is complete: the session has nothing to resend [MQTT-4.4.0-1].
      const { client: third } = await connected('burst');
      expect(await third.next(500)).toBeUndefined();
    });

    it('[MQTT-4.4.0-1] resends after a reconnection the PUBRELs of PUBRECs sent in one write, each once, and then nothing', async () => {
      await offlineWithThreeQueued('burst-resend');
      const { client } = await connected('burst-resend');
      const ids = ((await client.nextPackets(3)) as IPublishPacket[]).map((packet) => packet.messageId!);
      client.sendBytes(pubrecsInOneWrite(ids));
      await client.nextPackets(3);
      // No PUBCOMP: the connection drops with three exchanges waiting for it.
      await client.drop();

      const { client: resumed } = await connected('burst-resend');
      const resent = await resumed.nextPackets(3);
      expect(resent.map((packet: Packet) => [packet.cmd, packet.messageId])).toEqual(ids.map((id) => ['pubrel', id]));
      expect(await resumed.next(300)).toBeUndefined();
      resumed.sendBytes(Buffer.concat(ids.map((messageId) => mqttPacket.generate({ cmd: 'pubcomp', messageId }))));
      await resumed.disconnect();

      const { client: third } = await connected('burst-resend');
      expect(await third.next(500)).toBeUndefined();
    });

    it(`delivers x0, x1, x2 exactly once to a resumed MQTT.js session, ${RUNS} times with the event loop busy`, async () => {
      const outcomes: string[] = [];
      for (let run = 0; run < RUNS; run++) {
        const clientId = `mqttjs-${run}`;
        const subscriber = await TestClient.connect(url, { clientId, clean: false });
        await subscriber.subscribe('t/#', 2);
        await subscriber.end();
        for (const payload of PAYLOADS) await mqtt.publish('t/a', payload, { qos: 2 });

        const stopBusy = busyEventLoop();
        const resumed = await TestClient.connect(url, { clientId, clean: false });
        const received = await payloadsUntil(resumed, 'x2', RUN_DEADLINE);
        stopBusy();
        await resumed.end();

        // What the session still holds comes back on the next connection, before a new message.
        const third = await TestClient.connect(url, { clientId, clean: false });
        await mqtt.publish('t/a', 'end', { qos: 2 });
        const replayed = await payloadsUntil(third, 'end', RUN_DEADLINE);
        await third.end(true);
        outcomes.push(`run ${run}: ${received} | ${replayed}`);
      }
      expect(outcomes.filter((outcome) => !outcome.endsWith(': x0 x1 x2 | end'))).toEqual([]);
    }, RUNS * 3 * RUN_DEADLINE);
  });
}

describeQos2Release('QoS 2 release on a resumed session (in-memory persistence)', () => ({}));

// aedes-persistence-redis was never affected; its PUBREL records now are copies too.
describeWithRedis('QoS 2 release on Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  describeQos2Release('QoS 2 release on a resumed session (aedes-persistence-redis)', () => ({ redis: { url: redis.url, keyPrefix: 'qos2-release:' } }));
});
