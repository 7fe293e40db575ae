import 'reflect-metadata';
import { Injectable, type INestApplication } from '@nestjs/common';
import mqtt, { type IConnackPacket, type IDisconnectPacket, type IPublishPacket } from 'mqtt';
import { of } from 'rxjs';
import {
  Ctx,
  MqttContext,
  MqttReasonCode,
  MqttResponseError,
  MqttService,
  MqttSubscribe,
  MqttWsModule,
  Payload,
  Properties,
  UserProperties,
  type MqttAuthPolicy,
  type MqttAuthenticateResult,
  type MqttConnectAuthContext,
  type MqttPublishAuthContext,
  type MqttPublishProperties,
} from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { Collector } from '../utils/deferred.js';
import { TestClient, type ReceivedMessage } from '../utils/mqtt-client.js';

const seen = new Collector<{ properties: MqttPublishProperties; tenant: unknown; version: number }>();

@Injectable()
class Responders {
  @MqttSubscribe('v5/props')
  onProps(@Properties() properties: MqttPublishProperties, @UserProperties('tenant') tenant: unknown, @Ctx() context: MqttContext) {
    seen.push({ properties, tenant, version: context.protocolVersion });
  }

  @MqttSubscribe('v5/rpc/value')
  value(@Payload() { n }: { n: number }) {
    return { double: n * 2 };
  }

  @MqttSubscribe('v5/rpc/promise', { payloadFormat: 'text' })
  async promise(@Payload() text: string) {
    await Promise.resolve();
    return text.toUpperCase();
  }

  @MqttSubscribe('v5/rpc/observable')
  observable() {
    return of('a', 'b', 'last');
  }

  @MqttSubscribe('v5/rpc/undefined')
  nothing() {
    return undefined;
  }

  @MqttSubscribe('v5/rpc/error')
  error() {
    throw new MqttResponseError('not today', { code: 'refused' });
  }
}

const ANSWERS: Record<string, MqttAuthenticateResult> = {
  bad: { reasonCode: MqttReasonCode.BadUserNameOrPassword, reasonString: 'token expired' },
  quota: { reasonCode: MqttReasonCode.QuotaExceeded, reasonString: 'too many devices on this plan' },
  denied: MqttReasonCode.NotAuthorized,
  legacy: 5,
  success: { reasonCode: MqttReasonCode.Success },
};

@Injectable()
class Policy implements MqttAuthPolicy {
  authenticate({ username }: MqttConnectAuthContext): MqttAuthenticateResult {
    return ANSWERS[username ?? ''] ?? true;
  }
  authorizePublish({ topic }: MqttPublishAuthContext): boolean {
    return !topic.startsWith('forbidden/');
  }
}

/** An MQTT 5 request from MQTT.js: publishes with a response topic and correlation data, resolves with the answer. */
async function ask(client: TestClient, topic: string, body: string, correlation: string, responseTopic = `answers/${correlation}`): Promise<ReceivedMessage> {
  await client.subscribe(responseTopic, 1);
  await client.publish(topic, body, { qos: 1, properties: { responseTopic, correlationData: Buffer.from(correlation) } });
  const [answer] = await client.waitFor(1, responseTopic);
  return answer;
}

/** The CONNACK an MQTT 5 client gets: its reason code and reason string. */
async function connack(url: string, username: string): Promise<{ code: number; reasonString?: string }> {
  const client = mqtt.connect(url, { protocolVersion: 5, username, password: 'x', reconnectPeriod: 0, clientId: `v5-${username}` });
  try {
    const packet = await new Promise<IConnackPacket>((resolve) => client.once('packetreceive', (received) => resolve(received as IConnackPacket)));
    return { code: packet.reasonCode ?? packet.returnCode ?? -1, reasonString: packet.properties?.reasonString };
  } finally {
    await client.endAsync(true);
  }
}

