import 'reflect-metadata';
import { Injectable, type INestApplication } from '@nestjs/common';
import {
  MqttService,
  MqttSubscribe,
  MqttWsModule,
  OnMqttEvent,
  Payload,
  type MqttClientConnectedEvent,
  type MqttClientEvent,
  type MqttSubscribedEvent,
  type MqttUnsubscribedEvent,
} from '../lib/index.js';
import { startApp } from './utils/app.js';
import { Collector, Deferred } from './utils/deferred.js';
import { TestClient } from './utils/mqtt-client.js';

const events = new Collector<string>();
let releaseSlowHandler = new Deferred();
const slowHandlerEntered = new Collector<string>();

@Injectable()
class BrokerEvents {
  @OnMqttEvent('client.connected')
  onConnected(event: MqttClientConnectedEvent) {
    events.push(`connected ${event.clientId} ${event.request?.url}`);
    if (event.will) events.push(`will ${event.clientId} ${event.will.topic}=${event.will.payload}`);
  }

  @OnMqttEvent('client.disconnected')
  onDisconnected(event: MqttClientEvent) {
    events.push(`disconnected ${event.clientId}`);
  }

  @OnMqttEvent('client.subscribed')
  onSubscribed(event: MqttSubscribedEvent) {
    events.push(`subscribed ${event.clientId} ${event.subscriptions.map((s) => `${s.topic}@${s.qos}`).join(',')}`);
  }

  @OnMqttEvent('client.unsubscribed')
  onUnsubscribed(event: MqttUnsubscribedEvent) {
    events.push(`unsubscribed ${event.clientId} ${event.topics.join(',')}`);
  }

  @MqttSubscribe('slow')
  async onSlow(@Payload() value: string) {
    slowHandlerEntered.push(value);
    await releaseSlowHandler.promise;
  }
}

describe('the embedded broker', () => {
  let app: INestApplication;
  let url: string;
  const clients: TestClient[] = [];
  const connect = async (clientId: string, options = {}) => {
    const client = await TestClient.connect(url, { clientId, ...options });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({ path: '/mqtt' })], providers: [BrokerEvents] }));
  });

  afterAll(async () => {
    releaseSlowHandler.resolve();
    await Promise.all(clients.map((client) => client.end(true)));
    await app.close();
  });

  it.each([0, 1, 2] as const)('delivers QoS %i messages between independent clients', async (qos) => {
    const subscriber = await connect(`sub-${qos}`);
    const publisher = await connect(`pub-${qos}`);
    await subscriber.subscribe(`chat/${qos}`, qos);
    for (let i = 0; i < 20; i++) await publisher.publish(`chat/${qos}`, `m${i}`, { qos });
    const received = await subscriber.waitFor(20, `chat/${qos}`);
    expect(received.map((m) => m.payload.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(received.every((m) => m.packet.qos === qos)).toBe(true);
  });

  it('keeps retained messages for later subscribers and replaces them', async () => {
    const publisher = await connect('retainer');
    await publisher.publish('status/door', 'open', { qos: 1, retain: true });
    await publisher.publish('status/door', 'closed', { qos: 1, retain: true });
    await app.get(MqttService).publish('status/window', 'tilted', { qos: 1, retain: true });
    const late = await connect('late-subscriber');
    await late.subscribe('status/+', 1);
    const received = await late.waitFor(2);
    expect(received.map((m) => `${m.topic}=${m.payload}`).sort()).toEqual(['status/door=closed', 'status/window=tilted']);
    expect(received.every((m) => m.packet.retain)).toBe(true);
  });

  it('delivers server publications to clients with the requested QoS and JSON-encodes objects', async () => {
    const subscriber = await connect('server-listener');
    await subscriber.subscribe('from-server/#', 2);
    const mqtt = app.get(MqttService);
    await mqtt.publish('from-server/json', { a: [1, 2] }, { qos: 2 });
    await mqtt.publish('from-server/text', 'plain');
    await mqtt.publish('from-server/bytes', Buffer.from([1, 2, 3]), { qos: 1 });
    const received = await subscriber.waitFor(3);
    // MQTT.js emits a QoS 2 message only after PUBREL, so arrival order across QoS levels is the client's.
    const byTopic = received.map((m) => [m.topic, m.payload.toString('hex'), m.packet.qos]).sort();
    expect(byTopic).toEqual([
      ['from-server/bytes', '010203', 1],
      ['from-server/json', Buffer.from('{"a":[1,2]}').toString('hex'), 2],
      ['from-server/text', Buffer.from('plain').toString('hex'), 0],
    ]);
  });

  it('refuses server publications to invalid topics', async () => {
    const mqtt = app.get(MqttService);
    await expect(mqtt.publish('a/+/b', 'x')).rejects.toThrow(/wildcards/);
    await expect(mqtt.publish('', 'x')).rejects.toThrow(/at least one character/);
    await expect(mqtt.publish('a\u0000b', 'x')).rejects.toThrow(/null character/);
    await expect(mqtt.publish('ok', 'x', { qos: 3 as 0 })).rejects.toThrow(/qos/);
  });

  it.each([1, 2] as const)('acknowledges a QoS %i PUBLISH only after the in-process handlers finished', async (qos) => {
    releaseSlowHandler = new Deferred();
    const entered = slowHandlerEntered.items.length;
    const publisher = await connect(`slow-publisher-${qos}`);
    let acknowledged = false;
    const publishing = publisher.publish('slow', '"x"', { qos }).then(() => (acknowledged = true));
    await slowHandlerEntered.waitFor(entered + 1);
    // The handler is running and holds the acknowledgement; a round trip on another client proves
    // the broker itself is not blocked meanwhile.
    const other = await connect(`other-client-${qos}`);
    await other.subscribe('ping', 0);
    await other.publish('ping', 'pong');
    await other.waitFor(1, 'ping');
    expect(acknowledged).toBe(false);
    releaseSlowHandler.resolve();
    await publishing;
    expect(acknowledged).toBe(true);
  });

  it('reports client lifecycle events with the upgrade request', async () => {
    const client = await connect('watched', { will: { topic: 'wills/watched', payload: Buffer.from('gone'), qos: 1, retain: false } });
    await client.subscribe(['a/b', 'c/#'], 1);
    await client.client.unsubscribeAsync('a/b');
    await client.end();
    // Ending a clean session removes its remaining subscriptions, which is reported too.
    const expected = [
      'connected watched /mqtt',
      'will watched wills/watched=gone',
      'subscribed watched a/b@1,c/#@1',
      'unsubscribed watched a/b',
      'disconnected watched',
      'unsubscribed watched c/#',
    ];
    const all = await events.waitFor(events.items.indexOf('connected watched /mqtt') + expected.length);
    expect(all.filter((event) => event.includes(' watched'))).toEqual(expected);
  });
});
