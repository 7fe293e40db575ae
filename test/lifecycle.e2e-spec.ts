import 'reflect-metadata';
import { Injectable, Module, Scope } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { MqttService, MqttSubscribe, MqttWsModule, Payload, Topic } from '../lib/index.js';
import { startApp } from './utils/app.js';
import { Collector } from './utils/deferred.js';
import { TestClient } from './utils/mqtt-client.js';
import { brokerOf } from './utils/broker.js';

const received = new Collector<string>();

@Injectable()
class Recorder {
  @MqttSubscribe('record/#', { payloadFormat: 'text' })
  record(@Topic() topic: string, @Payload() body: string) {
    received.push(`${topic}:${body}`);
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestScopedHandler {
  @MqttSubscribe('scoped')
  handle() {}
}

@Injectable()
class BadFilterHandler {
  @MqttSubscribe('sensors/#/temperature')
  handle() {}
}

@Injectable()
class BadNameHandler {
  @MqttSubscribe('sensors/:device-id')
  handle() {}
}

async function bootstrapError(metadata: Parameters<typeof Test.createTestingModule>[0]): Promise<string> {
  try {
    const moduleRef = await Test.createTestingModule(metadata).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    await app.close();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('bootstrap succeeded');
}

describe('lifecycle', () => {
  it('binds handlers before the endpoint opens: a message sent right after listen() reaches its handler', async () => {
    const { app, url } = await startApp({ imports: [MqttWsModule.forRoot()], providers: [Recorder] });
    const client = await TestClient.connect(url);
    await client.publish('record/first', 'hello', { qos: 1 });
    expect(await received.waitFor(1)).toContain('record/first:hello');
    await client.end();
    await app.close();
  });

  it('closes promptly with clients connected, ending every connection and the broker', async () => {
    const { app, url } = await startApp({ imports: [MqttWsModule.forRoot()] });
    const clients = await Promise.all([1, 2, 3].map((n) => TestClient.connect(url, { clientId: `c${n}` })));
    const closed = clients.map((c) => new Promise<void>((resolve) => c.client.once('close', () => resolve())));
    const broker = brokerOf(app);
    await app.close();
    await Promise.all(closed);
    expect(broker.closed).toBe(true);
    expect(broker.connectedClients).toBe(0);
    await Promise.all(clients.map((c) => c.end(true)));
  });

  it('builds its options with forRootAsync from a ConfigService-style factory', async () => {
    @Module({})
    class NothingModule {}
    const { app } = await startApp({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ MQTT_PATH: '/telemetry', MQTT_BROKER_ID: 'from-config' })] }),
        MqttWsModule.forRootAsync({
          imports: [ConfigModule, NothingModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({ path: config.get('MQTT_PATH'), id: config.get('MQTT_BROKER_ID') }),
        }),
      ],
      providers: [Recorder],
    }, undefined, '/telemetry');
    const port = app.getHttpServer().address().port;
    const client = await TestClient.connect(`ws://127.0.0.1:${port}/telemetry`);
    await client.publish('record/async', 'ok', { qos: 1 });
    expect(received.items).toContain('record/async:ok');
    expect(app.get(MqttService).brokerId).toBe('from-config');
    await client.end();
    await app.close();
  });

  it('builds its options with forRootAsync useClass', async () => {
    class MqttConfig {
      createMqttWsOptions() {
        return { path: '/by-class' };
      }
    }
    const { app, url } = await startApp({ imports: [MqttWsModule.forRootAsync({ useClass: MqttConfig })] }, undefined, '/by-class');
    const client = await TestClient.connect(url);
    expect(client.client.connected).toBe(true);
    await client.end();
    await app.close();
  });

  it('keeps several apps in one process apart', async () => {
    const one = await startApp({ imports: [MqttWsModule.forRoot()] });
    const two = await startApp({ imports: [MqttWsModule.forRoot()] });
    expect(brokerOf(one.app)).not.toBe(brokerOf(two.app));
    const a = await TestClient.connect(one.url);
    const b = await TestClient.connect(two.url);
    await b.subscribe('isolated', 1);
    await a.subscribe('isolated', 1);
    await a.publish('isolated', 'from one', { qos: 1 });
    await b.publish('isolated', 'from two', { qos: 1 });
    expect((await a.waitFor(1))[0].payload.toString()).toBe('from one');
    expect((await b.waitFor(1))[0].payload.toString()).toBe('from two');
    expect(a.messages).toHaveLength(1);
    await Promise.all([a.end(), b.end()]);
    await Promise.all([one.app.close(), two.app.close()]);
  });

  it.each([
    [{ path: 'mqtt' }, /option "path"/],
    [{ port: 70000 }, /option "port"/],
    [{ payloadFormat: 'xml' }, /option "payloadFormat"/],
    [{ maxClientsIdLength: 5 }, /option "maxClientsIdLength"/],
    [{ connectTimeout: -1 }, /option "connectTimeout"/],
    [{ maxTopicLevels: 1000 }, /option "maxTopicLevels"/],
  ])('refuses invalid options at start-up, naming the option: %j', async (options, message) => {
    expect(await bootstrapError({ imports: [MqttWsModule.forRoot(options as never)] })).toMatch(message);
  });

  it('refuses an invalid topic filter at bootstrap, naming the class and method', async () => {
    expect(await bootstrapError({ imports: [MqttWsModule.forRoot()], providers: [BadFilterHandler] })).toMatch(
      /"sensors\/#\/temperature".*BadFilterHandler\.handle.*'#' must be the last level/,
    );
    expect(await bootstrapError({ imports: [MqttWsModule.forRoot()], providers: [BadNameHandler] })).toMatch(
      /BadNameHandler\.handle.*':device-id' is not a valid named level/,
    );
  });

  it('refuses handlers on request-scoped providers with a clear message', async () => {
    expect(await bootstrapError({ imports: [MqttWsModule.forRoot()], providers: [RequestScopedHandler] })).toMatch(
      /RequestScopedHandler\.handle is an MQTT handler on a request-scoped or transient provider/,
    );
  });
});
