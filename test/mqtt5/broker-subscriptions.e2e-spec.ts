/**
 * MQTT 5.0 subscription options and identifiers, server side: No Local, Retain As Published,
 * Retain Handling 0/1/2, Subscription Identifiers (one copy carrying every matching identifier).
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { MqttWsModule } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';

const V5 = { protocolVersion: 5 } as const;

describe('MQTT 5.0 subscription options (MQTT.js, protocol level 5)', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({})] }));
  });
  afterAll(async () => {
    await app.close();
  });

  it('[MQTT-3.8.3-3] No Local: a client does not get its own messages on that subscription', async () => {
    const client = await TestClient.connect(url, { ...V5, clientId: 'nl-self' });
    const other = await TestClient.connect(url, { ...V5, clientId: 'nl-other' });
    try {
      await client.client.subscribeAsync('nl/t', { qos: 1, nl: true });
      await client.client.subscribeAsync('nl/marker', { qos: 1 });
      await client.publish('nl/t', 'own', { qos: 1 });
      await other.publish('nl/t', 'theirs', { qos: 1 });
      await client.publish('nl/marker', 'm', { qos: 1 });
      await client.waitFor(1, 'nl/marker');
      expect(client.received('nl/t').map((message) => message.payload.toString())).toEqual(['theirs']);
    } finally {
      await Promise.all([client.end(), other.end()]);
    }
  });

  it('[MQTT-3.3.1-12] [MQTT-3.3.1-13] Retain As Published keeps RETAIN 1 on forwarded messages; without it RETAIN is 0', async () => {
    const rap = await TestClient.connect(url, { ...V5, clientId: 'rap-1' });
    const plain = await TestClient.connect(url, { ...V5, clientId: 'rap-0' });
    try {
      await rap.client.subscribeAsync('rap/t', { qos: 1, rap: true });
      await plain.client.subscribeAsync('rap/t', { qos: 1 });
      await rap.publish('rap/t', 'kept', { qos: 1, retain: true });
      const [atRap] = await rap.waitFor(1);
      const [atPlain] = await plain.waitFor(1);
      expect(atRap.packet.retain).toBe(true);
      expect(atPlain.packet.retain).toBe(false);
      await rap.publish('rap/t', '', { qos: 1, retain: true });
    } finally {
      await Promise.all([rap.end(), plain.end()]);
    }
  });

  it('[MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11] Retain Handling 0 sends the retained message on every subscribe, 1 only on a new subscription, 2 never', async () => {
    const publisher = await TestClient.connect(url, { ...V5, clientId: 'rh-pub' });
    await publisher.publish('rh/t', 'stored', { qos: 1, retain: true });
    const counts: number[] = [];
    for (const rh of [0, 1, 2] as const) {
      const client = await TestClient.connect(url, { ...V5, clientId: `rh-${rh}` });
      await client.client.subscribeAsync('rh/t', { qos: 1, rh });
      await client.client.subscribeAsync('rh/t', { qos: 1, rh });
      await client.client.subscribeAsync('rh/marker', { qos: 1 });
      await client.publish('rh/marker', 'm', { qos: 1 });
      await client.waitFor(1, 'rh/marker');
      counts.push(client.received('rh/t').length);
      await client.end();
    }
    await publisher.publish('rh/t', '', { qos: 1, retain: true });
    await publisher.end();
    expect(counts).toEqual([2, 1, 0]);
  });

  it('[MQTT-3.3.4-3] [MQTT-3.3.4-4] [MQTT-3.3.4-5] a message matching two subscriptions with identifiers comes once, carrying both identifiers', async () => {
    const client = await TestClient.connect(url, { ...V5, clientId: 'sid' });
    const publisher = await TestClient.connect(url, { ...V5, clientId: 'sid-pub' });
    try {
      await client.client.subscribeAsync('sid/+', { qos: 1, properties: { subscriptionIdentifier: 1 } });
      await client.client.subscribeAsync('sid/#', { qos: 1, properties: { subscriptionIdentifier: 2 } });
      await client.client.subscribeAsync('sid-marker', { qos: 1 });
      await publisher.publish('sid/x', 'both', { qos: 1 });
      await publisher.publish('sid-marker', 'm', { qos: 1 });
      await client.waitFor(1, 'sid-marker');
      const copies = client.received('sid/x');
      expect(copies).toHaveLength(1);
      const identifiers = copies[0].packet.properties?.subscriptionIdentifier;
      expect(([] as number[]).concat(identifiers ?? []).sort()).toEqual([1, 2]);
    } finally {
      await Promise.all([client.end(), publisher.end()]);
    }
  });

  it('[MQTT-4.8.2] shared subscriptions $share/{group}/{filter}: each message to one member of the group, in turn; a plain subscriber gets every message; no retained message on subscribe', async () => {
    const publisher = await TestClient.connect(url, { ...V5, clientId: 'share-pub' });
    await publisher.publish('share/t', 'retained', { qos: 1, retain: true });
    const members = [await TestClient.connect(url, { ...V5, clientId: 'share-m1' }), await TestClient.connect(url, { ...V5, clientId: 'share-m2' })];
    const other = await TestClient.connect(url, { ...V5, clientId: 'share-other-group' });
    const plain = await TestClient.connect(url, { ...V5, clientId: 'share-plain' });
    try {
      for (const member of members) await member.subscribe('$share/g/share/+', 1);
      await other.subscribe('$share/h/share/+', 1);
      await plain.client.subscribeAsync('share/t', { qos: 1, rh: 2 });
      const count = 10;
      for (let i = 0; i < count; i++) await publisher.publish('share/t', `m${i}`, { qos: 1 });
      await plain.waitFor(count);
      await other.waitFor(count);
      const received = members.map((member) => member.received().map((message) => message.payload.toString()));
      // Each message once in group g, spread over both members; group h (one member) gets them all.
      expect([...received[0], ...received[1]].sort()).toEqual(Array.from({ length: count }, (_, i) => `m${i}`).sort());
      expect(received[0].length).toBeGreaterThan(0);
      expect(received[1].length).toBeGreaterThan(0);
      expect(other.received()).toHaveLength(count);
      expect(received.flat()).not.toContain('retained');
      // A member that unsubscribes leaves the group: the other gets every message.
      await members[0].client.unsubscribeAsync('$share/g/share/+');
      await publisher.publish('share/t', 'after', { qos: 1 });
      await members[1].waitFor(received[1].length + 1);
      expect(members[1].received().at(-1)?.payload.toString()).toBe('after');
    } finally {
      await publisher.publish('share/t', '', { qos: 1, retain: true });
      await Promise.all([...members, other, plain, publisher].map((client) => client.end()));
    }
  });
});
