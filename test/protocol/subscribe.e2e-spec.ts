import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { MqttService, MqttWsModule } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { ProtocolClient, mqttString, rawPacket } from './protocol-client.js';

const SUBSCRIBE = 0x82;
const UNSUBSCRIBE = 0xa2;
const id = (messageId: number) => Buffer.from([messageId >> 8, messageId & 0xff]);

describe('MQTT 3.1.1 conformance: SUBSCRIBE and UNSUBSCRIBE', () => {
  let app: INestApplication;
  let url: string;
  const open: ProtocolClient[] = [];
  let clientCount = 0;

  const connected = async () => {
    const { client } = await ProtocolClient.connect(url, { clientId: `subscriber-${++clientCount}` });
    open.push(client);
    return client;
  };
  const expectClosed = async (client: ProtocolClient) => {
    expect(await client.next()).toBeUndefined();
    expect(client.isClosed).toBe(true);
  };

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({})] }));
  });

  afterAll(async () => {
    await Promise.all(open.map((client) => client.drop()));
    await app.close();
  });

  it('[MQTT-3.8.3-3] closes the connection on a SUBSCRIBE without topic filters', async () => {
    const client = await connected();
    client.sendBytes(rawPacket(SUBSCRIBE, id(1)));
    await expectClosed(client);
  });

  it('[MQTT-3.10.3-2] closes the connection on an UNSUBSCRIBE without topic filters', async () => {
    const client = await connected();
    client.sendBytes(rawPacket(UNSUBSCRIBE, id(1)));
    await expectClosed(client);
  });

  it.each(['a/#/b', 'a#', '#a', 'a/b#', 'a+', '+a', 'a/+b', 'a/b+', '++', ''])(
    '[MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1] closes the connection on SUBSCRIBE to "%s"',
    async (filter) => {
      const client = await connected();
      client.sendBytes(rawPacket(SUBSCRIBE, Buffer.concat([id(1), mqttString(filter), Buffer.from([0])])));
      await expectClosed(client);
    },
  );

  it.each(['a+', 'a/#/b', ''])('[MQTT-4.7.1-3] closes the connection on UNSUBSCRIBE from "%s"', async (filter) => {
    const client = await connected();
    client.sendBytes(rawPacket(UNSUBSCRIBE, Buffer.concat([id(1), mqttString(filter)])));
    await expectClosed(client);
  });

  it.each(['#', '+', '+/+', '/+', 'a/+/c', 'a/#', '+/#', 'a//b', '/'])('accepts the valid filter "%s"', async (filter) => {
    const client = await connected();
    expect(await client.request({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: filter, qos: 1 }] })).toMatchObject({
      cmd: 'suback',
      messageId: 7,
      granted: [1],
    });
  });

  it('[MQTT-2.3.1-1] closes the connection on SUBSCRIBE or UNSUBSCRIBE with packet identifier 0', async () => {
    const subscriber = await connected();
    subscriber.sendBytes(rawPacket(SUBSCRIBE, Buffer.concat([id(0), mqttString('a'), Buffer.from([0])])));
    await expectClosed(subscriber);
    const unsubscriber = await connected();
    unsubscriber.sendBytes(rawPacket(UNSUBSCRIBE, Buffer.concat([id(0), mqttString('a')])));
    await expectClosed(unsubscriber);
  });

  it('[MQTT-3.8.1-1] [MQTT-3.8.3-4] closes the connection on SUBSCRIBE with bad flags or a reserved QoS', async () => {
    const badHeader = await connected();
    badHeader.sendBytes(rawPacket(0x80, Buffer.concat([id(1), mqttString('a'), Buffer.from([0])])));
    await expectClosed(badHeader);
    const badQos = await connected();
    badQos.sendBytes(rawPacket(SUBSCRIBE, Buffer.concat([id(1), mqttString('a'), Buffer.from([3])])));
    await expectClosed(badQos);
  });

  it('[MQTT-3.8.4-1] [MQTT-3.8.4-5] [MQTT-3.9.3-1] answers with a SUBACK of one return code per filter, in order', async () => {
    const client = await connected();
    const suback = await client.request({
      cmd: 'subscribe',
      messageId: 42,
      subscriptions: [
        { topic: 'order/two', qos: 2 },
        { topic: 'order/zero', qos: 0 },
        { topic: 'order/one', qos: 1 },
      ],
    });
    expect(suback).toMatchObject({ cmd: 'suback', messageId: 42, granted: [2, 0, 1] });
  });

  it('[MQTT-3.8.4-5] [MQTT-3.8.4-3] answers a filter named twice in one SUBSCRIBE with a code for each entry, subscribed as the last one', async () => {
    const subscriber = await connected();
    const publisher = await connected();
    const suback = await subscriber.request({
      cmd: 'subscribe',
      messageId: 43,
      subscriptions: [
        { topic: 'twice', qos: 0 },
        { topic: 'once', qos: 1 },
        { topic: 'twice', qos: 2 },
      ],
    });
    expect(suback).toMatchObject({ cmd: 'suback', messageId: 43, granted: [2, 1, 2] });
    publisher.send({ cmd: 'publish', topic: 'twice', payload: 'x', qos: 2, messageId: 1 });
    expect(await subscriber.next()).toMatchObject({ cmd: 'publish', topic: 'twice', qos: 2 });
  });

  it('[MQTT-3.8.4-3] replaces an existing subscription to the same filter', async () => {
    const subscriber = await connected();
    const publisher = await connected();
    await subscriber.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'replace/+', qos: 0 }] });
    await subscriber.request({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'replace/+', qos: 1 }] });
    publisher.send({ cmd: 'publish', topic: 'replace/x', payload: 'once', qos: 1, messageId: 1 });
    expect(await subscriber.next()).toMatchObject({ cmd: 'publish', topic: 'replace/x', qos: 1 });
    expect(await subscriber.next(300)).toBeUndefined();
  });

  it('[MQTT-3.10.4-1] [MQTT-3.10.4-4] [MQTT-3.10.4-5] stops delivery after UNSUBSCRIBE and answers UNSUBACK, also for unknown filters', async () => {
    const subscriber = await connected();
    const publisher = await connected();
    await subscriber.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'leave/#', qos: 0 }] });
    expect(await subscriber.request({ cmd: 'unsubscribe', messageId: 9, unsubscriptions: ['leave/#', 'never/subscribed'] })).toMatchObject({
      cmd: 'unsuback',
      messageId: 9,
    });
    await publisher.request({ cmd: 'publish', topic: 'leave/now', payload: 'x', qos: 1, messageId: 1 });
    expect(await subscriber.next(300)).toBeUndefined();
  });

  it('[MQTT-4.7.2-1] does not match topics starting with $ to filters starting with a wildcard', async () => {
    const wildcard = await connected();
    const explicit = await connected();
    await wildcard.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }, { topic: '+/status', qos: 0 }] });
    await explicit.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$app/+', qos: 0 }] });
    const mqtt = app.get(MqttService);
    await mqtt.publish('$app/status', 'hidden');
    await mqtt.publish('plain/status', 'seen');
    expect(await explicit.next()).toMatchObject({ cmd: 'publish', topic: '$app/status' });
    // Overlapping subscriptions: one copy is enough [MQTT-3.3.5-1].
    expect(await wildcard.next()).toMatchObject({ cmd: 'publish', topic: 'plain/status' });
    expect(await wildcard.next(300)).toBeUndefined();
  });
});
