/**
 * With `acknowledgeAfterRouting`, a QoS 1 PUBACK leaves once its message is routed (lib/broker/aedes/protocol/puback-after-routing.ts):
 * on one connection that is subscribed to what it publishes, the delivery comes before the
 * acknowledgement; and PUBACKs keep the order of their PUBLISHes [MQTT-4.6.0-2], also when the
 * messages finish routing out of order (with `maxBufferedBytes: 0` a delivery to a subscriber that
 * stopped reading holds its message's routing until the subscriber drains or is dropped).
 */
import 'reflect-metadata';
import type { Socket } from 'node:net';
import type mqttPacket from 'mqtt-packet';
import mqtt from 'mqtt-packet';
import { MqttWsModule } from '../../lib/index.js';
import { appForSuite } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';
import { RawMqttSocket } from '../utils/raw-mqtt-socket.js';
import { ProtocolClient } from './protocol-client.js';

/** A client subscribed at QoS 1 to the topic it publishes a QoS 1 message to: the two packets it gets, in order. */
async function ownMessageAndAck(url: string, clientId: string): Promise<string[]> {
  const topic = `${clientId}/t`;
  const { client } = await ProtocolClient.connect(url, { clientId });
  try {
    expect(await client.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] })).toMatchObject({ cmd: 'suback', granted: [1] });
    client.send({ cmd: 'publish', topic, payload: Buffer.from('one'), qos: 1, messageId: 7, retain: false, dup: false });
    const packets = (await client.nextPackets(2)) as (mqttPacket.IPublishPacket | mqttPacket.IPubackPacket)[];
    return packets.map((packet) => (packet.cmd === 'publish' && packet.qos === 1 ? `publish ${packet.topic}` : `${packet.cmd} ${packet.messageId}`));
  } finally {
    await client.drop();
  }
}

describe('QoS 1 acknowledgements follow routing (acknowledgeAfterRouting)', () => {
  const suite = appForSuite({ imports: [MqttWsModule.forRoot({ acknowledgeAfterRouting: true })] });

  it('delivers a message to its subscribers before it acknowledges it to the publisher', async () => {
    expect(await ownMessageAndAck(suite.url, 'puback-self')).toEqual(['publish puback-self/t', 'puback 7']);
  });

  it('sends the PUBACKs of many PUBLISHes in one frame in the order the PUBLISHes came, retained ones among them [MQTT-4.6.0-2]', async () => {
    const { client } = await ProtocolClient.connect(suite.url, { clientId: 'puback-order' });
    const subscriber = await TestClient.connect(suite.url, { clientId: 'puback-order-sub' });
    try {
      await subscriber.subscribe('puback/order/#', 1);
      const ids = Array.from({ length: 40 }, (_, i) => ((i * 7919) % 60000) + 1);
      const frame = Buffer.concat(
        ids.map((messageId, i) =>
          mqtt.generate({ cmd: 'publish', topic: `puback/order/${i % 4}`, payload: Buffer.from(String(i)), qos: 1, messageId, retain: i % 3 === 0, dup: false }),
        ),
      );
      client.sendBytes(frame);
      const acks = (await client.nextPackets(ids.length)) as mqttPacket.IPubackPacket[];
      expect(acks.map((ack) => `${ack.cmd} ${ack.messageId}`)).toEqual(ids.map((id) => `puback ${id}`));
      const delivered = await subscriber.waitFor(ids.length);
      expect(delivered.map((message) => message.payload.toString()).sort((a, b) => Number(a) - Number(b))).toEqual(ids.map((_, i) => String(i)));
    } finally {
      await client.drop();
      await subscriber.end();
    }
  });

  it('routes the QoS 1 message of a publisher that goes away at once, drops its PUBACK and keeps serving', async () => {
    const subscriber = await TestClient.connect(suite.url, { clientId: 'puback-gone-sub' });
    try {
      await subscriber.subscribe('puback/gone', 1);
      const gone = await RawMqttSocket.open(suite.url);
      await gone.connect('puback-gone');
      gone.sendPacket({ cmd: 'publish', topic: 'puback/gone', payload: Buffer.from('last words'), qos: 1, messageId: 5, retain: false, dup: false });
      gone.socket.terminate();
      const [message] = await subscriber.waitFor(1, 'puback/gone');
      expect(message.payload.toString()).toBe('last words');
      const { client } = await ProtocolClient.connect(suite.url, { clientId: 'puback-after-gone' });
      expect(await client.request({ cmd: 'publish', topic: 'puback/gone', payload: Buffer.from('next'), qos: 1, messageId: 6, retain: false, dup: false })).toMatchObject({
        cmd: 'puback',
        messageId: 6,
      });
      await client.drop();
    } finally {
      await subscriber.end();
    }
  });

  it('acknowledges a QoS 1 message nobody is subscribed to', async () => {
    const { client } = await ProtocolClient.connect(suite.url, { clientId: 'puback-nobody' });
    try {
      expect(await client.request({ cmd: 'publish', topic: 'puback/nobody', payload: Buffer.from('x'), qos: 1, messageId: 3, retain: false, dup: false })).toMatchObject({
        cmd: 'puback',
        messageId: 3,
      });
    } finally {
      await client.drop();
    }
  });
});

describe('QoS 1 acknowledgements when a message waits for a subscriber that stopped reading', () => {
  // maxBufferedBytes 0: Aedes holds a delivery to a full stream until it drains, drainTimeout at most.
  const BIG = 12 * 1024 * 1024;
  const suite = appForSuite({ imports: [MqttWsModule.forRoot({ acknowledgeAfterRouting: true, maxBufferedBytes: 0, drainTimeout: 500, maxPayload: 16 * 1024 * 1024, maxPacketSize: 16 * 1024 * 1024 })] });

  it('holds the PUBACK of a later message routed first until the earlier one is routed [MQTT-4.6.0-2]', async () => {
    const slow = await RawMqttSocket.open(suite.url);
    await slow.connect('puback-stalled');
    slow.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'puback/stalled', qos: 0 }] });
    await slow.waitForPackets(2);
    // Stop reading: 12 MiB do not fit in the kernel's buffers, so that delivery waits (until drainTimeout drops the subscriber).
    (slow.socket as unknown as { _socket: Socket })._socket.pause();
    const { client } = await ProtocolClient.connect(suite.url, { clientId: 'puback-stalled-pub' });
    try {
      client.sendBytes(
        Buffer.concat([
          mqtt.generate({ cmd: 'publish', topic: 'puback/stalled', payload: Buffer.alloc(BIG, 7), qos: 1, messageId: 11, retain: false, dup: false }),
          mqtt.generate({ cmd: 'publish', topic: 'puback/free', payload: Buffer.from('x'), qos: 1, messageId: 12, retain: false, dup: false }),
        ]),
      );
      const acks = (await client.nextPackets(2)) as mqttPacket.IPubackPacket[];
      expect(acks.map((ack) => `${ack.cmd} ${ack.messageId}`)).toEqual(['puback 11', 'puback 12']);
    } finally {
      slow.socket.terminate();
      await client.drop();
    }
  });
});

describe('QoS 1 acknowledgements by default', () => {
  const suite = appForSuite({ imports: [MqttWsModule.forRoot({})] });

  it("keeps Aedes' order: the PUBACK, then the delivery to the publisher's own subscription", async () => {
    expect(await ownMessageAndAck(suite.url, 'puback-default')).toEqual(['puback 7', 'publish puback-default/t']);
  });
});
