import 'reflect-metadata';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { MqttWsModule, type MqttWsModuleOptions } from '../../lib/index.js';
import { MqttRedisHealth } from '../../lib/cluster/redis-health.js';
import { MqttHealthIndicator } from '../../lib/terminus/index.js';
import { MqttWsListener } from '../../lib/transport/mqtt-ws.listener.js';
import { describeWithRedis, RedisServer } from '../cluster/utils/redis-server.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly mqtt: MqttHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.mqtt.isHealthy('mqtt')]);
  }
}

interface MqttDetails {
  status: 'up' | 'down';
  listeners: { url: string | null; up: boolean }[];
  clients: number;
  redis: string;
  redisError?: string;
}

async function startWithHealth(options: MqttWsModuleOptions) {
  const started = await startApp({
    imports: [TerminusModule.forRoot({ logger: false }), MqttWsModule.forRoot(options)],
    controllers: [HealthController],
    providers: [MqttHealthIndicator],
  });
  const check = async (): Promise<{ status: number; mqtt: MqttDetails }> => {
    const response = await fetch(`http://127.0.0.1:${started.port}/health`);
    const body = (await response.json()) as { details: { mqtt: MqttDetails } };
    return { status: response.status, mqtt: body.details.mqtt };
  };
  return { ...started, check };
}

describe('MqttHealthIndicator on a Terminus health endpoint', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('is up with the listener on the app port, and counts the connected clients', async () => {
    const started = await startWithHealth({});
    app = started.app;
    const client = await TestClient.connect(started.url, { clientId: 'healthy' });
    expect(await started.check()).toEqual({
      status: 200,
      mqtt: { status: 'up', listeners: [{ url: started.url, up: true }], clients: 1, redis: 'disabled' },
    });
    await client.end();
  });

  it('is down (503) when the dedicated MQTT port stopped listening', async () => {
    const started = await startWithHealth({ port: 0, host: '127.0.0.1' });
    app = started.app;
    const before = await started.check();
    expect(before.status).toBe(200);
    expect(before.mqtt.listeners[0]).toEqual({ url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/), up: true });

    // The dedicated server closes (its port lost), while the app's HTTP server keeps answering.
    const server = (app.get(MqttWsListener) as unknown as { dedicatedServer: Server }).dedicatedServer;
    await new Promise((resolve) => server.close(resolve));
    expect(await started.check()).toEqual({
      status: 503,
      mqtt: { status: 'down', listeners: [{ url: null, up: false }], clients: 0, redis: 'disabled' },
    });
  });

  it('is only loaded from nestjs-mqtt-ws/terminus: nothing else in dist imports @nestjs/terminus', () => {
    const dist = join(process.cwd(), 'dist');
    const importers = (readdirSync(dist, { recursive: true }) as string[])
      .filter((file) => file.endsWith('.js') && readFileSync(join(dist, file), 'utf8').includes('@nestjs/terminus'))
      .sort();
    expect(importers).toEqual([join('terminus', 'mqtt-health.indicator.js')]);
    const exportsMap = JSON.parse(readFileSync('package.json', 'utf8')).exports;
    expect(exportsMap['./terminus'].import).toBe('./dist/terminus/index.js');
  });
});

describeWithRedis('MqttHealthIndicator in a cluster', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await RedisServer.start();
  }, 30_000);

  afterAll(() => redis?.stop());

  it('is down while Redis is down, and up again when it is back', async () => {
    const { app, check } = await startWithHealth({ redis: { url: redis.url, keyPrefix: 'terminus:' } });
    const health = app.get(MqttRedisHealth);
    const next = (state: 'up' | 'down') => new Promise<void>((resolve) => health.onChange((event) => event.redis === state && resolve()));
    expect(await check()).toMatchObject({ status: 200, mqtt: { status: 'up', redis: 'up' } });

    const down = next('down');
    await redis.stopProcess();
    await down;
    const during = await check();
    expect(during).toMatchObject({ status: 503, mqtt: { status: 'down', redis: 'down', listeners: [{ up: true }] } });

    const up = next('up');
    await redis.startProcess();
    await up;
    expect(await check()).toMatchObject({ status: 200, mqtt: { status: 'up', redis: 'up' } });
    await app.close();
  }, 60_000);
});
