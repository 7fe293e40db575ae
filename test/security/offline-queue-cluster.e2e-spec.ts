/**
 * maxQueuedMessages with two instances in this process on one private Redis: each instance bounds
 * what is published through it, and none drops a message for a session connected elsewhere.
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { MqttBroker } from '../../lib/broker/mqtt-broker.js';
import type { IPublishPacket } from 'mqtt-packet';
import { MqttService, MqttWsModule } from '../../lib/index.js';
import { describeWithRedis, RedisServer } from '../cluster/utils/redis-server.js';
import { ProtocolClient } from '../protocol/protocol-client.js';
import { LogRecorder } from '../sample/sample-app.js';
import { startApp } from '../utils/app.js';
import { goOffline, payloads, receive } from './utils/persistent-sessions.js';
import { brokerOf } from '../utils/broker.js';

const LIMIT = 3;

interface Instance {
  app: INestApplication;
  url: string;
  broker: MqttBroker;
  mqtt: MqttService;
}

describeWithRedis('maxQueuedMessages with several instances on Redis', () => {
  let redis: RedisServer;
  let a: Instance;
  let b: Instance;
  // One logger for the process: both instances write to it.
  const logs = new LogRecorder();
  const open: ProtocolClient[] = [];

  const start = async (): Promise<Instance> => {
    // The policy lets the watchers read the instances' $SYS signals, which nobody reads by default.
    const options = { redis: { url: redis.url, keyPrefix: 'offline-queue:' }, maxQueuedMessages: LIMIT, auth: { useValue: { authorizeSubscribe: () => true } } };
    const { app, url } = await startApp({ imports: [MqttWsModule.forRoot(options)] }, (app) => app.useLogger(logs));
    return { app, url, broker: brokerOf(app), mqtt: app.get(MqttService) };
  };
  const connect = async (instance: Instance, clientId: string, clean = false) => {
    const { client } = await ProtocolClient.connect(instance.url, { clientId, clean });
    open.push(client);
    return client;
  };
  const subscribe = (client: ProtocolClient, topic: string) => client.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
  const publish = async (instance: Instance, topic: string, count: number, prefix: string) => {
    for (let i = 0; i < count; i++) await instance.mqtt.publish(topic, `${prefix}${i}`, { qos: 1 });
  };
  /** A client on `instance` that sees the signals the instances exchange on `$SYS/+/<signal>`. */
  const watch = async (instance: Instance, signal: 'offline/sessions' | 'authenticated/clients') => {
    const watcher = await connect(instance, `watcher-${signal}-${open.length}`, true);
    await subscribe(watcher, `$SYS/+/${signal}`);
    return {
      /** Resolves once `instance` has received the signal for `clientId` from another instance. */
      async seen(clientId: string, from: Instance): Promise<void> {
        for (;;) {
          const packet = (await watcher.next(5000)) as IPublishPacket | undefined;
          if (!packet) throw new Error(`no ${signal} signal for ${clientId}`);
          if (packet.payload.toString() === clientId && packet.topic.startsWith(`$SYS/${from.broker.id}/`)) return;
        }
      },
    };
  };
  const warnings = (clientId: string) => logs.messages('warn').filter((message) => message.includes(`"${clientId}"`) && message.includes('maxQueuedMessages'));

  beforeAll(async () => {
    redis = await RedisServer.start();
    a = await start();
    b = await start();
  }, 30_000);

  afterAll(async () => {
    await Promise.all(open.map((client) => client.drop()));
    await Promise.all([a?.app.close(), b?.app.close()]);
    await redis?.stop();
  });

  it('lets each instance queue maxQueuedMessages for a session that went offline from another', async () => {
    const offline = await watch(b, 'offline/sessions');
    const subscriber = await connect(a, 'spread');
    await subscribe(subscriber, 'spread/#');
    await goOffline(a.broker, subscriber, 'spread');
    await offline.seen('spread', a);

    await publish(a, 'spread/a', LIMIT + 2, 'a');
    await publish(b, 'spread/b', LIMIT + 2, 'b');
    const back = await connect(b, 'spread');
    expect(await receive(back, 2 * LIMIT)).toEqual([...payloads(LIMIT, 'a'), ...payloads(LIMIT, 'b')]);
    await a.mqtt.publish('spread/a', 'live', { qos: 1 });
    expect(await receive(back, 1)).toEqual(['live']);
    expect(warnings('spread')).toHaveLength(2);
  });

  it('stops counting on every instance once the session is connected again anywhere', async () => {
    const offline = await watch(b, 'offline/sessions');
    const authenticated = await watch(b, 'authenticated/clients');
    const roaming = await connect(a, 'roaming');
    await subscribe(roaming, 'roaming/#');
    await goOffline(a.broker, roaming, 'roaming');
    await offline.seen('roaming', a);
    // B's count for it is full.
    await publish(b, 'roaming/fill', LIMIT + 1, 'fill');
    const bystander = await connect(b, 'bystander');
    await subscribe(bystander, 'roaming/live');
    await goOffline(b.broker, bystander, 'bystander');

    const back = await connect(a, 'roaming');
    await authenticated.seen('roaming', a);
    expect(await receive(back, LIMIT)).toEqual(payloads(LIMIT, 'fill'));
    const live = receive(back, LIMIT + 1);
    await publish(b, 'roaming/live', LIMIT + 1, 'live');
    expect(await live).toEqual(payloads(LIMIT + 1, 'live'));
    // Had B dropped them from the connected session's queue, its acknowledgements would have
    // removed the stored messages from the bystander's queue too.
    const bystanderBack = await connect(b, 'bystander');
    expect(await receive(bystanderBack, LIMIT)).toEqual(payloads(LIMIT, 'live'));
  });

  it('does not count a session taken over by a connection to another instance', async () => {
    const authenticated = await watch(a, 'authenticated/clients');
    const first = await connect(a, 'moved');
    await subscribe(first, 'moved/#');
    const second = await connect(b, 'moved');
    await authenticated.seen('moved', b);
    await first.closed;
    const delivered = receive(second, LIMIT + 2);
    await publish(a, 'moved/x', LIMIT + 2, 'x');
    expect(await delivered).toEqual(payloads(LIMIT + 2, 'x'));
    expect(warnings('moved')).toEqual([]);
  });
});