describe('MQTT 5 clients and the Nest API', () => {
  let app: INestApplication;
  let url: string;
  let service: MqttService;
  const clients: TestClient[] = [];
  const connect = async (clientId: string, protocolVersion: 4 | 5 = 5) => {
    const client = await TestClient.connect(url, { clientId, protocolVersion });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({ auth: Policy })], providers: [Responders, Policy] }));
    service = app.get(MqttService);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end(true)));
    await app.close();
  });

  it('hands the properties an MQTT 5 client publishes to @Properties, @UserProperties and the context', async () => {
    const publisher = await connect('v5-publisher');
    await publisher.publish('v5/props', 'x', { qos: 1, properties: { contentType: 'text/plain', userProperties: { tenant: 'acme' } } });
    const [call] = await seen.waitFor(1);
    expect(call.version).toBe(5);
    expect(call.tenant).toBe('acme');
    expect(call.properties).toMatchObject({ contentType: 'text/plain', userProperties: { tenant: 'acme' } });
  });

  it('delivers a server publish with its properties to an MQTT 5 subscriber and without them to an MQTT 3.1.1 one, on one topic', async () => {
    const v5 = await connect('mixed-v5');
    const v4 = await connect('mixed-v4', 4);
    await v5.subscribe('mixed/topic', 1);
    await v4.subscribe('mixed/topic', 1);
    await service.publish('mixed/topic', { on: true }, {
      qos: 1,
      properties: { contentType: 'application/json', payloadFormatIndicator: true, userProperties: { a: '1' }, correlationData: 'c' },
    });
    const [toV5] = await v5.waitFor(1, 'mixed/topic');
    const [toV4] = await v4.waitFor(1, 'mixed/topic');
    expect(toV5.packet.properties).toMatchObject({ contentType: 'application/json', payloadFormatIndicator: true, userProperties: { a: '1' } });
    expect(toV5.packet.properties?.correlationData?.toString()).toBe('c');
    expect(toV4.packet.properties).toBeUndefined();
    expect(toV4.payload.toString()).toBe(toV5.payload.toString());
  });

  it('answers an MQTT.js request with a value, a Promise and an Observable, with correlation data and content type', async () => {
    const requester = await connect('requester');
    const value = await ask(requester, 'v5/rpc/value', '{"n":21}', 'r-value');
    expect(JSON.parse(value.payload.toString())).toEqual({ double: 42 });
    expect(value.packet.properties).toMatchObject({ contentType: 'application/json', payloadFormatIndicator: true });
    expect(value.packet.properties?.correlationData?.toString()).toBe('r-value');

    const promise = await ask(requester, 'v5/rpc/promise', 'shout', 'r-promise');
    expect(promise.payload.toString()).toBe('SHOUT');
    expect(promise.packet.properties?.contentType).toBe('text/plain; charset=utf-8');

    const observable = await ask(requester, 'v5/rpc/observable', '{}', 'r-observable');
    expect(observable.payload.toString()).toBe('last');
  });

  it('answers nothing for undefined, and an error response for an exception', async () => {
    const requester = await connect('requester-2');
    await requester.subscribe('answers/#', 1);
    // Handlers run before the PUBACK, so an answer to the first request would be published before the second's.
    await requester.publish('v5/rpc/undefined', '{}', { qos: 1, properties: { responseTopic: 'answers/none', correlationData: Buffer.from('1') } });
    const error = await ask(requester, 'v5/rpc/error', '{}', 'r-error');
    expect(requester.received().map((message) => message.topic)).toEqual(['answers/r-error']);
    expect(error.packet.properties?.userProperties).toEqual({ error: 'refused' });
    expect(JSON.parse(error.payload.toString())).toEqual({ message: 'not today', code: 'refused' });
    expect(error.packet.properties?.correlationData?.toString()).toBe('r-error');
  });

  it('answers only on a response topic the requester may publish to', async () => {
    const spy = await connect('spy');
    await spy.subscribe(['forbidden/#', 'answers/#'], 1);
    const requester = await connect('requester-3');
    await requester.publish('v5/rpc/value', '{"n":1}', { qos: 1, properties: { responseTopic: 'forbidden/x', correlationData: Buffer.from('f') } });
    await ask(requester, 'v5/rpc/value', '{"n":2}', 'allowed');
    const [seenBySpy] = await spy.waitFor(1);
    expect(spy.received().map((message) => message.topic)).toEqual(['answers/allowed']);
    expect(JSON.parse(seenBySpy.payload.toString())).toEqual({ double: 4 });
  });

  it('answers nothing on a response topic with wildcards (the broker refuses the request)', async () => {
    const spy = await connect('spy-2');
    await spy.subscribe('wild/#', 1);
    const requester = await connect('requester-4');
    const closed = new Promise<void>((resolve) => requester.client.once('close', () => resolve()));
    requester.client.publish('v5/rpc/value', '{"n":1}', { qos: 1, properties: { responseTopic: 'wild/#', correlationData: Buffer.from('w') } });
    await closed;
    await service.publish('wild/marker', 'after', { qos: 1 });
    const [first] = await spy.waitFor(1);
    expect(first.topic).toBe('wild/marker');
  });

  it('answers an MQTT 5 publish the policy refuses with PUBACK 0x87 and keeps the connection', async () => {
    const publisher = await connect('refused-publisher');
    const error = await publisher.publish('forbidden/topic', 'x', { qos: 1 }).catch((caught: unknown) => caught);
    expect((error as { code?: number }).code).toBe(MqttReasonCode.NotAuthorized);
    await publisher.publish('v5/props', 'still connected', { qos: 1 });
    expect(publisher.client.connected).toBe(true);
  });

  it('lets MqttService.request ask an MQTT 5 client, which answers on the response topic', async () => {
    const responder = await connect('responder');
    await responder.subscribe('ask/device', 1);
    responder.client.on('message', (topic, payload, packet: IPublishPacket) => {
      if (topic !== 'ask/device') return;
      void responder.publish(packet.properties!.responseTopic!, { got: JSON.parse(payload.toString()) }, {
        qos: 1,
        properties: { correlationData: packet.properties!.correlationData, contentType: 'application/json' },
      });
    });
    expect(await service.request('ask/device', { q: 1 })).toEqual({ got: { q: 1 } });
  });

  it.each([
    ['bad', MqttReasonCode.BadUserNameOrPassword, 'token expired'],
    ['quota', MqttReasonCode.QuotaExceeded, 'too many devices on this plan'],
    ['denied', MqttReasonCode.NotAuthorized, undefined],
    ['legacy', MqttReasonCode.NotAuthorized, 'not authorized'],
    ['success', MqttReasonCode.ServerUnavailable, 'the auth policy gave an invalid reason'],
  ])('refuses an MQTT 5 client (%s) with the reason code and string of the policy', async (username, code, reasonString) => {
    const answer = await connack(url, username);
    expect(answer.code).toBe(code);
    if (reasonString !== undefined) expect(answer.reasonString).toBe(reasonString);
  });

  it('disconnects an MQTT 5 client with a DISCONNECT carrying the reason code and string', async () => {
    const client = await connect('kicked');
    const disconnect = new Promise<IDisconnectPacket>((resolve) => client.client.once('disconnect', resolve));
    expect(service.disconnect('kicked', { code: MqttReasonCode.AdministrativeAction, reasonString: 'maintenance' })).toBe(true);
    const packet = await disconnect;
    expect(packet.reasonCode).toBe(MqttReasonCode.AdministrativeAction);
    expect(packet.properties?.reasonString).toBe('maintenance');
  });
});
