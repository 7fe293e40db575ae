/**
 * Server → client topic aliases [MQTT-3.3.2.3.4] (lib/broker/aedes/protocol/v5-topic-aliases.ts):
 * raw v5 peers see the packets as written; MQTT.js and Paho Python check that real clients follow.
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type mqttPacket from 'mqtt-packet';
import { MAX_OUTBOUND_TOPIC_ALIASES } from '../../lib/broker/aedes/protocol/v5-topic-aliases.js';
import { MqttWsModule } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';
import { runPaho } from '../utils/paho.js';
import { RawV5Client } from './raw-v5-client.js';

const V5 = { protocolVersion: 5 } as const;

/** What a test compares of a PUBLISH as written: its topic, alias and payload. */
function wire(packet: mqttPacket.IPublishPacket): { topic: string; alias: number | undefined; payload: string } {
  return { topic: packet.topic, alias: packet.properties?.topicAlias, payload: packet.payload.toString() };
}

describe('MQTT 5.0 topic aliases from the server', () => {
  let app: INestApplication;
  let url: string;
  let publisher: TestClient;

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({})] }));
    publisher = await TestClient.connect(url, { ...V5, clientId: 'alias-pub' });
  });
  afterAll(async () => {
    await publisher.end();
    await app.close();
  });

  it('[MQTT-3.3.2.3.4] sends topic + alias on the first PUBLISH of a topic, then an empty topic with the alias, and never an alias above the client\'s maximum', async () => {
    const raw = await RawV5Client.connect(url, { clientId: 'alias-raw', properties: { topicAliasMaximum: 2 } });
    try {
      await raw.subscribe([{ topic: 'alias/#', qos: 1 }]);
      const sent: [string, string][] = [
        ['alias/a', '1'],
        ['alias/a', '2'],
        ['alias/b', '3'],
        ['alias/c', '4'],
        ['alias/b', '5'],
        ['alias/c', '6'],
        ['alias/a', '7'],
      ];
      for (const [topic, payload] of sent) await publisher.publish(topic, payload, { qos: 1 });
      const packets = await raw.nextPublishes(sent.length);
      for (const packet of packets) raw.send({ cmd: 'puback', messageId: packet.messageId });
      expect(packets.map(wire)).toEqual([
        { topic: 'alias/a', alias: 1, payload: '1' },
        { topic: '', alias: 1, payload: '2' },
        { topic: 'alias/b', alias: 2, payload: '3' },
        // Both aliases taken: a third topic goes out in full, every time.
        { topic: 'alias/c', alias: undefined, payload: '4' },
        { topic: '', alias: 2, payload: '5' },
        { topic: 'alias/c', alias: undefined, payload: '6' },
        { topic: '', alias: 1, payload: '7' },
      ]);
    } finally {
      raw.close();
    }
  });

  it('keeps the message\'s properties and subscription identifiers beside the alias, for QoS 0 and 1', async () => {
    const raw = await RawV5Client.connect(url, { clientId: 'alias-props', properties: { topicAliasMaximum: 5 } });
    try {
      await raw.subscribe([{ topic: 'alias-props/t', qos: 1 }], { subscriptionIdentifier: 42 });
      const properties = { userProperties: { k: 'v' }, contentType: 'text/plain' };
      await publisher.publish('alias-props/t', 'one', { qos: 1, properties });
      await publisher.publish('alias-props/t', 'two', { qos: 0, properties });
      const packets = await raw.nextPublishes(2);
      raw.send({ cmd: 'puback', messageId: packets[0].messageId });
      expect(packets.map(wire)).toEqual([
        { topic: 'alias-props/t', alias: 1, payload: 'one' },
        { topic: '', alias: 1, payload: 'two' },
      ]);
      for (const packet of packets) {
        expect(packet.properties).toMatchObject({ userProperties: { k: 'v' }, contentType: 'text/plain', subscriptionIdentifier: 42 });
      }
    } finally {
      raw.close();
    }
  });

  it('sends no alias to a v5 client that did not set Topic Alias Maximum, nor to an MQTT 3.1.1 client', async () => {
    const raw = await RawV5Client.connect(url, { clientId: 'alias-none' });
    const v4 = await TestClient.connect(url, { clientId: 'alias-v4' });
    try {
      await raw.subscribe([{ topic: 'alias-none/t', qos: 0 }]);
      await v4.subscribe('alias-none/t', 0);
      await publisher.publish('alias-none/t', 'one');
      await publisher.publish('alias-none/t', 'two');
      expect((await raw.nextPublishes(2)).map(wire)).toEqual([
        { topic: 'alias-none/t', alias: undefined, payload: 'one' },
        { topic: 'alias-none/t', alias: undefined, payload: 'two' },
      ]);
      expect((await v4.waitFor(2)).map((message) => message.packet.topic)).toEqual(['alias-none/t', 'alias-none/t']);
    } finally {
      raw.close();
      await v4.end();
    }
  });

  it('aliases the retained message sent on SUBSCRIBE, and uses the alias for the next live message', async () => {
    await publisher.publish('alias-retained/t', 'kept', { qos: 1, retain: true });
    const raw = await RawV5Client.connect(url, { clientId: 'alias-retained', properties: { topicAliasMaximum: 1 } });
    try {
      await raw.subscribe([{ topic: 'alias-retained/t', qos: 0 }]);
      await raw.nextPublishes(1);
      await publisher.publish('alias-retained/t', 'live');
      const packets = await raw.nextPublishes(2);
      expect(packets.map(wire)).toEqual([
        { topic: 'alias-retained/t', alias: 1, payload: 'kept' },
        { topic: '', alias: 1, payload: 'live' },
      ]);
      expect(packets.map((packet) => packet.retain)).toEqual([true, false]);
    } finally {
      raw.close();
      await publisher.publish('alias-retained/t', '', { qos: 1, retain: true });
    }
  });

  it('starts over on a new connection: a QoS 1 message resent to a resumed session carries its topic', async () => {
    const connect = { clientId: 'alias-resume', properties: { topicAliasMaximum: 3, sessionExpiryInterval: 60 } };
    const first = await RawV5Client.connect(url, connect);
    await first.subscribe([{ topic: 'alias-resume/t', qos: 1 }]);
    await publisher.publish('alias-resume/t', '1', { qos: 1 });
    await publisher.publish('alias-resume/t', '2', { qos: 1 });
    const before = await first.nextPublishes(2);
    expect(before.map(wire)).toEqual([
      { topic: 'alias-resume/t', alias: 1, payload: '1' },
      { topic: '', alias: 1, payload: '2' },
    ]);
    // '1' acknowledged, '2' not: it is resent on the next connection.
    first.send({ cmd: 'puback', messageId: before[0].messageId });
    await first.drop();
    await publisher.publish('alias-resume/t', '3', { qos: 1 });
    const second = await RawV5Client.connect(url, { ...connect, clean: false });
    try {
      const resent = await second.nextPublishes(2);
      for (const packet of resent) second.send({ cmd: 'puback', messageId: packet.messageId });
      await publisher.publish('alias-resume/t', '4', { qos: 1 });
      const after = await second.nextPublishes(3);
      second.send({ cmd: 'puback', messageId: after[2].messageId });
      expect(after.map(wire)).toEqual([
        { topic: 'alias-resume/t', alias: 1, payload: '2' },
        { topic: '', alias: 1, payload: '3' },
        { topic: '', alias: 1, payload: '4' },
      ]);
      expect(after[0].dup).toBe(true);
    } finally {
      second.send({ cmd: 'disconnect', properties: { sessionExpiryInterval: 0 } });
      second.close();
    }
  });

  it('[MQTT-3.1.2-24] counts a PUBLISH against the client\'s Maximum Packet Size as written: an aliased topic lets a larger payload through; an alias that would not fit is not given', async () => {
    const topic = `alias-size/${'x'.repeat(40)}`;
    // Header 2 + topic 2+51 + id 2 + properties 1(+3 with an alias) = 58 (61) bytes without payload.
    const raw = await RawV5Client.connect(url, { clientId: 'alias-size', properties: { topicAliasMaximum: 2, maximumPacketSize: 70 } });
    try {
      await raw.subscribe([{ topic: 'alias-size/#', qos: 1 }]);
      await publisher.publish(topic, 'a'.repeat(5), { qos: 1 }); // 63 with the alias: fits, takes alias 1
      await publisher.publish(topic, 'b'.repeat(40), { qos: 1 }); // 98 in full, 50 aliased: sent
      const other = `alias-size/${'y'.repeat(40)}`;
      await publisher.publish(other, 'c'.repeat(11), { qos: 1 }); // 69 in full, 72 with an alias: sent in full
      await publisher.publish(other, 'd'.repeat(40), { qos: 1 }); // 98, no alias: not sent
      await publisher.publish(topic, 'end', { qos: 1 });
      const packets = await raw.nextPublishes(4);
      for (const packet of packets) raw.send({ cmd: 'puback', messageId: packet.messageId });
      expect(packets.map(wire)).toEqual([
        { topic, alias: 1, payload: 'a'.repeat(5) },
        { topic: '', alias: 1, payload: 'b'.repeat(40) },
        { topic: other, alias: undefined, payload: 'c'.repeat(11) },
        { topic: '', alias: 1, payload: 'end' },
      ]);
    } finally {
      raw.close();
    }
  });

  it(`keeps at most ${MAX_OUTBOUND_TOPIC_ALIASES} aliases per connection, whatever the client allows; MQTT.js (topicAliasMaximum) gets every topic right`, async () => {
    const subscriber = await TestClient.connect(url, { ...V5, clientId: 'alias-mqttjs', properties: { topicAliasMaximum: 65535 } });
    const wireAliases: (number | undefined)[] = [];
    subscriber.client.on('packetreceive', (packet) => {
      if (packet.cmd === 'publish') wireAliases.push(packet.properties?.topicAlias);
    });
    try {
      await subscriber.subscribe('alias-js/#', 1);
      const topics = Array.from({ length: MAX_OUTBOUND_TOPIC_ALIASES + 6 }, (_, i) => `alias-js/${i}`);
      for (const topic of [...topics, ...topics]) await publisher.publish(topic, topic, { qos: 1 });
      const messages = await subscriber.waitFor(topics.length * 2);
      expect(messages.map((message) => [message.topic, message.payload.toString()])).toEqual([...topics, ...topics].map((topic) => [topic, topic]));
      expect(Math.max(...wireAliases.map((alias) => alias ?? 0))).toBe(MAX_OUTBOUND_TOPIC_ALIASES);
      expect(wireAliases.filter((alias) => alias === undefined)).toHaveLength(12);
    } finally {
      await subscriber.end();
    }
  });

  it('Paho Python (Topic Alias Maximum 4) gets the topic and alias 1, then alias 1 alone; without Topic Alias Maximum, full topics', async () => {
    const { code, events, stderr } = await runPaho('aliases', url).finished;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const messagesOf = (client: string) =>
      events
        .filter((event) => event.event === 'message' && event.client === client)
        .map((event) => [event.topic, (event.properties as { TopicAlias?: number }).TopicAlias ?? null, event.payload]);
    expect(messagesOf('aliased')).toEqual([
      ['paho/alias/t', 1, 'one'],
      ['', 1, 'two'],
    ]);
    expect(messagesOf('plain')).toEqual([
      ['paho/alias/t', null, 'one'],
      ['paho/alias/t', null, 'two'],
    ]);
  });
});
