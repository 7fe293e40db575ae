import 'reflect-metadata';
import { Injectable, type INestApplication } from '@nestjs/common';
import type { Socket } from 'node:net';
import mqtt from 'mqtt';
import { Registry, register as defaultRegistry } from 'prom-client';
import type { MqttBroker, MqttClientInfo } from '../../lib/broker/mqtt-broker.js';
import { MqttService, MqttSubscribe, MqttWsModule, type MqttAuthPolicy, type MqttConnectAuthContext } from '../../lib/index.js';
import { loadPromClient } from '../../lib/metrics/prom-client.loader.js';
import { MQTT_METRICS, MQTT_STATISTICS } from '../../lib/metrics/mqtt-metrics.providers.js';
import { MqttMessageDispatcher } from '../../lib/dispatch/mqtt-message.dispatcher.js';
import { ProtocolClient } from '../protocol/protocol-client.js';
import { goOffline } from '../security/utils/persistent-sessions.js';
import { startApp } from '../utils/app.js';
import { brokerOf } from '../utils/broker.js';
import { TestClient } from '../utils/mqtt-client.js';
import { RawMqttSocket } from '../utils/raw-mqtt-socket.js';

@Injectable()
class Jobs {
  @MqttSubscribe('jobs/ok')
  ok(): void {}

  @MqttSubscribe('jobs/fail')
  fail(): void {
    throw new Error('this job fails');
  }
}

@Injectable()
class NoIntruders implements MqttAuthPolicy {
  authenticate({ username }: MqttConnectAuthContext) {
    return username !== 'intruder';
  }
}

type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

async function samples(registry: Registry, name: string): Promise<Sample[]> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  return (await metric.get()).values as Sample[];
}

/** The value of the sample with these labels (0 when it has none yet). */
async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const found = (await samples(registry, name)).find(
    (sample) => !sample.metricName?.endsWith('_bucket') && Object.entries(labels).every(([key, wanted]) => String(sample.labels[key]) === wanted),
  );
  return found?.value ?? 0;
}

function disconnectedOnce(broker: MqttBroker, clientId: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (client: MqttClientInfo) => {
      if (client.id !== clientId) return;
      broker.off('clientDisconnected', listener);
      resolve();
    };
    broker.on('clientDisconnected', listener);
  });
}

