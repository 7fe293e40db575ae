/**
 * MQTT 5.0 sessions, server side: Session Expiry Interval, queued QoS 1/2 delivery after a
 * reconnection with Clean Start 0, Message Expiry Interval, flow control (Receive Maximum) and
 * Maximum Packet Size towards the client (docs/mqtt5.md "Server side").
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import mqtt from 'mqtt';
import { MqttWsModule } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';

const V5 = { protocolVersion: 5 } as const;

describe('MQTT 5.0 sessions (MQTT.js, protocol level 5)', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({})] }));
  });
  afterAll(async () => {
    await app.close();
  });

  function connectWithConnack(options: mqtt.IClientOptions): Promise<{ client: mqtt.MqttClient; connack: mqtt.IConnackPacket }> {
    const client = mqtt.connect(url, { reconnectPeriod: 0, ...V5, ...options });
    return new Promise((resolve, reject) => {
      client.once('connect', (connack) => resolve({ client, connack }));
      client.once('error', reject);
    });
  }

  it.each([
    ['Clean Start 0', false, 'queued-a'],
    ['Clean Start 1', true, 'queued-b'],
  ])('delivers the QoS 1 and 2 messages queued while away (first connection with %s) after a reconnection with Clean Start 0, with Session Present', async (_name, cleanStart, id) => {
    const first = await connectWithConnack({ clientId: id, clean: cleanStart, properties: { sessionExpiryInterval: 60 } });
    await first.client.subscribeAsync('queued/t', { qos: 2 });
    await first.client.endAsync();
    const publisher = await TestClient.connect(url, { ...V5, clientId: 'queued-pub' });
    await publisher.publish('queued/t', 'one', { qos: 1 });
    await publisher.publish('queued/t', 'two', { qos: 2 });
    await publisher.end();
    const messages: string[] = [];
    const client = mqtt.connect(url, { ...V5, reconnectPeriod: 0, clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    const both = new Promise<void>((resolve) =>
      client.on('message', (_topic, payload) => {
        messages.push(payload.toString());
        if (messages.length === 2) resolve();
      }),
    );
    const connack = await new Promise<mqtt.IConnackPacket>((resolve) => client.once('connect', resolve));
    try {
      expect(connack.sessionPresent).toBe(true);
      await both;
      expect(messages).toEqual(['one', 'two']);
    } finally {
      await client.endAsync();
    }
  });

  it('delivers the messages queued after a connection was lost (no DISCONNECT) once the session resumes', async () => {
    const first = await connectWithConnack({ clientId: 'queued-lost', clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.client.subscribeAsync('queued-lost/t', { qos: 1 });
    const closed = new Promise<void>((resolve) => first.client.once('close', () => resolve()));
    (first.client as unknown as { stream: { destroy(): void } }).stream.destroy();
    await closed;
    await first.client.endAsync(true);
    const publisher = await TestClient.connect(url, { ...V5, clientId: 'queued-lost-pub' });
    await publisher.publish('queued-lost/t', 'while away', { qos: 1 });
    await publisher.end();
    const client = mqtt.connect(url, { ...V5, reconnectPeriod: 0, clientId: 'queued-lost', clean: false, properties: { sessionExpiryInterval: 60 } });
    const message = new Promise<string>((resolve) => client.once('message', (_topic, payload) => resolve(payload.toString())));
    const connack = await new Promise<mqtt.IConnackPacket>((resolve) => client.once('connect', resolve));
    try {
      expect(connack.sessionPresent).toBe(true);
      expect(await message).toBe('while away');
    } finally {
      await client.endAsync();
    }
  });

  it('[MQTT-3.1.2-5] delivers the queued messages of a session resumed with Clean Start 0 and no Session Expiry on the new connection', async () => {
    const first = await connectWithConnack({ clientId: 'resume-zero', clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.client.subscribeAsync('resume-zero/t', { qos: 1 });
    await first.client.endAsync();
    const publisher = await TestClient.connect(url, { ...V5, clientId: 'resume-zero-pub' });
    await publisher.publish('resume-zero/t', 'kept', { qos: 1 });
    await publisher.end();
    const client = mqtt.connect(url, { ...V5, reconnectPeriod: 0, clientId: 'resume-zero', clean: false });
    const message = new Promise<string>((resolve) => client.once('message', (_topic, payload) => resolve(payload.toString())));
    const connack = await new Promise<mqtt.IConnackPacket>((resolve) => client.once('connect', resolve));
    try {
      expect(connack.sessionPresent).toBe(true);
      expect(await message).toBe('kept');
    } finally {
      await client.endAsync();
    }
    // Session Expiry 0 on that connection: the session ended with it.
    const { client: after, connack: afterConnack } = await connectWithConnack({ clientId: 'resume-zero', clean: false });
    expect(afterConnack.sessionPresent).toBe(false);
    await after.endAsync();
  });

  it('ends a session with Session Expiry Interval 0 (the default) with the connection', async () => {
    const first = await connectWithConnack({ clientId: 'ephemeral', clean: false });
    await first.client.subscribeAsync('ephemeral/t', { qos: 1 });
    await first.client.endAsync();
    const { client, connack } = await connectWithConnack({ clientId: 'ephemeral', clean: false });
    expect(connack.sessionPresent).toBe(false);
    await client.endAsync();
  });

  it('never delivers a queued message whose Message Expiry Interval passed, and decrements it on delivery', async () => {
    const first = await connectWithConnack({ clientId: 'expiry', clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.client.subscribeAsync('expiry/t', { qos: 1 });
    await first.client.endAsync();
    const publisher = await TestClient.connect(url, { ...V5, clientId: 'expiry-pub' });
    await publisher.publish('expiry/t', 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await publisher.publish('expiry/t', 'long', { qos: 1, properties: { messageExpiryInterval: 100 } });
    await publisher.end();
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const received: mqtt.IPublishPacket[] = [];
    const client = mqtt.connect(url, { ...V5, reconnectPeriod: 0, clientId: 'expiry', clean: false, properties: { sessionExpiryInterval: 60 } });
    const one = new Promise<void>((resolve) => client.on('message', (_topic, _payload, packet) => (received.push(packet), resolve())));
    await one;
    // Sent after 'long': had 'short' been delivered, it would have come first. The delivery may come
    // before the PUBACK (MQTT allows either order; acknowledgeAfterRouting sends it), so listen first.
    const marker = new Promise<void>((resolve) => client.on('message', (_topic, payload) => payload.toString() === 'marker' && resolve()));
    await client.publishAsync('expiry/t', 'marker', { qos: 1 });
    await marker;
    try {
      expect(received.map((packet) => packet.payload.toString())).toEqual(['long', 'marker']);
      expect(received[0].properties?.messageExpiryInterval).toBeGreaterThanOrEqual(97);
      expect(received[0].properties?.messageExpiryInterval).toBeLessThan(100);
    } finally {
      await client.endAsync();
    }
  });

  it('[MQTT-3.3.4-3] [MQTT-3.3.4-4] gives a resumed session\'s queued and live messages the subscription identifiers of its restored subscriptions, without a new SUBSCRIBE', async () => {
    const id = 'si-resumed';
    const first = await connectWithConnack({ clientId: id, clean: true, properties: { sessionExpiryInterval: 60 } });
    await first.client.subscribeAsync('si-resumed/a', { qos: 1, properties: { subscriptionIdentifier: 5 } });
    await first.client.subscribeAsync('si-resumed/+', { qos: 1, properties: { subscriptionIdentifier: 6 } });
    await first.client.subscribeAsync('si-only/#', { qos: 1, properties: { subscriptionIdentifier: 9 } });
    await first.client.endAsync();
    const publisher = await TestClient.connect(url, { ...V5, clientId: 'si-resumed-pub' });
    await publisher.publish('si-resumed/a', 'queued both', { qos: 1 });
    await publisher.publish('si-only/x', 'queued one', { qos: 1 });
    const received: mqtt.IPublishPacket[] = [];
    const client = mqtt.connect(url, { ...V5, reconnectPeriod: 0, clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    let expected = 2;
    let arrived: () => void = () => undefined;
    client.on('message', (_topic, _payload, packet) => {
      received.push(packet);
      if (received.length === expected) arrived();
    });
    try {
      const connack = await new Promise<mqtt.IConnackPacket>((resolve) => client.once('connect', resolve));
      expect(connack.sessionPresent).toBe(true);
      await new Promise<void>((resolve) => (received.length >= expected ? resolve() : (arrived = resolve)));
      expected = 4;
      const live = new Promise<void>((resolve) => (arrived = resolve));
      await publisher.publish('si-resumed/a', 'live both', { qos: 1 });
      await publisher.publish('si-only/y', 'live one', { qos: 1 });
      await live;
      const identifiers = (packet: mqtt.IPublishPacket) => [packet.payload.toString(), [packet.properties?.subscriptionIdentifier].flat().sort()];
      expect(received.map(identifiers)).toEqual([
        ['queued both', [5, 6]],
        ['queued one', [9]],
        ['live both', [5, 6]],
        ['live one', [9]],
      ]);
    } finally {
      client.end(true, { properties: { sessionExpiryInterval: 0 } } as never);
      await publisher.end();
    }
  });
});
