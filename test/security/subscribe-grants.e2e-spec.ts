import 'reflect-metadata';
import { Injectable, type INestApplication } from '@nestjs/common';
import type { IPublishPacket } from 'mqtt-packet';
import { MqttService, MqttWsModule, OnMqttEvent, type MqttAuthPolicy, type MqttSubscribeAuthContext, type MqttSubscribedEvent } from '../../lib/index.js';
import { ProtocolClient } from '../protocol/protocol-client.js';
import { startApp } from '../utils/app.js';
import { Collector } from '../utils/deferred.js';

const MAX_TOPIC_LENGTH = 32;
const LONG_FILTER = `long/${'x'.repeat(MAX_TOPIC_LENGTH)}`;

/** Grants by topic; the async answers settle on a later turn of the event loop, out of order. */
@Injectable()
class GrantsPolicy implements MqttAuthPolicy {
  authorizeSubscribe({ topic }: MqttSubscribeAuthContext) {
    switch (topic) {
      case 'grant/one':
        return 1;
      case 'grant/zero-later':
        return new Promise<0>((resolve) => setImmediate(resolve, 0));
      case 'grant/two':
        return 2;
      case 'denied':
        return false;
      case 'denied-later':
        return new Promise<false>((resolve) => setImmediate(resolve, false));
      default:
        return true;
    }
  }
}

@Injectable()
class SubscribedEvents {
  static readonly seen = new Collector<MqttSubscribedEvent['subscriptions']>();

  @OnMqttEvent('client.subscribed')
  onSubscribed(event: MqttSubscribedEvent) {
    SubscribedEvents.seen.push(event.subscriptions.map(({ topic, qos }) => ({ topic, qos })));
  }
}

describe('SUBACK and the stored session report the QoS the policy granted', () => {
  let app: INestApplication;
  let url: string;
  const open: ProtocolClient[] = [];

  const connected = async (clientId: string, clean = true) => {
    const result = await ProtocolClient.connect(url, { clientId, clean });
    open.push(result.client);
    return result.client;
  };

  beforeAll(async () => {
    ({ app, url } = await startApp({
      imports: [MqttWsModule.forRoot({ auth: { useValue: new GrantsPolicy() }, maxTopicLength: MAX_TOPIC_LENGTH })],
      providers: [SubscribedEvents],
    }));
  });

  afterAll(async () => {
    await Promise.all(open.map((client) => client.drop()));
    await app.close();
  });

  it('[MQTT-3.9.3-1] answers a QoS 2 request the policy grants at QoS 1 with return code 1', async () => {
    const client = await connected('grants-one');
    expect(await client.request({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'grant/one', qos: 2 }] })).toMatchObject({
      cmd: 'suback',
      messageId: 5,
      granted: [1],
    });
  });

  it('[MQTT-3.8.4-6] [MQTT-3.9.3-1] gives each filter its granted QoS or 0x80, in order, whatever order the answers come in', async () => {
    const client = await connected('grants-mixed');
    const subscriptions = [
      { topic: 'grant/zero-later', qos: 2 },
      { topic: 'grant/one', qos: 2 },
      { topic: 'grant/two', qos: 1 },
      { topic: 'denied-later', qos: 1 },
      { topic: 'denied', qos: 2 },
      { topic: LONG_FILTER, qos: 1 },
      { topic: 'free', qos: 2 },
    ];
    const suback = await client.request({ cmd: 'subscribe', messageId: 9, subscriptions });
    // A policy's 2 for a QoS 1 request does not raise it; refused and over-long filters get 0x80.
    expect(suback).toMatchObject({ cmd: 'suback', messageId: 9, granted: [0, 1, 1, 128, 128, 128, 2] });
  });

  it('reports the granted QoS, and 0x80 for refusals, in the client.subscribed event', async () => {
    const client = await connected('grants-event');
    const before = SubscribedEvents.seen.items.length;
    await client.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'grant/one', qos: 2 }, { topic: 'denied', qos: 1 }] });
    const [subscriptions] = (await SubscribedEvents.seen.waitFor(before + 1)).slice(before);
    expect(subscriptions).toEqual([
      { topic: 'grant/one', qos: 1 },
      { topic: 'denied', qos: 128 },
    ]);
  });

  it('stores a persistent session with the granted QoS and without the refused filters', async () => {
    const subscriber = await connected('grants-session', false);
    const granted = await subscriber.request({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'denied-later', qos: 1 },
        { topic: 'grant/one', qos: 2 },
        { topic: 'denied', qos: 1 },
      ],
    });
    expect(granted).toMatchObject({ granted: [128, 1, 128] });
    await subscriber.disconnect();

    const mqtt = app.get(MqttService);
    await mqtt.publish('denied', 'refused filter', { qos: 1 });
    await mqtt.publish('denied-later', 'refused filter', { qos: 1 });
    await mqtt.publish('grant/one', 'granted filter', { qos: 2 });

    // The queue is sent in publish order: had a refused filter been stored, its messages would come first.
    const resumed = await connected('grants-session', false);
    const queued = (await resumed.next()) as IPublishPacket;
    expect([queued.topic, queued.payload.toString(), queued.qos]).toEqual(['grant/one', 'granted filter', 1]);
  });
});
