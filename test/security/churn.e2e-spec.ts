import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { Aedes } from 'aedes';
import { MqttWsModule } from '../../lib/index.js';
import { MqttWsListener } from '../../lib/transport/mqtt-ws.listener.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';
import { RawMqttSocket } from '../utils/raw-mqtt-socket.js';
import { aedesOf } from '../utils/broker.js';

const CYCLES = Number(process.env.CHURN_CYCLES ?? 600);
const CONCURRENT = 8;

interface Counts {
  clients: number;
  connected: number;
  sockets: number;
  subscriptions: number;
  offline: { subsCount: number; clientsCount: number };
  listeners: Record<string, number>;
}

describe(`connection churn (${CYCLES} cycles)`, () => {
  let app: INestApplication;
  let url: string;
  let broker: Aedes;

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({})] }));
    broker = aedesOf(app);
  });

  afterAll(() => app.close());

  const counts = async (): Promise<Counts> => {
    const internals = broker as unknown as { mq: unknown; persistence: unknown; clients: Record<string, unknown> };
    const matcher = (internals.mq as unknown as { _matcher: { match(topic: string): unknown[] } })._matcher;
    const persistence = internals.persistence as { countOffline(): Promise<{ subsCount: number; clientsCount: number }> };
    return {
      clients: Object.keys(internals.clients).length,
      connected: broker.connectedClients,
      sockets: app.get(MqttWsListener).connectionCount,
      subscriptions: matcher.match('churn/common').length + matcher.match('churn/7/x').length,
      offline: await persistence.countOffline(),
      listeners: Object.fromEntries(broker.eventNames().map((name) => [String(name), broker.listenerCount(name)])),
    };
  };

  it('returns to its baseline of clients, sockets, subscriptions and listeners', async () => {
    const baseline = await counts();
    const heapBefore = process.memoryUsage().heapUsed;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < CYCLES) {
        const i = next++;
        if (i % 4 === 3) {
          // An abrupt end: no DISCONNECT, the socket just goes.
          const raw = await RawMqttSocket.open(url);
          await raw.connect(`churn-raw-${i}`);
          raw.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'churn/common', qos: 1 }] });
          await raw.waitForPackets(2);
          await raw.close();
          continue;
        }
        const client = await TestClient.connect(url, { clientId: `churn-${i}` });
        await client.subscribe(['churn/common', `churn/${i % 10}/#`], 1);
        await client.publish(`churn/${i % 10}/x`, 'x', { qos: 1 });
        await client.waitFor(1);
        await client.end();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENT }, worker));

    // Aedes finishes a client's clean-up after its socket closed: wait for the last one.
    while (broker.connectedClients > baseline.connected) {
      await new Promise((resolve) => broker.once('clientDisconnect', resolve));
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(await counts()).toEqual(baseline);
    // Loose: without --expose-gc the heap is only roughly comparable.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  }, 60_000);
});
