/**
 * The PUBLISH packets the server writes to MQTT 3.1.1 clients: encoded by the adapter in one buffer
 * (lib/broker/aedes/protocol/packet-writer.ts) instead of mqtt-packet's five writes. Read back by
 * an independent parser, every shape must come out as it went in [MQTT-3.3].
 */
import 'reflect-metadata';
import type mqttPacket from 'mqtt-packet';
import { MqttWsModule } from '../../lib/index.js';
import { appForSuite } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';
import { ProtocolClient } from './protocol-client.js';

const payloadOf = (size: number) => Buffer.alloc(size, size % 251);

describe('PUBLISH packets written to MQTT 3.1.1 clients', () => {
  const suite = appForSuite({ imports: [MqttWsModule.forRoot({})] });

  it('writes every shape (QoS 0/1/2, retained, UTF-8 topics, 1- to 3-byte remaining lengths, payloads copied or beside) so that a parser reads it back unchanged', async () => {
    const { client: raw } = await ProtocolClient.connect(suite.url, { clientId: 'writer-v4-raw' });
    const publisher = await TestClient.connect(suite.url, { clientId: 'writer-v4-pub' });
    try {
      expect(await raw.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'writer4/#', qos: 2 }] })).toMatchObject({ cmd: 'suback', granted: [2] });
      const cases = [
        { topic: 'writer4/a', size: 0, qos: 0 as const },
        { topic: 'writer4/ä/€', size: 100, qos: 1 as const },
        { topic: 'writer4/b', size: 116, qos: 0 as const },
        { topic: 'writer4/c', size: 2047, qos: 2 as const },
        { topic: 'writer4/d', size: 3000, qos: 1 as const },
        { topic: 'writer4/e', size: 20000, qos: 0 as const },
      ];
      for (const { topic, size, qos } of cases) await publisher.publish(topic, payloadOf(size), { qos });
      const packets = (await raw.nextPackets(cases.length)) as mqttPacket.IPublishPacket[];
      expect(packets.map((packet) => ({ cmd: packet.cmd, topic: packet.topic, size: packet.payload.length, qos: packet.qos, retain: packet.retain, dup: packet.dup })))
        .toEqual(cases.map(({ topic, size, qos }) => ({ cmd: 'publish', topic, size, qos, retain: false, dup: false })));
      expect(packets.map((packet, i) => Buffer.from(packet.payload).equals(payloadOf(cases[i].size)))).toEqual(cases.map(() => true));
      expect(packets.filter((packet) => packet.qos > 0).every((packet) => Number.isInteger(packet.messageId) && packet.messageId! > 0)).toBe(true);
    } finally {
      await raw.drop();
      await publisher.end();
    }
  });

  it('writes a retained message with its RETAIN flag, and a QoS 1 redelivery to a resumed session with DUP', async () => {
    const publisher = await TestClient.connect(suite.url, { clientId: 'writer-v4-pub-2' });
    const { client: first } = await ProtocolClient.connect(suite.url, { clientId: 'writer-v4-session', clean: false });
    try {
      await publisher.publish('writer4/retained', payloadOf(3000), { qos: 1, retain: true });
      first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'writer4/retained', qos: 1 }] });
      const [retained] = (await first.nextPackets(2)).filter(
        (packet): packet is mqttPacket.IPublishPacket => packet.cmd === 'publish',
      );
      expect({ retain: retained.retain, qos: retained.qos, dup: retained.dup, size: retained.payload.length }).toEqual({ retain: true, qos: 1, dup: false, size: 3000 });
      first.send({ cmd: 'puback', messageId: retained.messageId });
      await publisher.publish('writer4/retained', payloadOf(300), { qos: 1 });
      const [live] = (await first.nextPackets(1)) as mqttPacket.IPublishPacket[];
      expect({ retain: live.retain, dup: live.dup, size: live.payload.length }).toEqual({ retain: false, dup: false, size: 300 });
      await first.drop();
      const { client: second } = await ProtocolClient.connect(suite.url, { clientId: 'writer-v4-session', clean: false });
      const [again] = (await second.nextPackets(1)) as mqttPacket.IPublishPacket[];
      expect({ topic: again.topic, dup: again.dup, qos: again.qos, messageId: again.messageId, size: again.payload.length }).toEqual({
        topic: 'writer4/retained',
        dup: true,
        qos: 1,
        messageId: live.messageId,
        size: 300,
      });
      second.send({ cmd: 'puback', messageId: again.messageId });
      await second.disconnect();
    } finally {
      await publisher.publish('writer4/retained', '', { qos: 1, retain: true });
      await publisher.end();
    }
  });
});
