import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { IPublishPacket } from 'mqtt-packet';
import { MqttService, MqttWsModule } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { CONNECT, ProtocolClient, connectBody, mqttString, rawPacket } from './protocol-client.js';

const PUBLISH_QOS_0 = 0x30;
const PUBLISH_QOS_0_DUP = 0x38;
const PUBLISH_QOS_1 = 0x32;
const PUBLISH_QOS_3 = 0x36;
const SUBSCRIBE = 0x82;

describe('MQTT 3.1.1 conformance: PUBLISH, QoS flows and retained messages', () => {
  let app: INestApplication;
  let url: string;
  const open: ProtocolClient[] = [];
  let clientCount = 0;

  const connected = async () => {
    const { client } = await ProtocolClient.connect(url, { clientId: `publish-${++clientCount}` });
    open.push(client);
    return client;
  };
  const subscribed = async (...subscriptions: { topic: string; qos: 0 | 1 | 2 }[]) => {
    const client = await connected();
    expect(await client.request({ cmd: 'subscribe', messageId: 1, subscriptions })).toMatchObject({ cmd: 'suback' });
    return client;
  };
  const expectClosed = async (client: ProtocolClient) => {
    expect(await client.next()).toBeUndefined();
    expect(client.isClosed).toBe(true);
  };
  const publish = (topic: string, payload: string, qos: 0 | 1 | 2, messageId = 1, extra: Partial<IPublishPacket> = {}) => ({
    cmd: 'publish' as const,
    topic,
    payload,
    qos,
    messageId: qos > 0 ? messageId : undefined,
    retain: false,
    dup: false,
    ...extra,
  });

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({})] }));
  });

  afterAll(async () => {
    await Promise.all(open.map((client) => client.drop()));
    await app.close();
  });

  describe('malformed PUBLISH packets close the connection', () => {
    it.each(['a/+', 'a/#', '#', '+'])('[MQTT-3.3.2-2] [MQTT-4.7.1-1] a topic name with a wildcard: "%s"', async (topic) => {
      const client = await connected();
      client.sendBytes(rawPacket(PUBLISH_QOS_0, Buffer.concat([mqttString(topic), Buffer.from('x')])));
      await expectClosed(client);
    });

    it('[MQTT-4.7.3-1] an empty topic name', async () => {
      const client = await connected();
      client.sendBytes(rawPacket(PUBLISH_QOS_0, Buffer.concat([mqttString(''), Buffer.from('x')])));
      await expectClosed(client);
    });

    it('[MQTT-3.3.1-2] DUP set on QoS 0', async () => {
      const client = await connected();
      client.sendBytes(rawPacket(PUBLISH_QOS_0_DUP, Buffer.concat([mqttString('dup/zero'), Buffer.from('x')])));
      await expectClosed(client);
    });

    it('[MQTT-3.3.1-4] both QoS bits set', async () => {
      const client = await connected();
      client.sendBytes(rawPacket(PUBLISH_QOS_3, Buffer.concat([mqttString('qos/3'), Buffer.from([0, 1]), Buffer.from('x')])));
      await expectClosed(client);
    });

    it('[MQTT-2.3.1-1] packet identifier 0 at QoS 1', async () => {
      const client = await connected();
      client.sendBytes(rawPacket(PUBLISH_QOS_1, Buffer.concat([mqttString('id/zero'), Buffer.from([0, 0]), Buffer.from('x')])));
      await expectClosed(client);
    });
  });

  describe('UTF-8 strings [MQTT-1.5.3-1] [MQTT-1.5.3-2]', () => {
    it.each([
      ['an encoded surrogate', Buffer.from([0x61, 0xed, 0xa0, 0x80])],
      ['an overlong encoding', Buffer.from([0x61, 0xc0, 0xaf])],
      ['a truncated sequence', Buffer.from([0x61, 0xf0, 0x9f, 0x98, 0x2f, 0x62])],
      ['a byte never valid in UTF-8', Buffer.from([0x61, 0xff])],
      ['U+0000', Buffer.from([0x61, 0x00, 0x62])],
    ])('closes the connection on a PUBLISH topic with %s', async (_title, topic) => {
      const subscriber = await subscribed({ topic: '#', qos: 0 });
      const client = await connected();
      client.sendBytes(rawPacket(PUBLISH_QOS_0, Buffer.concat([mqttString(topic), Buffer.from('x')])));
      await expectClosed(client);
      expect(await subscriber.next(200)).toBeUndefined();
    });

    it('closes the connection on a SUBSCRIBE filter with ill-formed UTF-8 or U+0000', async () => {
      const surrogate = await connected();
      surrogate.sendBytes(rawPacket(SUBSCRIBE, Buffer.concat([Buffer.from([0, 1]), mqttString(Buffer.from([0xed, 0xbf, 0xbf])), Buffer.from([0])])));
      await expectClosed(surrogate);
      const nul = await connected();
      nul.sendBytes(rawPacket(SUBSCRIBE, Buffer.concat([Buffer.from([0, 1]), mqttString('a\u0000'), Buffer.from([0])])));
      await expectClosed(nul);
    });

    it('closes the connection without CONNACK on a client id or user name with ill-formed UTF-8 or U+0000', async () => {
      for (const fields of [
        [mqttString(Buffer.from([0x63, 0xed, 0xa0, 0x80]))],
        [mqttString('c\u0000')],
        [mqttString('client'), mqttString(Buffer.from([0xc3]))],
      ]) {
        const client = await ProtocolClient.open(url);
        open.push(client);
        client.sendBytes(rawPacket(CONNECT, connectBody({ flags: fields.length > 1 ? 0x82 : 0x02, fields })));
        await expectClosed(client);
      }
    });

    it('[MQTT-1.5.3-3] passes U+FEFF and a U+FFFD the client sent through unchanged', async () => {
      const subscriber = await subscribed({ topic: 'text/+', qos: 0 });
      const publisher = await connected();
      publisher.send(publish('text/\uFEFFbom\uFFFD', 'x', 0));
      expect(await subscriber.next()).toMatchObject({ cmd: 'publish', topic: 'text/\uFEFFbom\uFFFD' });
    });
  });

  describe('QoS flows', () => {
    it('[MQTT-3.3.4-1] [MQTT-4.3.2-2] answers QoS 1 with PUBACK of the same packet identifier', async () => {
      const client = await connected();
      expect(await client.request(publish('flow/1', 'x', 1, 513))).toMatchObject({ cmd: 'puback', messageId: 513 });
    });

    it('[MQTT-4.3.3-2] delivers a QoS 2 message once however often it is resent before PUBREL', async () => {
      const subscriber = await subscribed({ topic: 'flow/2', qos: 2 });
      const publisher = await connected();
      expect(await publisher.request(publish('flow/2', 'first', 2, 77))).toMatchObject({ cmd: 'pubrec', messageId: 77 });
      expect(await publisher.request(publish('flow/2', 'first', 2, 77, { dup: true }))).toMatchObject({ cmd: 'pubrec', messageId: 77 });
      expect(await publisher.request({ cmd: 'pubrel', messageId: 77 })).toMatchObject({ cmd: 'pubcomp', messageId: 77 });
      // After PUBCOMP the identifier is free again: the same identifier is a new message.
      expect(await publisher.request(publish('flow/2', 'second', 2, 77))).toMatchObject({ cmd: 'pubrec', messageId: 77 });
      await publisher.request({ cmd: 'pubrel', messageId: 77 });

      const delivered = await subscriber.nextPackets(2);
      expect(delivered.map((packet) => (packet as IPublishPacket).payload.toString())).toEqual(['first', 'second']);
      expect(delivered.every((packet) => packet.cmd === 'publish' && packet.qos === 2 && !packet.dup)).toBe(true);
      const [first, second] = delivered as IPublishPacket[];
      expect(await subscriber.request({ cmd: 'pubrec', messageId: first.messageId })).toMatchObject({ cmd: 'pubrel', messageId: first.messageId });
      expect(await subscriber.request({ cmd: 'pubrec', messageId: second.messageId })).toMatchObject({ cmd: 'pubrel', messageId: second.messageId });
      expect(second.messageId).not.toBe(first.messageId);
    });

    it('[MQTT-4.6.0-5] delivers the messages of a topic in the order they were published', async () => {
      const subscriber = await subscribed({ topic: 'ordered', qos: 1 });
      const publisher = await connected();
      for (let i = 1; i <= 20; i++) publisher.send(publish('ordered', `m${i}`, 1, i));
      const delivered = (await subscriber.nextPackets(20)) as IPublishPacket[];
      expect(delivered.map((packet) => packet.payload.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `m${i + 1}`));
    });

    it.each([
      ['min/+', 1, 2, 1],
      ['min/#', 0, 1, 0],
      ['+/x', 1, 1, 1],
      ['min/x', 1, 2, 1],
      ['#', 2, 1, 1],
    ] as const)('[MQTT-3.8.4-6] delivers to a subscription to %s granted QoS %i a QoS %i message at QoS %i', async (filter, granted, published, expected) => {
      const subscriber = await subscribed({ topic: filter, qos: granted });
      const publisher = await connected();
      publisher.send(publish('min/x', 'x', published, 5));
      expect(await subscriber.next()).toMatchObject({ cmd: 'publish', topic: 'min/x', qos: expected });
      await subscriber.drop();
    });

    it.each([
      ['overlap/+', 0, 'overlap/#', 1],
      ['overlap/#', 0, 'overlap/+', 1],
    ] as const)('[MQTT-3.3.5-1] delivers a message matching %s (QoS %i) and %s (QoS %i) once, at the higher QoS', async (a, qosA, b, qosB) => {
      const subscriber = await subscribed({ topic: a, qos: qosA }, { topic: b, qos: qosB });
      const publisher = await connected();
      publisher.send(publish('overlap/x', 'x', 2, 6));
      const delivered = await subscriber.next();
      expect(delivered).toMatchObject({ cmd: 'publish', topic: 'overlap/x', qos: Math.max(qosA, qosB) });
      if (delivered?.cmd === 'publish' && delivered.qos === 2) await subscriber.request({ cmd: 'pubrec', messageId: delivered.messageId });
      expect(await subscriber.next(200)).toBeUndefined();
      await subscriber.drop();
    });

    it('[MQTT-3.3.1-3] [MQTT-3.3.1-2] does not pass on the DUP flag of an incoming PUBLISH', async () => {
      const atQos1 = await subscribed({ topic: 'dup/in', qos: 1 });
      const atQos0 = await subscribed({ topic: 'dup/in', qos: 0 });
      const publisher = await connected();
      expect(await publisher.request(publish('dup/in', 'again', 1, 8, { dup: true }))).toMatchObject({ cmd: 'puback' });
      expect(await atQos1.next()).toMatchObject({ cmd: 'publish', qos: 1, dup: false });
      expect(await atQos0.next()).toMatchObject({ cmd: 'publish', qos: 0, dup: false });
    });
  });

  describe('retained messages', () => {
    it('[MQTT-3.3.1-5] [MQTT-3.3.1-8] [MQTT-3.3.1-9] keeps the last retained message, sends it with RETAIN 1 on subscribe and 0 when forwarded', async () => {
      const live = await subscribed({ topic: 'retain/a', qos: 1 });
      const publisher = await connected();
      await publisher.request(publish('retain/a', 'old', 1, 1, { retain: true }));
      await publisher.request(publish('retain/a', 'new', 1, 2, { retain: true }));
      const forwarded = (await live.nextPackets(2)) as IPublishPacket[];
      expect(forwarded.map((packet) => [packet.payload.toString(), packet.retain])).toEqual([['old', false], ['new', false]]);

      const late = await subscribed({ topic: 'retain/+', qos: 1 });
      expect(await late.next()).toMatchObject({ cmd: 'publish', topic: 'retain/a', retain: true, qos: 1 });
      expect(await late.next(200)).toBeUndefined();
    });

    it('[MQTT-3.3.1-12] neither stores nor removes a retained message for a PUBLISH with RETAIN 0', async () => {
      const publisher = await connected();
      await publisher.request(publish('retain/b', 'kept', 1, 1, { retain: true }));
      await publisher.request(publish('retain/b', 'not kept', 1, 2));
      const late = await subscribed({ topic: 'retain/b', qos: 0 });
      expect(await late.next()).toMatchObject({ retain: true, payload: Buffer.from('kept') });
    });

    it('[MQTT-3.3.1-10] [MQTT-3.3.1-11] forwards a zero-byte retained message and removes the retained one', async () => {
      const live = await subscribed({ topic: 'retain/c', qos: 0 });
      const publisher = await connected();
      await publisher.request(publish('retain/c', 'there', 1, 1, { retain: true }));
      await publisher.request(publish('retain/c', '', 1, 2, { retain: true }));
      const forwarded = (await live.nextPackets(2)) as IPublishPacket[];
      expect(forwarded.map((packet) => packet.payload.length)).toEqual([5, 0]);
      const late = await subscribed({ topic: 'retain/c', qos: 0 });
      expect(await late.next(300)).toBeUndefined();
    });

    it('[MQTT-3.8.4-6] sends a retained message at the QoS granted to a wildcard subscription', async () => {
      await app.get(MqttService).publish('granted/retained', 'x', { qos: 2, retain: true });
      const late = await subscribed({ topic: 'granted/#', qos: 0 });
      expect(await late.next()).toMatchObject({ cmd: 'publish', topic: 'granted/retained', retain: true, qos: 0 });
    });
  });
});
