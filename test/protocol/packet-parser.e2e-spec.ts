/**
 * The server's packet parser (lib/broker/aedes/protocol/lean-packet-parser.ts over packet-bytes.ts):
 * a session sent a packet per WebSocket frame, a byte per frame, and cut at random points with
 * several packets in a frame gets the same answers, in MQTT 3.1.1 and MQTT 5; and the malformed
 * packets it now recognises itself close the connection.
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { MqttWsModule } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { Random } from '../security/utils/random.js';
import { CONNECT, ProtocolClient, connectBody, mqttString, rawPacket } from './protocol-client.js';

type Framing = 'packet per frame' | 'byte per frame' | 'random cuts';
const FRAMINGS: Framing[] = ['packet per frame', 'byte per frame', 'random cuts'];

/** 0, 2 and 3 bytes of Remaining Length; topics with two- and three-byte UTF-8. */
const SMALL = Buffer.alloc(0);
const MEDIUM = Buffer.alloc(200, 0x4d);
const LARGE = Buffer.alloc(16_500, 0x4c);

describe('the packet parser, whatever the framing', () => {
  let app: INestApplication;
  let url: string;
  const open: ProtocolClient[] = [];
  let sessions = 0;

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({})] }));
  });

  afterAll(async () => {
    await Promise.all(open.map((client) => client.drop()));
    await app.close();
  });

  const opened = async (version: 4 | 5) => {
    const client = await ProtocolClient.open(url);
    if (version === 5) client.speakMqtt5();
    open.push(client);
    return client;
  };

  /** Sends the packets as the framing says. */
  const sendFramed = (client: ProtocolClient, packets: Buffer[], framing: Framing, random: Random) => {
    if (framing === 'packet per frame') return packets.forEach((packet) => client.sendBytes(packet));
    const bytes = Buffer.concat(packets);
    for (let at = 0; at < bytes.length; ) {
      const size = framing === 'byte per frame' ? 1 : 1 + random.int(40);
      client.sendBytes(bytes.subarray(at, at + size));
      at += size;
    }
  };

  /** What an answer is, without the packet identifiers the server chooses for its deliveries. */
  const describePacket = (packet: Packet) => {
    const { cmd } = packet;
    if (cmd === 'publish') {
      const properties = packet.properties ? ` ${JSON.stringify(packet.properties)}` : '';
      return `publish ${packet.topic} qos${packet.qos} ${packet.payload.length}B ${Buffer.from(packet.payload).toString('latin1', 0, 1)}${properties}`;
    }
    if (cmd === 'connack') return `connack ${packet.returnCode ?? packet.reasonCode}`;
    if (cmd === 'suback') return `suback ${packet.messageId} ${packet.granted.join()}`;
    return 'messageId' in packet && packet.messageId !== undefined ? `${cmd} ${packet.messageId}` : cmd;
  };

  /**
   * A session in two steps (the PUBREL must follow the stored QoS 2 message); the answers of each,
   * sorted (Aedes delivers a QoS 2 message before its PUBREC or after).
   */
  const runSession = async (version: 4 | 5, framing: Framing) => {
    const client = await opened(version);
    const random = new Random(version * 10 + FRAMINGS.indexOf(framing));
    const encode = (packet: Record<string, unknown>) => mqttPacket.generate(packet as unknown as Packet, { protocolVersion: version });
    const properties = version === 5 ? { contentType: 'text/plain', userProperties: { unit: '°C' } } : undefined;
    const publish = (topic: string, payload: Buffer, qos: 0 | 1 | 2, messageId?: number) =>
      encode({ cmd: 'publish', topic, payload, qos, messageId, retain: false, dup: false, ...(properties ? { properties } : {}) });
    const clientId = `parser-${version}-${++sessions}`;
    sendFramed(
      client,
      [
        encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId }),
        encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${clientId}/#`, qos: 2 }] }),
        publish(`${clientId}/ä`, SMALL, 0),
        publish(`${clientId}/€`, MEDIUM, 1, 2),
        publish(`${clientId}/large`, LARGE, 2, 3),
        encode({ cmd: 'pingreq' }),
      ],
      framing,
      random,
    );
    const first = await client.nextPackets(8, 10_000);
    sendFramed(
      client,
      [
        encode({ cmd: 'pubrel', messageId: 3 }),
        encode({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: [`${clientId}/#`] }),
        publish(`elsewhere/${clientId}`, MEDIUM, 1, 5),
      ],
      framing,
      random,
    );
    const second = await client.nextPackets(3, 10_000);
    expect(await client.next(100)).toBeUndefined();
    const answers = (packets: Packet[]) => packets.map(describePacket).map((text) => text.replace(clientId, 'id')).sort();
    return [answers(first), answers(second)];
  };

  it.each([4, 5] as const)('answers an MQTT %i session the same, a packet per frame, a byte per frame or cut at random', async (version) => {
    const sessions = [];
    for (const framing of FRAMINGS) sessions.push(await runSession(version, framing));
    const properties = version === 5 ? ' {"contentType":"text/plain","userProperties":{"unit":"°C"}}' : '';
    expect(sessions[0]).toEqual([
      [
        'connack 0',
        'pingresp',
        'puback 2',
        'pubrec 3',
        `publish id/ä qos0 0B ${properties}`,
        `publish id/€ qos1 200B M${properties}`,
        `publish id/large qos2 16500B L${properties}`,
        'suback 1 2',
      ].sort(),
      ['pubcomp 3', 'puback 5', 'unsuback 4'].sort(),
    ]);
    expect(sessions[1]).toEqual(sessions[0]);
    expect(sessions[2]).toEqual(sessions[0]);
  }, 60_000);

  describe('closes the connection on a malformed packet', () => {
    const connected = async () => {
      const { client } = await ProtocolClient.connect(url, { clientId: `parser-bad-${++sessions}` });
      open.push(client);
      return client;
    };
    const expectClosed = async (client: ProtocolClient) => {
      expect(await client.next()).toBeUndefined();
      expect(client.isClosed).toBe(true);
    };

    it.each([
      ['[MQTT-2.2.2-2] PUBREL without its required flags', Buffer.from([0x60, 0x02, 0x00, 0x01])],
      ['[MQTT-2.2.2-2] PINGREQ with a flag set', Buffer.from([0xc1, 0x00])],
      // Aedes would refuse it too, as a packet it has no handler for.
      ['[MQTT-2.2.1] the reserved packet type 0', Buffer.from([0x00, 0x00])],
      ['[MQTT-1.5.5] a Remaining Length of five bytes', Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])],
      ['[MQTT-2.3.1-1] a QoS 1 PUBLISH that ends inside its packet identifier', rawPacket(0x32, Buffer.concat([mqttString('short/id'), Buffer.from([0x00])]))],
      ['[MQTT-2.3.1-1] a PUBACK that ends inside its packet identifier', Buffer.from([0x40, 0x01, 0x00])],
    ])('%s', async (_title, bytes) => {
      const client = await connected();
      // The packet, and a PINGREQ behind it in the same frame that must not be answered.
      client.sendBytes(Buffer.concat([bytes, Buffer.from([0xc0, 0x00])]));
      await expectClosed(client);
    });

    it('[MQTT-1.5.3] a PUBLISH whose topic runs past its packet, into bytes that would make a topic', async () => {
      const subscriber = await connected();
      expect(await subscriber.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] })).toMatchObject({ cmd: 'suback' });
      const client = await connected();
      client.sendBytes(Buffer.concat([rawPacket(0x30, Buffer.from([0x00, 0x09, 0x61])), Buffer.from('bcdefghij')]));
      await expectClosed(client);
      expect(await subscriber.next(200)).toBeUndefined();
    });

    it('before CONNECT too: a malformed first packet gets no CONNACK', async () => {
      const client = await ProtocolClient.open(url);
      open.push(client);
      client.sendBytes(Buffer.concat([Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]), rawPacket(CONNECT, connectBody({ fields: [mqttString('late')] }))]));
      await expectClosed(client);
    });
  });
});
