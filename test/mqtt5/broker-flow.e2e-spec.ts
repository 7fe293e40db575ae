/**
 * MQTT 5.0 limits the client sets on what the server sends it: Receive Maximum [MQTT-3.3.4-9] and
 * Maximum Packet Size [MQTT-3.1.2-25] (lib/broker/aedes/protocol/v5-outbound-limits.ts). A raw v5
 * peer, because MQTT.js acknowledges every PUBLISH at once.
 */
import 'reflect-metadata';
import type mqttPacket from 'mqtt-packet';
import { MAX_WAITING_DELIVERIES } from '../../lib/broker/aedes/protocol/v5-outbound-limits.js';
import { MqttWsModule } from '../../lib/index.js';
import { appForSuite } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';
import { RawV5Client } from './raw-v5-client.js';

describe('MQTT 5.0 flow control towards the client', () => {
  const suite = appForSuite({ imports: [MqttWsModule.forRoot({})] });

  it('[MQTT-3.3.4-9] sends no third QoS 1 PUBLISH while two are unacknowledged with Receive Maximum 2, and sends it on PUBACK', async () => {
    const raw = await RawV5Client.connect(suite.url, { clientId: 'rm-raw', properties: { receiveMaximum: 2 } });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rm/t', qos: 1 }, { topic: 'rm/marker', qos: 0 }] });
    await raw.until((packets) => packets.some((packet) => packet.cmd === 'suback'));
    const publisher = await TestClient.connect(suite.url, { protocolVersion: 5, clientId: 'rm-pub' });
    try {
      for (const payload of ['1', '2', '3']) await publisher.publish('rm/t', payload, { qos: 1 });
      await publisher.publish('rm/marker', 'm', { qos: 0 });
      await raw.until((packets) => packets.some((packet) => packet.cmd === 'publish' && packet.topic === 'rm/marker'));
      expect(raw.publishes().filter((packet) => packet.topic === 'rm/t').map((packet) => packet.payload.toString())).toEqual(['1', '2']);
      raw.send({ cmd: 'puback', messageId: raw.publishes()[0].messageId });
      await raw.until(() => raw.publishes().filter((packet) => packet.topic === 'rm/t').length === 3);
      expect(raw.publishes().filter((packet) => packet.topic === 'rm/t').map((packet) => packet.payload.toString())).toEqual(['1', '2', '3']);
    } finally {
      raw.close();
      await publisher.end();
    }
  });

  it('[MQTT-3.1.2-25] does not send a PUBLISH larger than the client\'s Maximum Packet Size, and sends the next one that fits', async () => {
    const small = await TestClient.connect(suite.url, { protocolVersion: 5, clientId: 'mps-small', properties: { maximumPacketSize: 64 } });
    const publisher = await TestClient.connect(suite.url, { protocolVersion: 5, clientId: 'mps-pub' });
    try {
      await small.subscribe('mps/t', 1);
      await publisher.publish('mps/t', 'x'.repeat(70), { qos: 1 });
      await publisher.publish('mps/t', 'fits', { qos: 1 });
      const [message] = await small.waitFor(1);
      expect(message.payload.toString()).toBe('fits');
      expect(small.received()).toHaveLength(1);
    } finally {
      await Promise.all([small.end(), publisher.end()]);
    }
  });

  it(`disconnects with 0x97 (quota exceeded) a client with more than ${MAX_WAITING_DELIVERIES} deliveries waiting for its Receive Maximum`, async () => {
    const raw = await RawV5Client.connect(suite.url, { clientId: 'rm-quota', properties: { receiveMaximum: 1 } });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'quota/t', qos: 1 }] });
    await raw.until((packets) => packets.some((packet) => packet.cmd === 'suback'));
    const publisher = await TestClient.connect(suite.url, { protocolVersion: 5, clientId: 'rm-quota-pub' });
    try {
      for (let i = 0; i < MAX_WAITING_DELIVERIES + 2; i++) void publisher.publish('quota/t', `${i}`, { qos: 1 });
      await raw.until((packets) => packets.some((packet) => packet.cmd === 'disconnect'));
      const disconnect = raw.packets.find((packet) => packet.cmd === 'disconnect') as mqttPacket.IDisconnectPacket;
      expect(disconnect.reasonCode).toBe(0x97);
      expect(raw.publishes().length).toBeLessThanOrEqual(1);
    } finally {
      raw.close();
      await publisher.end();
    }
  });

  it('[MQTT-4.3.3] frees the Receive Maximum slot of a QoS 2 delivery the client ends with a failed PUBREC (0x80), sending no PUBREL for it', async () => {
    const raw = await RawV5Client.connect(suite.url, { clientId: 'rm-pubrec', properties: { receiveMaximum: 1 } });
    await raw.subscribe([{ topic: 'rm-pubrec/t', qos: 2 }]);
    const publisher = await TestClient.connect(suite.url, { protocolVersion: 5, clientId: 'rm-pubrec-pub' });
    try {
      for (const payload of ['1', '2', '3']) await publisher.publish('rm-pubrec/t', payload, { qos: 2 });
      const [first] = await raw.nextPublishes(1);
      expect(first.payload.toString()).toBe('1');
      raw.send({ cmd: 'pubrec', messageId: first.messageId, reasonCode: 0x80 });
      const [, second] = await raw.nextPublishes(2);
      expect(second.payload.toString()).toBe('2');
      // The second flow completes normally and frees the slot for the third.
      raw.send({ cmd: 'pubrec', messageId: second.messageId });
      await raw.until((packets) => packets.some((packet) => packet.cmd === 'pubrel' && packet.messageId === second.messageId));
      raw.send({ cmd: 'pubcomp', messageId: second.messageId });
      const [, , third] = await raw.nextPublishes(3);
      expect(third.payload.toString()).toBe('3');
      expect(raw.packets.filter((packet) => packet.cmd === 'pubrel').map((packet) => packet.messageId)).toEqual([second.messageId]);
    } finally {
      raw.close();
      await publisher.end();
    }
  });

  it('answers the QoS 2 flow and UNSUBSCRIBE of a v5 client with reason codes (PUBREC, PUBCOMP, PUBREL 0x00; UNSUBACK 0x00 and 0x11)', async () => {
    const raw = await RawV5Client.connect(suite.url, { clientId: 'codes-raw' });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'codes/t', qos: 2 }] });
    await raw.until((packets) => packets.some((packet) => packet.cmd === 'suback'));
    raw.send({ cmd: 'publish', topic: 'codes/t', payload: Buffer.from('x'), qos: 2, messageId: 7, retain: false, dup: false });
    await raw.until((packets) => packets.some((packet) => packet.cmd === 'pubrec'));
    raw.send({ cmd: 'pubrel', messageId: 7 });
    await raw.until((packets) => packets.some((packet) => packet.cmd === 'pubcomp') && packets.some((packet) => packet.cmd === 'publish'));
    const delivered = raw.publishes()[0];
    raw.send({ cmd: 'pubrec', messageId: delivered.messageId });
    await raw.until((packets) => packets.some((packet) => packet.cmd === 'pubrel'));
    raw.send({ cmd: 'pubcomp', messageId: delivered.messageId });
    raw.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['codes/t', 'codes/none'] });
    await raw.until((packets) => packets.some((packet) => packet.cmd === 'unsuback'));
    const byCmd = (cmd: string) => raw.packets.find((packet) => packet.cmd === cmd) as unknown as { reasonCode?: number; granted?: number[] };
    try {
      expect(byCmd('pubrec').reasonCode ?? 0).toBe(0);
      expect(byCmd('pubcomp').reasonCode ?? 0).toBe(0);
      expect(byCmd('pubrel').reasonCode ?? 0).toBe(0);
      expect(byCmd('unsuback').granted).toEqual([0x00, 0x11]);
    } finally {
      raw.close();
    }
  });
});