describe('metrics: a known sequence of connects, publishes and refusals', () => {
  let app: INestApplication;
  let url: string;
  let registry: Registry;
  const open: TestClient[] = [];

  beforeAll(async () => {
    registry = new Registry();
    ({ app, url } = await startApp({
      imports: [MqttWsModule.forRoot({ metrics: { registry }, auth: NoIntruders, maxQueuedMessages: 2 })],
      providers: [Jobs, NoIntruders],
    }));
  });

  afterAll(async () => {
    await Promise.all(open.map((client) => client.end(true)));
    await app.close();
  });

  it('counts connections by outcome, messages by QoS, deliveries, bytes, subscriptions and handler runs', async () => {
    const subscriber = await TestClient.connect(url, { clientId: 'subscriber' });
    const publisher = await TestClient.connect(url, { clientId: 'publisher' });
    open.push(subscriber, publisher);
    await expect(TestClient.connect(url, { clientId: 'x', username: 'intruder', password: 'x' })).rejects.toThrow();
    // A WebSocket handshake refused (403, a foreign origin) is a refused ws connection too.
    await expect(RawMqttSocket.open(url, 'mqtt', { Origin: 'http://elsewhere.example' })).rejects.toThrow(/403/);
    await subscriber.subscribe(['data/#', 'other/+'], 1);

    await publisher.publish('data/a', 'zero', { qos: 0 });
    await publisher.publish('data/b', 'zero', { qos: 0 });
    await publisher.publish('data/c', 'one', { qos: 1 });
    await subscriber.waitFor(3);
    // QoS 1: the handlers run before the PUBACK, so their durations are in once these resolve.
    await publisher.publish('jobs/ok', '{}', { qos: 1 });
    await publisher.publish('jobs/fail', '{}', { qos: 1 });

    expect(await value(registry, 'mqtt_connections_total', { transport: 'ws', outcome: 'accepted' })).toBe(2);
    expect(await value(registry, 'mqtt_connections_total', { transport: 'ws', outcome: 'refused' })).toBe(2);
    expect(await value(registry, 'mqtt_clients_connected', { transport: 'ws' })).toBe(2);
    expect(await value(registry, 'mqtt_clients_connected', { transport: 'tcp' })).toBe(0);
    expect(await value(registry, 'mqtt_messages_received_total', { qos: '0' })).toBe(2);
    expect(await value(registry, 'mqtt_messages_received_total', { qos: '1' })).toBe(3);
    expect(await value(registry, 'mqtt_messages_sent_total', { qos: '0' })).toBe(2);
    expect(await value(registry, 'mqtt_messages_sent_total', { qos: '1' })).toBe(1);
    expect(await value(registry, 'mqtt_subscriptions')).toBe(2);
    expect(await value(registry, 'mqtt_handler_duration_seconds', { handler: 'Jobs.ok', outcome: 'ok' })).toBeGreaterThan(0);
    const counts = (await samples(registry, 'mqtt_handler_duration_seconds')).filter((sample) => sample.metricName?.endsWith('_count'));
    expect(counts.map(({ labels, value }) => [labels.handler, labels.outcome, value]).sort()).toEqual([
      ['Jobs.fail', 'error', 1],
      ['Jobs.ok', 'ok', 1],
    ]);
    // Bytes are MQTT bytes: a QoS 0 PUBLISH of "zero" on "data/a" is 2 + 2 + 6 + 4 = 14 of them.
    const received = await value(registry, 'mqtt_bytes_received_total');
    const sent = await value(registry, 'mqtt_bytes_sent_total');
    expect(received).toBeGreaterThan(3 * 14);
    expect(sent).toBeGreaterThan(2 * 14);

    // A scrape reports what happened since the last one, once.
    await publisher.publish('data/d', 'zero', { qos: 0 });
    await subscriber.waitFor(4);
    expect(await value(registry, 'mqtt_messages_received_total', { qos: '0' })).toBe(3);
    expect(await value(registry, 'mqtt_messages_received_total', { qos: '0' })).toBe(3);
    expect(await value(registry, 'mqtt_bytes_received_total')).toBe(received + 14);

    const gone = disconnectedOnce(brokerOf(app), 'subscriber');
    await subscriber.end();
    await gone;
    expect(await value(registry, 'mqtt_clients_connected', { transport: 'ws' })).toBe(1);
    expect(await value(registry, 'mqtt_subscriptions')).toBe(0);
  });

  it("prints the handler-duration histogram as prom-client's own Histogram would, and resets it with the registry", async () => {
    const publisher = await TestClient.connect(url, { clientId: 'histogram-publisher' });
    open.push(publisher);
    await publisher.publish('jobs/ok', '{}', { qos: 1 });
    const sample = async (suffix: string) =>
      (await samples(registry, 'mqtt_handler_duration_seconds')).find(
        (s) => s.metricName === `mqtt_handler_duration_seconds${suffix}` && s.labels.handler === 'Jobs.ok' && s.labels.outcome === 'ok',
      )?.value ?? 0;
    const count = await sample('_count');
    const sum = await sample('_sum');
    expect(count).toBeGreaterThan(0);
    // prom-client's Histogram with the same runs, each taking the mean: the same lines, in the same order.
    const reference = new Registry();
    const histogram = new (await import('prom-client')).Histogram({
      name: 'mqtt_handler_duration_seconds',
      help: 'Time an @MqttSubscribe handler took (guards, interceptors and pipes included), by handler and outcome',
      labelNames: ['handler', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [reference],
    });
    const ours = (await registry.getSingleMetricAsString('mqtt_handler_duration_seconds')).split('\n');
    for (let i = 0; i < count; i++) histogram.labels('Jobs.ok', 'ok').observe(sum / count);
    const theirs = (await reference.getSingleMetricAsString('mqtt_handler_duration_seconds')).split('\n');
    // Same header, same series and label order; the _count and _sum lines agree.
    expect(ours.slice(0, 2)).toEqual(theirs.slice(0, 2));
    const shape = (lines: string[]) => lines.filter((l) => l.includes('Jobs.ok')).map((l) => l.replace(/ [\d.e+-]+$/, ''));
    expect(shape(ours)).toEqual(shape(theirs));
    const line = (lines: string[], suffix: string) => lines.find((l) => l.startsWith(`mqtt_handler_duration_seconds${suffix}{handler="Jobs.ok",outcome="ok"}`));
    expect(line(ours, '_count')).toEqual(line(theirs, '_count'));
    expect(Number(line(ours, '_sum')!.split(' ').pop())).toBeCloseTo(Number(line(theirs, '_sum')!.split(' ').pop()), 9);

    registry.resetMetrics();
    expect(await sample('_count')).toBe(0);
    await publisher.publish('jobs/ok', '{}', { qos: 1 });
    expect(await sample('_count')).toBe(1);
  });

  it('counts the messages dropped for an offline session over maxQueuedMessages', async () => {
    const { client: away } = await ProtocolClient.connect(url, { clientId: 'away', clean: false });
    await away.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'queue/#', qos: 1 }] });
    await goOffline(brokerOf(app), away, 'away');
    const mqtt = app.get(MqttService);
    for (let i = 0; i < 5; i++) await mqtt.publish('queue/x', `${i}`, { qos: 1 });
    expect(await value(registry, 'mqtt_messages_dropped_total', { reason: 'queue_limit' })).toBe(3);
    expect(await value(registry, 'mqtt_messages_dropped_total', { reason: 'slow_consumer' })).toBe(0);
    expect(await value(registry, 'mqtt_messages_dropped_total', { reason: 'expiry' })).toBe(0);
  });
});

