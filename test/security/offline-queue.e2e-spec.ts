import 'reflect-metadata';
import type { MqttBroker } from '../../lib/broker/mqtt-broker.js';
import { MqttService, MqttWsModule } from '../../lib/index.js';
import { ProtocolClient } from '../protocol/protocol-client.js';
import { LogRecorder } from '../sample/sample-app.js';
import { startApp } from '../utils/app.js';
import { goOffline, payloads, receive } from './utils/persistent-sessions.js';
import { brokerOf } from '../utils/broker.js';

const LIMIT = 5;

/** An app with the given limit, its log, and helpers for persistent subscribers. */
async function startBroker(maxQueuedMessages?: number) {
  const logs = new LogRecorder();
  const options = maxQueuedMessages === undefined ? {} : { maxQueuedMessages };
  const { app, url } = await startApp({ imports: [MqttWsModule.forRoot(options)] }, (app) => app.useLogger(logs));
  const broker = brokerOf(app);
  const mqtt = app.get(MqttService);
  const open: ProtocolClient[] = [];

  const connect = async (clientId: string, clean = false) => {
    const { client, connack } = await ProtocolClient.connect(url, { clientId, clean });
    open.push(client);
    return { client, connack };
  };
  const publish = async (topic: string, count: number, from = 0) => {
    for (let i = from; i < from + count; i++) await mqtt.publish(topic, `${i}`, { qos: 1 });
  };
  /** Proves the queue held nothing more: a message published now is the next one to arrive. */
  const expectNothingMoreQueued = async (client: ProtocolClient, topic: string) => {
    await mqtt.publish(topic, 'live', { qos: 1 });
    expect(await receive(client, 1)).toEqual(['live']);
  };
  const warnings = (clientId: string) => logs.messages('warn').filter((message) => message.includes(`"${clientId}"`) && message.includes('maxQueuedMessages'));
  const close = async () => {
    await Promise.all(open.map((client) => client.drop()));
    await app.close();
  };
  return { broker, connect, goOffline: (client: ProtocolClient, clientId: string) => goOffline(broker, client, clientId), publish, expectNothingMoreQueued, warnings, close };
}

describe('maxQueuedMessages: the queue of an offline persistent session', () => {
  let app: Awaited<ReturnType<typeof startBroker>>;

  beforeAll(async () => {
    app = await startBroker(LIMIT);
  });

  afterAll(() => app.close());

  it('keeps the first maxQueuedMessages QoS 1 messages, drops the rest with one warning, and leaves connected sessions alone', async () => {
    const { connect, goOffline, publish, expectNothingMoreQueued, warnings } = app;
    const { client: away } = await connect('away');
    await away.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'queue/one', qos: 1 }] });
    const { client: online } = await connect('online');
    await online.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'queue/one', qos: 1 }] });
    await goOffline(away, 'away');

    const sent = LIMIT + 3;
    const delivered = receive(online, sent);
    await publish('queue/one', sent);
    expect(await delivered).toEqual(payloads(sent));
    expect(warnings('away')).toHaveLength(1);
    expect(warnings('away')[0]).not.toContain('queue/one');

    const { client: back, connack } = await connect('away');
    expect(connack.sessionPresent).toBe(true);
    expect(await receive(back, LIMIT)).toEqual(payloads(LIMIT));
    await expectNothingMoreQueued(back, 'queue/one');
  });

  it('starts counting again after a reconnection, with one warning per offline period', async () => {
    const { connect, goOffline, publish, expectNothingMoreQueued, warnings } = app;
    const { client: first } = await connect('periodic');
    await first.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'queue/periodic/#', qos: 2 }] });
    await goOffline(first, 'periodic');
    await publish('queue/periodic/a', LIMIT + 1);

    const { client: second } = await connect('periodic');
    expect(await receive(second, LIMIT)).toEqual(payloads(LIMIT));
    await expectNothingMoreQueued(second, 'queue/periodic/a');
    await goOffline(second, 'periodic');
    await publish('queue/periodic/b', LIMIT + 2, 100);

    const { client: third } = await connect('periodic');
    expect(await receive(third, LIMIT)).toEqual(payloads(LIMIT, '', 100));
    await expectNothingMoreQueued(third, 'queue/periodic/b');
    expect(warnings('periodic')).toHaveLength(2);
  });

  it('does not count a session whose connection another one took over', async () => {
    const { connect, publish } = app;
    const { client: replaced } = await connect('taken-over');
    await replaced.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'queue/takeover', qos: 1 }] });
    const { client: current } = await connect('taken-over');
    await replaced.closed;
    const delivered = receive(current, LIMIT + 2);
    await publish('queue/takeover', LIMIT + 2);
    expect(await delivered).toEqual(payloads(LIMIT + 2));
  });

  it('forgets the count of a session cleaned by a clean-session connection', async () => {
    const { connect, goOffline, publish, expectNothingMoreQueued } = app;
    const { client: persistent } = await connect('cleaned');
    await persistent.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'queue/cleaned', qos: 1 }] });
    await goOffline(persistent, 'cleaned');
    await publish('queue/cleaned', LIMIT + 1);
    const { client: clean } = await connect('cleaned', true);
    await goOffline(clean, 'cleaned');

    const { client: again, connack } = await connect('cleaned');
    expect(connack.sessionPresent).toBe(false);
    await again.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'queue/cleaned', qos: 1 }] });
    await goOffline(again, 'cleaned');
    await publish('queue/cleaned', LIMIT, 200);
    const { client: resumed } = await connect('cleaned');
    expect(await receive(resumed, LIMIT)).toEqual(payloads(LIMIT, '', 200));
    await expectNothingMoreQueued(resumed, 'queue/cleaned');
  });
});

describe('maxQueuedMessages: default and 0', () => {
  it('keeps 1000 messages by default, and all of them with 0', async () => {
    for (const [limit, kept] of [
      [undefined, 1000],
      [0, 1010],
    ] as const) {
      const app = await startBroker(limit);
      try {
        const { client } = await app.connect('default');
        await client.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'queue/default', qos: 1 }] });
        await app.goOffline(client, 'default');
        await app.publish('queue/default', 1010);
        const { client: back } = await app.connect('default');
        expect(await receive(back, kept)).toEqual(payloads(kept));
        await app.expectNothingMoreQueued(back, 'queue/default');
      } finally {
        await app.close();
      }
    }
  });

  it('names the option when it is not a non-negative integer', async () => {
    for (const value of [-1, 1.5, '10']) {
      await expect(startApp({ imports: [MqttWsModule.forRoot({ maxQueuedMessages: value as number })] })).rejects.toThrow(/"maxQueuedMessages"/);
    }
  });
});