describe('MQTT 5.0 packets written to the client (lib/broker/aedes/protocol/packet-writer.ts)', () => {
  const suite = appForSuite({ imports: [MqttWsModule.forRoot({})] });

  it('writes a PUBLISH without properties of every shape (QoS 0/1/2, retained, UTF-8 topic, payloads across the 1-, 2- and 3-byte remaining lengths) that a v5 parser reads back unchanged', async () => {
    const raw = await RawV5Client.connect(suite.url, { clientId: 'writer-raw' });
    const publisher = await TestClient.connect(suite.url, { protocolVersion: 5, clientId: 'writer-pub' });
    try {
      await raw.subscribe([{ topic: 'writer/#', qos: 2 }]);
      const cases = [
        { topic: 'writer/a', size: 0, qos: 0 as const, retain: false },
        { topic: 'writer/ä/€', size: 100, qos: 1 as const, retain: false },
        { topic: 'writer/b', size: 2047, qos: 2 as const, retain: false },
        { topic: 'writer/c', size: 3000, qos: 1 as const, retain: true },
        { topic: 'writer/d', size: 20000, qos: 0 as const, retain: false },
      ];
      for (const { topic, size, qos, retain } of cases) await publisher.publish(topic, Buffer.alloc(size, size % 251), { qos, retain });
      const packets = await raw.nextPublishes(cases.length);
      for (const packet of packets) {
        if (packet.qos === 1) raw.send({ cmd: 'puback', messageId: packet.messageId });
        if (packet.qos === 2) raw.send({ cmd: 'pubrec', messageId: packet.messageId });
      }
      expect(packets.map((packet) => ({ topic: packet.topic, size: packet.payload.length, qos: packet.qos, retain: packet.retain, dup: packet.dup })))
        .toEqual(cases.map(({ topic, size, qos }) => ({ topic, size, qos, retain: false, dup: false })));
      expect(packets.every((packet, i) => Buffer.from(packet.payload).equals(Buffer.alloc(cases[i].size, cases[i].size % 251)))).toBe(true);
      expect(packets.map((packet) => packet.properties)).toEqual(cases.map(() => undefined));
      await raw.until((all) => all.some((packet) => packet.cmd === 'pubrel'));
      const late = await RawV5Client.connect(suite.url, { clientId: 'writer-late' });
      await late.subscribe([{ topic: 'writer/c', qos: 1 }]);
      const [retained] = await late.nextPublishes(1);
      late.close();
      expect({ retain: retained.retain, qos: retained.qos, size: retained.payload.length }).toEqual({ retain: true, qos: 1, size: 3000 });
    } finally {
      raw.close();
      await publisher.publish('writer/c', '', { qos: 1, retain: true });
      await publisher.end();
    }
  });
});