describe('metrics and $SYS off (the default)', () => {
  it('installs nothing: no statistics (so no hook stage), no handler observer, nothing registered', async () => {
    const { app } = await startApp({ imports: [MqttWsModule.forRoot()], providers: [Jobs] });
    expect(app.get(MQTT_STATISTICS)).toBeNull();
    expect(app.get(MQTT_METRICS)).toBeNull();
    expect(app.get(MqttMessageDispatcher).handlerObserver).toBeNull();
    expect(await defaultRegistry.getMetricsAsJSON()).toEqual([]);
    await app.close();
  });
});

describe('metrics: a subscriber that stops reading', () => {
  it('counts the delivery dropped when it is disconnected (slow_consumer)', async () => {
    const registry = new Registry();
    const { app, url } = await startApp({ imports: [MqttWsModule.forRoot({ metrics: { registry }, maxBufferedBytes: 64 * 1024 })] });
    const slow = await RawMqttSocket.open(url);
    slow.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'slow', keepalive: 0 });
    await slow.waitForPackets(1);
    slow.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood/#', qos: 0 }] });
    await slow.waitForPackets(2);
    (slow.socket as unknown as { _socket: Socket })._socket.pause();
    let gone = false;
    const disconnected = disconnectedOnce(brokerOf(app), 'slow').then(() => (gone = true));
    const flooder = await TestClient.connect(url, { clientId: 'flooder' });
    const payload = Buffer.alloc(64 * 1024, 1);
    for (let i = 0; !gone && i < 5000; i++) await flooder.publish(`flood/${i}`, payload, { qos: 1 });
    await disconnected;
    expect(await value(registry, 'mqtt_messages_dropped_total', { reason: 'slow_consumer' })).toBeGreaterThanOrEqual(1);
    slow.socket.terminate();
    await flooder.end();
    await app.close();
  });
});

