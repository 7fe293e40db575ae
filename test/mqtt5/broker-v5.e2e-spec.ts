/**
 * MQTT 5.0 on the module's endpoint, server side (issue 13; docs/mqtt5.md "Server side"), with
 * MQTT.js speaking protocol level 5 beside 3.1.1 clients on the same endpoint.
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import mqtt from 'mqtt';
import type { MqttBroker } from '../../lib/broker/mqtt-broker.js';
import { MqttWsModule } from '../../lib/index.js';
import { MqttReasonCode } from '../../lib/interfaces/mqtt5.interface.js';
import { MQTT_BROKER } from '../../lib/mqtt-ws.constants.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';

const V5 = { protocolVersion: 5 } as const;

describe('MQTT 5.0 server side (MQTT.js, protocol level 5)', () => {
  let app: INestApplication;
  let url: string;
  let broker: MqttBroker;

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({ maxClientsIdLength: 40 })] }));
    broker = app.get(MQTT_BROKER);
  });
  afterAll(async () => {
    await app.close();
  });

  /** Connects with MQTT.js and resolves with the client and the CONNACK it got. */
  function connectWithConnack(options: mqtt.IClientOptions): Promise<{ client: mqtt.MqttClient; connack: mqtt.IConnackPacket }> {
    const client = mqtt.connect(url, { reconnectPeriod: 0, ...V5, ...options });
    return new Promise((resolve, reject) => {
      client.once('connect', (connack) => resolve({ client, connack }));
      client.once('error', reject);
    });
  }

  it('accepts a protocol level 5 CONNECT with a v5 CONNACK that advertises honestly', async () => {
    const { client, connack } = await connectWithConnack({ clientId: 'v5-connack' });
    try {
      expect(connack.reasonCode).toBe(0);
      // A single instance serves shared subscriptions (absent or 1: available).
      expect(connack.properties?.sharedSubscriptionAvailable).not.toBe(false);
      // maxPacketSize's default, maxInflightInbound's default, inbound topic aliases.
      expect(connack.properties).toMatchObject({ maximumPacketSize: 1024 * 1024, receiveMaximum: 1000, topicAliasMaximum: 10 });
      // Available unless said otherwise [MQTT-3.2.2-*]: retain, wildcards, subscription identifiers, QoS 2.
      expect(connack.properties?.retainAvailable).toBeUndefined();
      expect(connack.properties?.maximumQoS).toBeUndefined();
    } finally {
      await client.endAsync();
    }
  });

  it('CONNACK: the Assigned Client Identifier for a zero-length client id, [MQTT-3.2.2-16]', async () => {
    const { client, connack } = await connectWithConnack({ clientId: '' });
    try {
      expect(connack.reasonCode).toBe(0);
      expect(connack.properties?.assignedClientIdentifier).toMatch(/.+/);
    } finally {
      await client.endAsync();
    }
  });

  it('delivers one message to a v5 and a 3.1.1 subscriber on one topic: the v5 one gets every property unchanged, the 3.1.1 one none', async () => {
    const v5 = await TestClient.connect(url, { ...V5, clientId: 'mixed-v5' });
    const v4 = await TestClient.connect(url, { clientId: 'mixed-v4' });
    const publisher = await TestClient.connect(url, { ...V5, clientId: 'mixed-pub' });
    try {
      await v5.subscribe('mixed/t', 1);
      await v4.subscribe('mixed/t', 1);
      const properties = {
        userProperties: { a: '1', b: ['x', 'y'] },
        contentType: 'application/json',
        payloadFormatIndicator: true,
        responseTopic: 'mixed/reply',
        correlationData: Buffer.from([1, 2, 3]),
      };
      await publisher.publish('mixed/t', '{"v":1}', { qos: 1, properties });
      const [atV5] = await v5.waitFor(1);
      const [atV4] = await v4.waitFor(1);
      expect(atV5.payload.toString()).toBe('{"v":1}');
      expect(atV5.packet.properties).toMatchObject(properties);
      expect(atV4.payload.toString()).toBe('{"v":1}');
      expect(atV4.packet.properties).toBeUndefined();
    } finally {
      await Promise.all([v5.end(), v4.end(), publisher.end()]);
    }
  });

  it('answers SUBSCRIBE with a v5 SUBACK of the granted QoS and QoS 1 with a PUBACK', async () => {
    const client = await TestClient.connect(url, { ...V5, clientId: 'v5-acks' });
    try {
      const granted = await client.subscribe('acks/+', 2);
      expect(granted.map((grant) => grant.qos)).toEqual([2]);
      await client.publish('acks/x', 'q1', { qos: 1 });
      const [message] = await client.waitFor(1);
      expect(message.packet.qos).toBe(1);
      await client.publish('acks/x', 'q2', { qos: 2 });
      await client.waitFor(2);
    } finally {
      await client.end();
    }
  });

  it('refuses a client id over the limit with CONNACK 0x85 (Client Identifier not valid) to a v5 client', async () => {
    const error = await mqtt.connectAsync(url, { ...V5, clientId: 'x'.repeat(41), reconnectPeriod: 0 }).then(
      (client) => (client.end(true), undefined),
      (caught: Error & { code?: number }) => caught,
    );
    expect(error?.code).toBe(MqttReasonCode.ClientIdentifierNotValid);
  });

  it('MqttBroker.disconnect sends a v5 client DISCONNECT with the reason code and reason string, then closes', async () => {
    const client = await mqtt.connectAsync(url, { ...V5, clientId: 'kicked', reconnectPeriod: 0 });
    const disconnect = new Promise<mqtt.IDisconnectPacket>((resolve) => client.once('disconnect', resolve));
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    expect(broker.disconnect('kicked', { code: MqttReasonCode.AdministrativeAction, reasonString: 'maintenance' })).toBe(true);
    const packet = await disconnect;
    expect(packet.reasonCode).toBe(MqttReasonCode.AdministrativeAction);
    expect(packet.properties?.reasonString).toBe('maintenance');
    await closed;
    await client.endAsync(true);
  });

  it('resolves inbound topic aliases (Topic Alias Maximum 10) and delivers the full topic', async () => {
    const subscriber = await TestClient.connect(url, { ...V5, clientId: 'alias-sub' });
    const publisher = await TestClient.connect(url, { ...V5, clientId: 'alias-pub' });
    try {
      await subscriber.subscribe('alias/t', 1);
      await publisher.publish('alias/t', 'first', { qos: 1, properties: { topicAlias: 3 } });
      await publisher.publish('', 'second', { qos: 1, properties: { topicAlias: 3 } });
      const messages = await subscriber.waitFor(2);
      expect(messages.map((message) => [message.topic, message.payload.toString()])).toEqual([
        ['alias/t', 'first'],
        ['alias/t', 'second'],
      ]);
      expect(messages[1].packet.properties?.topicAlias).toBeUndefined();
    } finally {
      await Promise.all([subscriber.end(), publisher.end()]);
    }
  });

  it('does not put the Will Delay Interval into the will PUBLISH [MQTT-3.3.2 allows it only in CONNECT]', async () => {
    const watcher = await TestClient.connect(url, { ...V5, clientId: 'will-watcher' });
    await watcher.subscribe('will/t', 0);
    const dying = await mqtt.connectAsync(url, {
      ...V5,
      clientId: 'will-dying',
      reconnectPeriod: 0,
      properties: { sessionExpiryInterval: 1 },
      will: { topic: 'will/t', payload: Buffer.from('gone'), qos: 0, retain: false, properties: { willDelayInterval: 1, userProperties: { k: 'v' } } },
    });
    (dying as unknown as { stream: { destroy(): void } }).stream.destroy();
    try {
      const [will] = await watcher.waitFor(1);
      expect(will.payload.toString()).toBe('gone');
      expect(will.packet.properties?.userProperties).toEqual({ k: 'v' });
      expect(will.packet.properties).not.toHaveProperty('willDelayInterval');
    } finally {
      await dying.endAsync(true);
      await watcher.end();
    }
  });
});

