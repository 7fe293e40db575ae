import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { AddressInfo } from 'node:net';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { MqttService, MqttSubscribe, MqttWsModule, Payload } from '../lib/index.js';
import { startApp } from './utils/app.js';
import { Collector } from './utils/deferred.js';
import { TestClient } from './utils/mqtt-client.js';
import { upgradeStatus } from './utils/raw-mqtt-socket.js';

@WebSocketGateway({ path: '/events' })
class PlainEventsGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() body: string) {
    return { event: 'echo', data: body };
  }
}

@WebSocketGateway()
class SocketIoGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() body: string) {
    return body;
  }
}

const handled = new Collector<string>();

@Injectable()
class Echo {
  constructor(private readonly mqtt: MqttService) {}

  @MqttSubscribe('in/:id')
  async onIn(@Payload() body: { n: number }, @Payload('n') n: number) {
    handled.push(`n=${n}`);
    await this.mqtt.publish('out', { n: body.n + 1 });
  }
}

/** A full MQTT round trip through a handler: the proof that the broker on `url` serves. */
async function expectMqttRoundTrip(url: string): Promise<void> {
  const client = await TestClient.connect(url);
  await client.subscribe('out', 1);
  await client.publish('in/1', { n: 41 }, { qos: 1 });
  const [reply] = await client.waitFor(1, 'out');
  expect(JSON.parse(reply.payload.toString())).toEqual({ n: 42 });
  await client.end();
}

function plainWsEcho(url: string): Promise<unknown> {
  const socket = new WebSocket(url);
  return new Promise((resolve, reject) => {
    socket.once('open', () => socket.send(JSON.stringify({ event: 'echo', data: 'hi' })));
    socket.once('message', (data) => {
      resolve(JSON.parse(data.toString()));
      socket.close();
    });
    socket.once('error', reject);
  });
}

describe('living beside the rest of the app', () => {
  it('works with no WebSocket adapter at all', async () => {
    const { app, url } = await startApp({ imports: [MqttWsModule.forRoot()], providers: [Echo] });
    await expectMqttRoundTrip(url);
    await app.close();
  });

  it("shares the port with @nestjs/platform-ws gateways (WsAdapter destroys upgrades it doesn't know)", async () => {
    const { app, url, port } = await startApp(
      { imports: [MqttWsModule.forRoot()], providers: [Echo, PlainEventsGateway] },
      (app) => {
        app.useWebSocketAdapter(new WsAdapter(app));
      },
    );
    expect(await plainWsEcho(`ws://127.0.0.1:${port}/events`)).toEqual({ event: 'echo', data: 'hi' });
    await expectMqttRoundTrip(url);
    await app.close();
  });

  it('shares the port with socket.io gateways (engine.io ends foreign upgrades after a second)', async () => {
    const { app, url, port } = await startApp(
      { imports: [MqttWsModule.forRoot()], providers: [Echo, SocketIoGateway] },
      (app) => {
        app.useWebSocketAdapter(new IoAdapter(app));
      },
    );
    const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
    const echoed = await new Promise((resolve) => socket.emit('echo', 'hello', resolve));
    expect(echoed).toBe('hello');
    // Idle past engine.io's 1 s destroyUpgradeTimeout while connected, then prove the socket lives.
    const client = await TestClient.connect(url);
    await client.subscribe('idle', 0);
    // The one deliberate wait: what is tested is that nothing happens when engine.io's timer fires.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await client.publish('idle', 'still here');
    expect((await client.waitFor(1, 'idle'))[0].payload.toString()).toBe('still here');
    await client.end();
    await expectMqttRoundTrip(url);
    socket.close();
    await app.close();
  });

  it('works on the Fastify platform', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [MqttWsModule.forRoot()], providers: [Echo] }).compile();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    await expectMqttRoundTrip(`ws://127.0.0.1:${port}/mqtt`);
    await app.close();
  });

  it('serves on a dedicated port instead of the app server when `port` is set', async () => {
    const { app, port } = await startApp({ imports: [MqttWsModule.forRoot({ port: 0, host: '127.0.0.1', path: '/broker' })], providers: [Echo] });
    const dedicated = app.get(MqttService).dedicatedAddress();
    expect(dedicated).not.toBeNull();
    expect(dedicated!.port).not.toBe(port);
    await expectMqttRoundTrip(`ws://127.0.0.1:${dedicated!.port}/broker`);
    expect((await upgradeStatus(`ws://127.0.0.1:${port}/broker`, 'mqtt')).status).not.toBe(101);
    await app.close();
  });
});