describe('metrics: registries and prefixes', () => {
  it('puts the prefix before every name', async () => {
    const registry = new Registry();
    const { app } = await startApp({ imports: [MqttWsModule.forRoot({ metrics: { registry, prefix: 'edge_' } })] });
    const names = (await registry.getMetricsAsJSON()).map((metric) => metric.name).sort();
    expect(names).toEqual([
      'edge_mqtt_bytes_received_total',
      'edge_mqtt_bytes_sent_total',
      'edge_mqtt_clients_connected',
      'edge_mqtt_connections_total',
      'edge_mqtt_handler_duration_seconds',
      'edge_mqtt_messages_dropped_total',
      'edge_mqtt_messages_received_total',
      'edge_mqtt_messages_sent_total',
      'edge_mqtt_subscriptions',
    ]);
    expect(await registry.metrics()).toContain('edge_mqtt_clients_connected{transport="ws"} 0');
    await app.close();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
  });

  it("uses prom-client's default registry with metrics: true, refuses a second app there while the first runs, and frees it on close", async () => {
    const first = await startApp({ imports: [MqttWsModule.forRoot({ metrics: true })] });
    expect(defaultRegistry.getSingleMetric('mqtt_messages_received_total')).toBeDefined();
    await expect(startApp({ imports: [MqttWsModule.forRoot({ metrics: true })] })).rejects.toThrow(
      /"mqtt_clients_connected" is already registered in prom-client's default registry.*"metrics.registry".*"metrics.prefix"/,
    );
    // Two apps side by side: one of them with a prefix.
    const second = await startApp({ imports: [MqttWsModule.forRoot({ metrics: { prefix: 'second_' } })] });
    expect(defaultRegistry.getSingleMetric('second_mqtt_messages_received_total')).toBeDefined();
    await second.app.close();
    await first.app.close();
    expect(defaultRegistry.getSingleMetric('mqtt_messages_received_total')).toBeUndefined();
    const again = await startApp({ imports: [MqttWsModule.forRoot({ metrics: true })] });
    expect(defaultRegistry.getSingleMetric('mqtt_messages_received_total')).toBeDefined();
    await again.app.close();
  });

  it('fails at start-up on a bad metrics option, naming it', async () => {
    await expect(startApp({ imports: [MqttWsModule.forRoot({ metrics: { prefix: '1x' } })] })).rejects.toThrow(/"metrics.prefix" must be/);
    await expect(startApp({ imports: [MqttWsModule.forRoot({ metrics: { registry: {} } })] })).rejects.toThrow(/"metrics.registry" must be a prom-client Registry/);
    await expect(startApp({ imports: [MqttWsModule.forRoot({ metrics: 'yes' as never })] })).rejects.toThrow(/"metrics" must be/);
  });

  it('names the missing package and its install command when prom-client cannot be loaded', async () => {
    // The loader the metrics provider uses, given a package that does not resolve.
    await expect(loadPromClient({ name: 'prom-client-not-installed', range: '^15.1.0' })).rejects.toThrow(
      'MqttWsModule: the "metrics" option needs prom-client-not-installed, optional dependencies the app installs itself: npm install prom-client-not-installed@^15.1.0',
    );
    expect((await loadPromClient()).Counter).toBeDefined();
  });
});

describe('metrics: MQTT over TCP', () => {
  it('counts the bytes and clients of a tcp listener beside those of WebSocket', async () => {
    const registry = new Registry();
    const { app } = await startApp({ imports: [MqttWsModule.forRoot({ metrics: { registry }, tcp: { port: 0, host: '127.0.0.1' } })] });
    try {
      const tcp = app.get(MqttService).endpoints().find((endpoint) => endpoint.startsWith('mqtt://'))!;
      const before = await value(registry, 'mqtt_bytes_received_total');
      const client = await mqtt.connectAsync(tcp, { clientId: 'tcp-counted', reconnectPeriod: 0 });
      try {
        expect(await value(registry, 'mqtt_clients_connected', { transport: 'tcp' })).toBe(1);
        const afterConnect = await value(registry, 'mqtt_bytes_received_total');
        expect(afterConnect).toBeGreaterThan(before);
        // A QoS 0 PUBLISH of "zero" on "data/a" is 2 + 2 + 6 + 4 = 14 MQTT bytes; a PINGREQ after it fences it.
        await client.publishAsync('data/a', 'zero', { qos: 0 });
        await new Promise<void>((resolve) => {
          client.once('packetreceive', () => resolve());
          client.sendPing();
        });
        expect(await value(registry, 'mqtt_bytes_received_total')).toBe(afterConnect + 14 + 2);
        expect(await value(registry, 'mqtt_bytes_sent_total')).toBeGreaterThanOrEqual(4 + 2);
      } finally {
        await client.endAsync();
      }
    } finally {
      await app.close();
    }
  });
});
