/**
 * MQTT 5 shared subscriptions of persistent sessions (Session Expiry > 0) on one instance (issue 13):
 * a message for the group is queued for one member's session only, online members are preferred,
 * a restored session keeps its group, UNSUBSCRIBE and session end leave it. Across instances:
 * shared-cluster.e2e-spec.ts. docs/mqtt5.md, "Shared subscriptions".
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import mqtt from 'mqtt';
import { MqttWsModule } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';

const V5 = { protocolVersion: 5 } as const;
const SESSION = { ...V5, clean: false, properties: { sessionExpiryInterval: 300 } } as const;

describe('MQTT 5.0 shared subscriptions of persistent sessions (MQTT.js, protocol level 5)', () => {
  let app: INestApplication;
  let url: string;
  const clients: TestClient[] = [];
  const connect = async (clientId: string, options: mqtt.IClientOptions = V5) => {
    const client = await TestClient.connect(url, { ...options, clientId });
    clients.push(client);
    return client;
  };
  const texts = (client: TestClient, topic: string) => client.received(topic).map((message) => message.payload.toString());
  const range = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

  /** A marker on a plain subscription, published after the rest: what was due has arrived by then. */
  const settle = async (client: TestClient, name: string) => {
    await client.subscribe(`marker/${name}`, 1);
    await client.publish(`marker/${name}`, 'm', { qos: 1 });
    await client.waitFor(1, `marker/${name}`);
  };

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({})] }));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end(true)));
  });
  afterAll(async () => {
    await app.close();
  });

  it('grants $share/ to a session that outlives its connection and queues each message for one offline member only', async () => {
    for (const id of ['ps-1', 'ps-2']) {
      const member = await connect(id, SESSION);
      await member.subscribe('$share/ps/queued/+', 1);
      await member.end();
    }
    const publisher = await connect('ps-pub');
    for (let i = 0; i < 8; i++) await publisher.publish('queued/t', `q${i}`, { qos: 1 });
    const back = [await connect('ps-1', SESSION), await connect('ps-2', SESSION)];
    for (const [i, member] of back.entries()) await settle(member, `queued${i}`);
    const received = back.map((member) => texts(member, 'queued/t'));
    expect(received.flat().sort()).toEqual(range('q', 8));
    expect(received[0].length).toBeGreaterThan(0);
    expect(received[1].length).toBeGreaterThan(0);
    for (const member of back) await member.client.unsubscribeAsync('$share/ps/queued/+');
  });

  it('prefers online members: an offline persistent member gets nothing queued while one is connected, with a persistent session or not', async () => {
    const away = await connect('pref-away', SESSION);
    await away.subscribe('$share/pref/pref/t', 1);
    await away.end();
    const persistent = await connect('pref-persistent', SESSION);
    const plain = await connect('pref-plain');
    await persistent.subscribe('$share/pref/pref/t', 1);
    await plain.subscribe('$share/pref/pref/t', 1);
    const publisher = await connect('pref-pub');
    for (let i = 0; i < 8; i++) await publisher.publish('pref/t', `p${i}`, { qos: 1 });
    await settle(persistent, 'pref-p');
    await settle(plain, 'pref-plain');
    const back = await connect('pref-away', SESSION);
    await settle(back, 'pref-back');
    expect(texts(back, 'pref/t')).toEqual([]);
    expect([...texts(persistent, 'pref/t'), ...texts(plain, 'pref/t')].sort()).toEqual(range('p', 8));
    // The persistent online member's messages were acknowledged: nothing comes again on its next connection.
    await persistent.end();
    const again = await connect('pref-persistent', SESSION);
    await settle(again, 'pref-again');
    expect(texts(again, 'pref/t')).toEqual([]);
    for (const member of [back, again]) await member.client.unsubscribeAsync('$share/pref/pref/t');
  });

  it('keeps the group of a restored session: it shares the messages, it does not get them all', async () => {
    const restored = await connect('rs-restored', SESSION);
    await restored.subscribe('$share/rs/restore/t', 1);
    await restored.end();
    const back = await connect('rs-restored', SESSION);
    const other = await connect('rs-other');
    await other.subscribe('$share/rs/restore/t', 1);
    const publisher = await connect('rs-pub');
    for (let i = 0; i < 8; i++) await publisher.publish('restore/t', `r${i}`, { qos: 1 });
    await settle(back, 'rs-back');
    await settle(other, 'rs-other');
    expect([...texts(back, 'restore/t'), ...texts(other, 'restore/t')].sort()).toEqual(range('r', 8));
    expect(texts(back, 'restore/t').length).toBeGreaterThan(0);
    expect(texts(other, 'restore/t').length).toBeGreaterThan(0);
    await back.client.unsubscribeAsync('$share/rs/restore/t');
  });

  it('leaves the group with UNSUBSCRIBE $share/g/f (stored session included) and answers 0x11 for a group the client is not in', async () => {
    const member = await connect('un-member', SESSION);
    await member.subscribe('$share/un/unsub/t', 1);
    const notMember = await member.client.unsubscribeAsync('$share/other/unsub/t');
    const left = await member.client.unsubscribeAsync('$share/un/unsub/t');
    await member.end();
    const publisher = await connect('un-pub');
    await publisher.publish('unsub/t', 'after', { qos: 1 });
    const back = await mqtt.connectAsync(url, { ...SESSION, clientId: 'un-member', reconnectPeriod: 0 });
    const messages: string[] = [];
    back.on('message', (_topic, payload) => messages.push(payload.toString()));
    await back.subscribeAsync('marker/un', { qos: 1 });
    // The delivery may come before the PUBACK (MQTT allows either order; acknowledgeAfterRouting sends it): listen first.
    const marker = new Promise<void>((resolve) => back.on('message', (topic) => topic === 'marker/un' && resolve()));
    await back.publishAsync('marker/un', 'm', { qos: 1 });
    await marker;
    await back.endAsync();
    // mqtt-packet reads an MQTT 5 UNSUBACK's reason codes into `granted`.
    expect((notMember as unknown as { granted?: number[] }).granted).toEqual([0x11]);
    expect((left as unknown as { granted?: number[] }).granted).toEqual([0]);
    expect(messages).toEqual(['m']);
  });

  it('ends the membership with the session: a Clean Start connection of the same client id is no member', async () => {
    const member = await connect('end-member', SESSION);
    await member.subscribe('$share/end/end/t', 1);
    await member.end();
    const fresh = await connect('end-member', { ...V5, clean: true });
    const other = await connect('end-other');
    await other.subscribe('$share/end/end/t', 1);
    const publisher = await connect('end-pub');
    for (let i = 0; i < 4; i++) await publisher.publish('end/t', `e${i}`, { qos: 1 });
    await settle(other, 'end-other');
    await settle(fresh, 'end-fresh');
    expect(texts(other, 'end/t')).toEqual(range('e', 4));
    expect(texts(fresh, 'end/t')).toEqual([]);
  });

  it('queues nothing for a member from a message published to a $share/ topic name (the stored form of its subscription)', async () => {
    const member = await connect('inj-member', SESSION);
    await member.subscribe('$share/inj/inj/+', 1);
    await member.end();
    const publisher = await connect('inj-pub');
    await publisher.publish('$share/inj/inj/t', 'injected', { qos: 1 });
    await publisher.publish('inj/t', 'shared', { qos: 1 });
    const back = await connect('inj-member', SESSION);
    await settle(back, 'inj');
    expect(back.received().map((message) => message.payload.toString())).toEqual(['shared', 'm']);
    await back.client.unsubscribeAsync('$share/inj/inj/+');
  });

  it('[MQTT-3.8.3-4] closes the connection of a client that sets No Local on a shared subscription (a Protocol Error)', async () => {
    const client = await connect('nl-shared');
    const closed = new Promise<void>((resolve) => client.client.once('close', () => resolve()));
    void client.client.subscribeAsync('$share/nl/nl/t', { qos: 1, nl: true }).catch(() => undefined);
    await closed;
    expect(client.client.connected).toBe(false);
  });

  it('refuses a malformed $share/ filter (a wildcard as ShareName, no filter) with 0x9E', async () => {
    const client = await connect('malformed');
    const error = (await client.subscribe(['$share/+/t', '$share/g', 'plain/t'], 1).catch((caught: unknown) => caught)) as { packet?: { granted?: number[] } };
    expect(error.packet?.granted).toEqual([0x9e, 0x9e, 1]);
  });
});