describe('MQTT 5.0 server side: shutdown, Server Keep Alive, shared subscriptions', () => {
  it('Will Delay Interval: the will comes after the delay, and not at all when the session resumes within it', async () => {
    const { app, url } = await startApp({ imports: [MqttWsModule.forRoot({})] });
    const watcher = await TestClient.connect(url, { ...V5, clientId: 'delay-watcher' });
    try {
      await watcher.subscribe('delay/+', 0);
      const will = (topic: string) => ({ topic, payload: Buffer.from(topic), qos: 0 as const, retain: false, properties: { willDelayInterval: 1 } });
      const session = { ...V5, reconnectPeriod: 0, clean: false, properties: { sessionExpiryInterval: 30 } };
      const resumed = await mqtt.connectAsync(url, { ...session, clientId: 'delay-resumed', will: will('delay/resumed') });
      const sent = await mqtt.connectAsync(url, { ...session, clientId: 'delay-sent', will: will('delay/sent') });
      const droppedAt = Date.now();
      for (const client of [resumed, sent]) (client as unknown as { stream: { destroy(): void } }).stream.destroy();
      await Promise.all([resumed.endAsync(true), sent.endAsync(true)]);
      const back = await mqtt.connectAsync(url, { ...session, clientId: 'delay-resumed' });
      const [message] = await watcher.waitFor(1);
      expect(message.topic).toBe('delay/sent');
      expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(900);
      // A marker published after the will: the resumed session's will would have come before it.
      await watcher.publish('delay/marker', 'm');
      await watcher.waitFor(2);
      expect(watcher.received().map((received) => received.topic)).toEqual(['delay/sent', 'delay/marker']);
      await back.endAsync();
    } finally {
      await watcher.end();
      await app.close();
    }
  });

  it('sends a v5 client DISCONNECT 0x8B (server shutting down) on app.close(), before the connection closes; a 3.1.1 client just loses the connection', async () => {
    const { app, url } = await startApp({ imports: [MqttWsModule.forRoot({ closeTimeout: 500 })] });
    const v5 = await mqtt.connectAsync(url, { ...V5, clientId: 'shutdown-v5', reconnectPeriod: 0 });
    const v4 = await mqtt.connectAsync(url, { clientId: 'shutdown-v4', reconnectPeriod: 0 });
    const disconnect = new Promise<mqtt.IDisconnectPacket>((resolve) => v5.once('disconnect', resolve));
    let v4Disconnect = false;
    v4.once('disconnect', () => (v4Disconnect = true));
    const v4Closed = new Promise<void>((resolve) => v4.once('close', () => resolve()));
    await app.close();
    expect((await disconnect).reasonCode).toBe(MqttReasonCode.ServerShuttingDown);
    await v4Closed;
    expect(v4Disconnect).toBe(false);
    await Promise.all([v5.endAsync(true), v4.endAsync(true)]);
  });

  it('imposes keepaliveLimit on a v5 client as Server Keep Alive in the CONNACK instead of refusing it', async () => {
    const { app, url } = await startApp({ imports: [MqttWsModule.forRoot({ keepaliveLimit: 30 })] });
    try {
      const client = mqtt.connect(url, { ...V5, clientId: 'keepalive-v5', keepalive: 0, reconnectPeriod: 0 });
      const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => (client.once('connect', resolve), client.once('error', reject)));
      expect(connack.reasonCode).toBe(0);
      expect(connack.properties?.serverKeepAlive).toBe(30);
      await client.endAsync();
    } finally {
      await app.close();
    }
  });

  it('grants a shared subscription to a session that outlives its connection (its messages: shared-sessions.e2e-spec)', async () => {
    const { app, url } = await startApp({ imports: [MqttWsModule.forRoot({})] });
    try {
      const client = await TestClient.connect(url, { ...V5, clientId: 'share-v5', clean: false, properties: { sessionExpiryInterval: 60 } });
      const granted = await client.subscribe(['$share/g/t', 'plain/t'], 1);
      expect(granted.map((grant) => grant.qos)).toEqual([1, 1]);
      await client.client.unsubscribeAsync(['$share/g/t', 'plain/t']);
      await client.end();
    } finally {
      await app.close();
    }
  });
});
