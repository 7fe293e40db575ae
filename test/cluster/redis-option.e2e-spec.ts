/**
 * The `redis` option and the handler scope, where no running Redis is needed: validation, start-up
 * failures, the missing-package error, and both scopes on a single instance.
 */
import { Injectable, type INestApplication, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { MqttBroker } from '../../lib/broker/mqtt-broker.js';
import { createServer } from 'node:net';
import { MqttService, MqttSubscribe, MqttWsModule, Topic } from '../../lib/index.js';
import { importOptionalPackages } from '../../lib/cluster/optional-packages.loader.js';
import { REDIS_PACKAGES } from '../../lib/cluster/redis-backends.factory.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';
import { Collector } from '../utils/deferred.js';
import { brokerOf } from '../utils/broker.js';

describe('The redis option', () => {
  it('is refused together with persistence or mq, which it builds itself', async () => {
    await expect(startApp({ imports: [MqttWsModule.forRoot({ redis: { url: 'redis://127.0.0.1:6379' }, mq: {} as never })] })).rejects.toThrow(
      'MqttWsModule: option "mq" must be left out when "redis" is set',
    );
  });

  it('needs a redis:// or rediss:// URL, and does not repeat it (it may hold a password) in the error', async () => {
    const start = startApp({ imports: [MqttWsModule.forRoot({ redis: { url: 'http://user:hunter2@cache:6379' } })] });
    await expect(start).rejects.toThrow('option "redis.url" must be a URL such as');
    await expect(start).rejects.not.toThrow('hunter2');
    await expect(startApp({ imports: [MqttWsModule.forRoot({ redis: { url: 'redis://h', keyPrefix: 3 as never } })] })).rejects.toThrow(
      'option "redis.keyPrefix" must be a string',
    );
  });

  it('fails start-up, password masked, when Redis cannot be reached within connectTimeout', async () => {
    const port = await closedPort();
    const url = `redis://:hunter2@127.0.0.1:${port}`;
    const started = Date.now();
    const start = startApp({ imports: [MqttWsModule.forRoot({ redis: { url, connectTimeout: 500 } })] });
    await expect(start).rejects.toThrow(`could not reach Redis at redis://:***@127.0.0.1:${port} within 500 ms: connect ECONNREFUSED`);
    await expect(start).rejects.not.toThrow('hunter2');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("leaves MqttService.health() at redis 'disabled' without the option", async () => {
    const before = Date.now();
    const { app } = await startApp({ imports: [MqttWsModule.forRoot()] });
    try {
      const health = app.get(MqttService).health();
      expect(health).toEqual({ redis: 'disabled', since: expect.any(Date) });
      expect(health.since.getTime()).toBeGreaterThanOrEqual(before);
    } finally {
      await app.close();
    }
  });

  it('names the packages to install when one is missing', async () => {
    // The real list (aedes-persistence-redis alone: the message bus needs no package of its own), and one that is missing.
    expect(REDIS_PACKAGES.map(({ name }) => name)).toEqual(['aedes-persistence-redis']);
    const load = importOptionalPackages('option "redis"', [...REDIS_PACKAGES, { name: 'no-such-package-nestjs-mqtt-ws', range: '^1.0.0' }]);
    await expect(load).rejects.toThrow(
      'MqttWsModule: option "redis" needs no-such-package-nestjs-mqtt-ws, optional dependencies the app installs itself: ' +
        'npm install no-such-package-nestjs-mqtt-ws@^1.0.0',
    );
  });
});

describe('Handler scope', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it("refuses an unknown scope, and different scopes on one handler", async () => {
    @Injectable()
    class Unknown {
      @MqttSubscribe('a', { scope: 'everywhere' as never })
      handle(): void {}
    }
    expect(await bootstrapError([Unknown])).toContain(
      `@MqttSubscribe on Unknown.handle: scope must be 'cluster' or 'instance', got "everywhere"`,
    );

    @Injectable()
    class Mixed {
      @MqttSubscribe('a', { scope: 'instance' })
      @MqttSubscribe('b')
      handle(): void {}
    }
    expect(await bootstrapError([Mixed])).toContain('the @MqttSubscribe decorators of Mixed.handle give different scopes');
  });

  it("runs both scopes once per message on a single instance; '#' of scope 'instance' skips $ topics", async () => {
    const runs = new Collector<string>();
    @Injectable()
    class Handlers {
      @MqttSubscribe('scoped/+')
      inCluster(@Topic() topic: string): void {
        runs.push(`cluster ${topic}`);
      }

      @MqttSubscribe(['scoped/+', 'scoped/#', '#'], { scope: 'instance' })
      onInstance(@Topic() topic: string): void {
        runs.push(`instance ${topic}`);
      }
    }
    const started = await startApp({ imports: [MqttWsModule.forRoot({})], providers: [Handlers] });
    app = started.app;
    const client = await TestClient.connect(started.url);
    await client.publish('scoped/one', 'x', { qos: 1 });
    await app.get(MqttService).publish('scoped/two', 'y', { qos: 0 });
    await client.publish('other', 'z', { qos: 1 });
    await runs.waitFor(5);
    await client.end();
    expect([...runs.items].sort()).toEqual([
      'cluster scoped/one',
      'cluster scoped/two',
      'instance other',
      'instance scoped/one',
      'instance scoped/two',
    ]);
  });
});

/** The error of an app that fails to initialise; its broker, already built, is closed. */
async function bootstrapError(providers: Type[]): Promise<string> {
  const moduleRef = await Test.createTestingModule({ imports: [MqttWsModule.forRoot({})], providers }).compile();
  try {
    await moduleRef.createNestApplication({ logger: false }).init();
  } catch (error) {
    return (error as Error).message;
  } finally {
    await new Promise((resolve) => brokerOf(moduleRef).close().then(() => resolve(undefined)));
  }
  throw new Error('the app started');
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
