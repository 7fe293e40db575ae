import 'reflect-metadata';
import { Injectable, type INestApplication } from '@nestjs/common';
import { composeHookChain, HOOK_STAGE_ORDER, type MqttHookStage, type MqttHooks } from '../../lib/broker/hook-chain.js';
import type { MqttBrokerClient, MqttPublishPacket } from '../../lib/broker/mqtt-broker.js';
import { MqttSubscribe, MqttWsModule, type MqttAuthPolicy, type MqttConnectAuthContext, type MqttPublishAuthContext } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';

const PACKET = { cmd: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 1, retain: false, dup: false } as MqttPublishPacket;
const CLIENT = {} as MqttBrokerClient;

/** A stage that logs its name on every hook it has, then passes on (or refuses, when told to). */
function recordingStage(name: string, log: string[], refuse = false): MqttHookStage {
  return {
    name,
    authorizePublish(client, packet, callback, next) {
      log.push(name);
      if (refuse) return callback(new Error(`${name} refused`));
      next(client, packet, callback);
    },
    authorizeForward(client, packet, next) {
      log.push(name);
      return next(client, packet);
    },
  } as MqttHookStage;
}

function lastHooks(log: string[]): MqttHooks {
  return {
    preConnect: (_client, _packet, callback) => callback(null, true),
    authenticate: (_client, _username, _password, callback) => callback(null, true),
    authorizePublish: (_client, _packet, callback) => {
      log.push('broker default');
      callback(null);
    },
    authorizeSubscribe: (_client, subscription, callback) => callback(null, subscription),
    authorizeForward: (_client, packet) => {
      log.push('broker default');
      return packet;
    },
    published: (_packet, _client, done) => done(),
  };
}

describe('the hook chain', () => {
  it('has the written order: statistics (watching), protocol, limits, offline sessions, the auth policy, $SYS topics, handlers', () => {
    expect(HOOK_STAGE_ORDER).toEqual(['statistics', 'protocol', 'limits', 'offline-sessions', 'auth-policy', 'sys-topics', 'handlers']);
  });

  it('runs the stages in that order whatever order they are given in, and the broker default last', async () => {
    const log: string[] = [];
    const shuffled = ['handlers', 'sys-topics', 'limits', 'auth-policy', 'protocol', 'statistics', 'offline-sessions'].map((name) => recordingStage(name, log));
    const chain = composeHookChain(shuffled, lastHooks(log));
    const error = await new Promise((resolve) => chain.authorizePublish(CLIENT, PACKET, resolve));
    expect(error).toBeNull();
    expect(log).toEqual([...HOOK_STAGE_ORDER, 'broker default']);
    log.length = 0;
    expect(chain.authorizeForward(CLIENT, PACKET)).toBe(PACKET);
    expect(log).toEqual([...HOOK_STAGE_ORDER, 'broker default']);
  });

  it('stops at the stage that refuses: the stages after it never see the message', async () => {
    const log: string[] = [];
    const chain = composeHookChain(
      [recordingStage('auth-policy', log), recordingStage('limits', log, true), recordingStage('handlers', log)],
      lastHooks(log),
    );
    const error = await new Promise<Error | null | undefined>((resolve) => chain.authorizePublish(CLIENT, PACKET, resolve));
    expect(error?.message).toBe('limits refused');
    expect(log).toEqual(['limits']);
  });

  it('skips a stage for the hooks it does not have, and calls the broker default when none has it', () => {
    const log: string[] = [];
    const chain = composeHookChain([recordingStage('limits', log)], lastHooks(log));
    const answers: [Error | null, boolean][] = [];
    chain.preConnect(CLIENT, { clientId: 'c', protocolVersion: 4, clean: true }, (error, accepted) => answers.push([error, accepted]));
    expect(answers).toEqual([[null, true]]);
    expect(log).toEqual([]);
  });

  it('refuses a stage it does not know, or one given twice', () => {
    expect(() => composeHookChain([{ name: 'mine' }], lastHooks([]))).toThrow(/unknown hook stage "mine"/);
    expect(() => composeHookChain([{ name: 'limits' }, { name: 'limits' }], lastHooks([]))).toThrow(/"limits" given twice/);
  });

  describe('on a running broker', () => {
    const log: string[] = [];

    @Injectable()
    class RecordingPolicy implements MqttAuthPolicy {
      authenticate({ clientId }: MqttConnectAuthContext) {
        log.push(`policy: authenticate ${clientId}`);
        return true;
      }
      authorizePublish({ topic }: MqttPublishAuthContext) {
        log.push(`policy: publish ${topic}`);
        return true;
      }
    }

    @Injectable()
    class RecordingHandlers {
      @MqttSubscribe('order/#')
      onOrder() {
        log.push('handler');
      }
    }

    let app: INestApplication;
    let url: string;

    beforeAll(async () => {
      ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({ auth: RecordingPolicy, maxTopicLength: 32 })], providers: [RecordingHandlers] }));
    });

    afterAll(() => app.close());

    it('runs the limits, then the policy, then the QoS 1 handler, then the PUBACK', async () => {
      const client = await TestClient.connect(url, { clientId: 'ordered' });
      try {
        await client.publish('order/1', 'x', { qos: 1 });
        log.push('puback');
        expect(log).toEqual(['policy: authenticate ordered', 'policy: publish order/1', 'handler', 'puback']);
        // Limits before the policy: a topic over maxTopicLength ends the connection before the policy sees it.
        const closed = new Promise<void>((resolve) => client.client.once('close', () => resolve()));
        client.client.publish(`order/${'x'.repeat(64)}`, 'x', { qos: 1 });
        await closed;
        expect(log).toEqual(['policy: authenticate ordered', 'policy: publish order/1', 'handler', 'puback']);
      } finally {
        await client.end(true);
      }
    });
  });
});
