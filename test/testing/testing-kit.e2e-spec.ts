// The testing kit used exactly as an app's own test suite uses it: by the package's names.
import 'reflect-metadata';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MqttService, MqttSubscribe, MqttWsModule, Params, Payload, type MqttWsModuleOptions } from 'nestjs-mqtt-ws';
import { MqttTestClient } from 'nestjs-mqtt-ws/testing';

@Injectable()
class OrdersHandler {
  constructor(private readonly mqtt: MqttService) {}

  @MqttSubscribe('orders/:id/placed')
  async onPlaced(@Params('id') id: string, @Payload() order: { items: number }) {
    await this.mqtt.publish(`orders/${id}/accepted`, { id, items: order.items }, { qos: 1 });
  }
}

function ordersModule(options: MqttWsModuleOptions = {}) {
  @Module({ imports: [MqttWsModule.forRoot(options)], providers: [OrdersHandler] })
  class OrdersModule {}
  return OrdersModule;
}

async function startApp(options?: MqttWsModuleOptions, listen = true): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [ordersModule(options)] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  if (listen) await app.listen(0, '127.0.0.1');
  else await app.init();
  return app;
}

describe('MqttTestClient on the app\'s own port', () => {
  let app: INestApplication;
  let client: MqttTestClient;

  beforeAll(async () => {
    app = await startApp();
    client = await MqttTestClient.connect(app);
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
  });

  it('publishes to a handler and reads its answer', async () => {
    await client.subscribe('orders/+/accepted', { qos: 1 });
    await client.publish('orders/42/placed', { items: 3 }, { qos: 1 });
    const answer = await client.nextMessage('orders/+/accepted');
    expect(answer.topic).toBe('orders/42/accepted');
    expect(answer.json<{ id: string; items: number }>()).toEqual({ id: '42', items: 3 });
    expect(Buffer.isBuffer(answer.payload)).toBe(true);
    expect(answer.packet.qos).toBe(1);
    expect(client.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);
  });

  it('keeps every message of a filter from the subscription on, so none is lost before nextMessage', async () => {
    await client.subscribe('burst/#');
    const service = app.get(MqttService);
    await Promise.all([service.publish('burst/1', 'a'), service.publish('burst/2', 'b'), service.publish('burst/3', 'c')]);
    const texts = [];
    for (let i = 0; i < 3; i++) texts.push((await client.nextMessage('burst/#')).payload.toString());
    expect(texts).toEqual(['a', 'b', 'c']);
  });

  it('says what is wrong: a filter never subscribed, a message that does not come', async () => {
    await expect(client.nextMessage('never/subscribed')).rejects.toThrow("subscribe to 'never/subscribed' first");
    await client.subscribe('quiet/topic');
    await expect(client.nextMessage('quiet/topic', { timeout: 50 })).rejects.toThrow('no message within 50 ms');
  });

  it("resumes a session (clean: false): what was queued while it was away comes for the session's filter, in order", async () => {
    const away = await MqttTestClient.connect(app, { clientId: 'kit-session', clean: false });
    expect(away.sessionPresent).toBe(false);
    await away.subscribe('shipments/#', { qos: 1 });
    await away.close();
    const service = app.get(MqttService);
    for (const id of ['s1', 's2', 's3']) await service.publish(`shipments/${id}`, id, { qos: 1 });

    // The queued messages come right behind the CONNACK, before MQTT.js says 'connect'.
    const resumed = await MqttTestClient.connect(app, { clientId: 'kit-session', clean: false });
    try {
      expect(resumed.sessionPresent).toBe(true);
      const texts = [];
      for (let i = 0; i < 3; i++) texts.push((await resumed.nextMessage('shipments/#')).text());
      expect(texts).toEqual(['s1', 's2', 's3']);
      // A filter subscribed again after the resume starts with what it matches of them.
      await resumed.subscribe('shipments/s2', { qos: 1 });
      expect((await resumed.nextMessage('shipments/s2')).text()).toBe('s2');
    } finally {
      await resumed.close();
    }
  });
});

describe('MqttTestClient on a dedicated port and over TCP', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await startApp({ port: 0, host: '127.0.0.1', tcp: { port: 0, host: '127.0.0.1' } });
  });

  afterAll(() => app?.close());

  it.each(['ws', 'tcp'] as const)('finds the %s endpoint from the module', async (transport) => {
    const client = await MqttTestClient.connect(app, { transport, clientId: `kit-${transport}` });
    try {
      expect(client.url.startsWith(transport === 'ws' ? 'ws://' : 'mqtt://')).toBe(true);
      await client.subscribe('orders/7/accepted', { qos: 1 });
      await client.publish('orders/7/placed', { items: 1 }, { qos: 1 });
      expect((await client.nextMessage('orders/7/accepted')).json()).toEqual({ id: '7', items: 1 });
    } finally {
      await client.close();
    }
  });
});

describe('MqttTestClient before the app listens', () => {
  it('explains that the app must listen first', async () => {
    const app = await startApp({}, false);
    try {
      await expect(MqttTestClient.connect(app)).rejects.toThrow('exists once `await app.listen(0)` resolved');
      await expect(MqttTestClient.connect(app, { transport: 'tcp' })).rejects.toThrow('Add MqttWsModule.forRoot({ tcp: { port: 0 } })');
    } finally {
      await app.close();
    }
  });
});

describe('MqttTestClient without MQTT.js installed', () => {
  it('fails with the line that installs it (the built package, in a process where mqtt cannot be found)', async () => {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/connect-without-mqtt.mjs');
    const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 20_000 });
    expect(stdout.trim()).toBe('nestjs-mqtt-ws/testing needs MQTT.js, an optional peer dependency: npm install --save-dev mqtt');
  });
});
