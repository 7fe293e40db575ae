import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { IPublishPacket } from 'mqtt-packet';
import { MqttWsModule } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { ProtocolClient } from './protocol-client.js';

describe('MQTT 3.1.1 conformance: persistent sessions', () => {
  let app: INestApplication;
  let url: string;
  const open: ProtocolClient[] = [];

  const connected = async (clientId: string, clean = false) => {
    const result = await ProtocolClient.connect(url, { clientId, clean });
    open.push(result.client);
    return result;
  };
  const publisher = async () => (await connected(`publisher-${open.length}`, true)).client;
  const publish = (topic: string, payload: string, qos: 0 | 1 | 2, messageId: number, dup = false) => ({
    cmd: 'publish',
    topic,
    payload,
    qos,
    messageId: qos > 0 ? messageId : undefined,
    retain: false,
    dup,
  });

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({})] }));
  });

  afterAll(async () => {
    await Promise.all(open.map((client) => client.drop()));
    await app.close();
  });

  it('[MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-4.6.0-5] keeps QoS 1 and 2 messages for a disconnected session and sends them in order on resume', async () => {
    const { client: subscriber } = await connected('offline');
    await subscriber.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'offline/#', qos: 2 }] });
    await subscriber.disconnect();

    const source = await publisher();
    await source.request(publish('offline/a', 'one', 1, 1));
    await source.request(publish('offline/b', 'two', 2, 2));
    await source.request({ cmd: 'pubrel', messageId: 2 });
    await source.request(publish('offline/a', 'three', 1, 3));

    const { client, connack } = await connected('offline');
    expect(connack.sessionPresent).toBe(true);
    const queued = (await client.nextPackets(3)) as IPublishPacket[];
    expect(queued.map((packet) => [packet.payload.toString(), packet.qos])).toEqual([
      ['one', 1],
      ['two', 2],
      ['three', 1],
    ]);
  });

  it('[MQTT-4.4.0-1] [MQTT-3.3.1-1] resends an unacknowledged QoS 1 message on resume with its packet identifier and DUP 1', async () => {
    const { client: subscriber } = await connected('unacked');
    await subscriber.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'unacked', qos: 1 }] });
    const source = await publisher();
    await source.request(publish('unacked', 'again', 1, 1));
    const first = (await subscriber.next()) as IPublishPacket;
    expect(first).toMatchObject({ cmd: 'publish', qos: 1, dup: false });
    await subscriber.drop();

    const { client } = await connected('unacked');
    const resent = (await client.next()) as IPublishPacket;
    expect(resent).toMatchObject({ cmd: 'publish', payload: Buffer.from('again'), qos: 1, messageId: first.messageId, dup: true });
    client.send({ cmd: 'puback', messageId: resent.messageId });
    await client.disconnect();
    const { client: acknowledged } = await connected('unacked');
    expect(await acknowledged.next(300)).toBeUndefined();
  });

  it('[MQTT-4.4.0-1] resends PUBREL for a QoS 2 message the client did not complete', async () => {
    const { client: subscriber } = await connected('pubrel');
    await subscriber.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'pubrel', qos: 2 }] });
    const source = await publisher();
    await source.request(publish('pubrel', 'x', 2, 1));
    const delivered = (await subscriber.next()) as IPublishPacket;
    expect(await subscriber.request({ cmd: 'pubrec', messageId: delivered.messageId })).toMatchObject({ cmd: 'pubrel' });
    await subscriber.drop();

    const { client } = await connected('pubrel');
    expect(await client.next()).toMatchObject({ cmd: 'pubrel', messageId: delivered.messageId });
    expect(await client.request({ cmd: 'pubcomp', messageId: delivered.messageId }, 300)).toBeUndefined();
  });

  it('[MQTT-4.3.3-2] does not deliver twice a QoS 2 message resent on a resumed session before PUBREL', async () => {
    const { client: watcher } = await connected('qos2-watcher', true);
    await watcher.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'once', qos: 2 }] });
    const { client: first } = await connected('qos2-publisher');
    expect(await first.request(publish('once', 'x', 2, 9))).toMatchObject({ cmd: 'pubrec', messageId: 9 });
    await first.drop();

    const { client: resumed } = await connected('qos2-publisher');
    expect(await resumed.request(publish('once', 'x', 2, 9, true))).toMatchObject({ cmd: 'pubrec', messageId: 9 });
    expect(await resumed.request({ cmd: 'pubrel', messageId: 9 })).toMatchObject({ cmd: 'pubcomp', messageId: 9 });
    expect(await watcher.next()).toMatchObject({ cmd: 'publish', topic: 'once' });
    expect(await watcher.next(300)).toBeUndefined();
  });

  it('[MQTT-3.8.4-6] sends a queued message at the QoS granted to the session\'s wildcard subscription', async () => {
    const { client: subscriber } = await connected('queued-qos');
    await subscriber.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'queued-qos/+', qos: 1 }] });
    await subscriber.disconnect();
    const source = await publisher();
    await source.request(publish('queued-qos/x', 'x', 2, 1));
    await source.request({ cmd: 'pubrel', messageId: 1 });

    const { client } = await connected('queued-qos');
    const queued = (await client.next()) as IPublishPacket;
    expect(queued).toMatchObject({ cmd: 'publish', topic: 'queued-qos/x', qos: 1 });
    expect(await client.request({ cmd: 'puback', messageId: queued.messageId }, 300)).toBeUndefined();
  });
});
