import 'reflect-metadata';
import { Injectable, type INestApplication } from '@nestjs/common';
import type { MqttBroker } from '../../lib/broker/mqtt-broker.js';
import { MqttSubscribe, MqttWsModule } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';
import { RawMqttSocket, upgradeStatus } from '../utils/raw-mqtt-socket.js';
import { HealthyStream } from './utils/healthy-stream.js';
import { Random } from './utils/random.js';
import { rawPacket } from '../utils/raw-packet.js';
import { brokerOf } from '../utils/broker.js';

const CONNECT = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0 };
const publish = (topic: string, messageId = 1) => ({ cmd: 'publish', topic, payload: 'x', qos: 1, messageId, retain: false, dup: false });

let thrown = 0;
let streams = 0;

@Injectable()
class ThrowingHandler {
  @MqttSubscribe('throw/#')
  onMessage(): never {
    thrown++;
    throw new Error('handler bug');
  }
}

/** A PUBLISH with a raw topic: mqtt-packet will not write invalid UTF-8 or a 64 KiB topic for us. */
function rawPublish(topic: Buffer): Buffer {
  return rawPacket(0x30, Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.from('x')]));
}

describe('bad input, with a healthy QoS 1 stream alongside', () => {
  let app: INestApplication;
  let url: string;
  let broker: MqttBroker;
  let healthy: HealthyStream;
  let hostile: RawMqttSocket | undefined;

  beforeAll(async () => {
    ({ app, url } = await startApp({
      imports: [MqttWsModule.forRoot({ connectTimeout: 300, maxPayload: 256 * 1024, maxTopicLength: 1024 })],
      providers: [ThrowingHandler],
    }));
    broker = brokerOf(app);
  });

  beforeEach(async () => {
    healthy = await HealthyStream.start(url, `healthy-${++streams}`);
    await healthy.progress(5);
  });

  afterEach(async () => {
    await hostile?.close();
    hostile = undefined;
    await healthy.finish();
  });

  afterAll(() => app.close());

  const open = async (connect = true) => {
    hostile = await RawMqttSocket.open(url);
    if (connect) await hostile.connect(`hostile-${Math.random()}`);
    return hostile;
  };

  it('text frames', async () => {
    const raw = await open();
    raw.send('{"cmd":"publish"}', false);
    expect((await raw.closed).code).toBe(1003);
  });

  it('random bytes', async () => {
    const random = new Random(4);
    const raw = await open(false);
    raw.send(random.bytes(512));
    await raw.closed;
  });

  it('a malformed CONNECT', async () => {
    const raw = await open(false);
    const connect = RawMqttSocket.encode({ ...CONNECT, clientId: 'malformed' });
    connect[4] = 0x58; // "MQTT" becomes "XQTT"
    raw.send(connect);
    await raw.closed;
    expect(raw.packets).toHaveLength(0);
  });

  it('a truncated CONNECT is closed at connectTimeout', async () => {
    const raw = await open(false);
    raw.send(RawMqttSocket.encode({ ...CONNECT, clientId: 'truncated' }).subarray(0, 9));
    await raw.closed;
    expect(raw.packets).toHaveLength(0);
  });

  it('a packet length larger than allowed', async () => {
    const raw = await open();
    // PUBLISH announcing 268,435,455 bytes: the largest remaining length MQTT can encode.
    raw.send(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x01]));
    await raw.closed;
  });

  it('CONNECT twice', async () => {
    const raw = await open();
    raw.sendPacket({ ...CONNECT, clientId: 'again' });
    await raw.closed;
    expect(raw.packets).toHaveLength(1);
  });

  it('PUBLISH before CONNECT delivers nothing', async () => {
    const raw = await open(false);
    raw.sendPacket({ ...publish(healthy.topic), payload: 'injected' });
    await raw.closed;
    expect(raw.packets).toHaveLength(0);
  });

  it.each([
    ['invalid UTF-8 in a topic', Buffer.from([0x61, 0xff, 0xfe, 0x62])],
    ['a wildcard in a PUBLISH topic', Buffer.from('a/+/b')],
    ['a # in a PUBLISH topic', Buffer.from('a/#')],
    ['an empty topic', Buffer.alloc(0)],
    ['a 64 KiB topic', Buffer.alloc(65535, 0x61)],
  ])('%s', async (_name, topic) => {
    const raw = await open();
    raw.send(rawPublish(topic));
    await raw.closed;
    expect(raw.packets).toHaveLength(1);
  });

  it('a wrong subprotocol, and none', async () => {
    expect(await upgradeStatus(url, ['chat'])).toEqual({ status: 400 });
    expect(await upgradeStatus(url, 'mqttv5')).toEqual({ status: 400 });
    // allowMissingSubprotocol defaults to true: such a client speaks MQTT as any other.
    const raw = await RawMqttSocket.open(url, []);
    hostile = raw;
    await raw.connect('no-subprotocol');
  });

  it('a client that opens the socket and never speaks', async () => {
    const raw = await open(false);
    await raw.closed;
  });

  it('a client that vanishes mid-packet', async () => {
    const raw = await open();
    const packet = RawMqttSocket.encode({ ...publish(healthy.topic), payload: Buffer.alloc(1000) });
    const disconnected = new Promise((resolve) => broker.once('clientDisconnected', resolve));
    raw.send(packet.subarray(0, 500));
    raw.socket.terminate();
    await disconnected;
  });

  it('10,000 subscriptions from one client', async () => {
    const raw = await open();
    const subscriptions = Array.from({ length: 10_000 }, (_, i) => ({ topic: `many/${i}/+`, qos: 1 }));
    raw.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions });
    const [, suback] = await raw.waitForPackets(2);
    expect(suback).toMatchObject({ cmd: 'suback' });
    expect((suback as { granted: number[] }).granted).toHaveLength(10_000);
    raw.sendPacket(publish('many/9999/x', 2));
    // PUBACK and the delivery, in either order.
    const packets = await raw.waitForPackets(4);
    expect(packets.slice(2).map((packet) => packet.cmd).sort()).toEqual(['puback', 'publish']);
    const disconnected = new Promise((resolve) => broker.once('clientDisconnected', resolve));
    await raw.close();
    hostile = undefined;
    await disconnected;
  });

  it('a handler that throws on every message', async () => {
    const client = await TestClient.connect(url, { clientId: 'throw-publisher' });
    for (let i = 0; i < 50; i++) await client.publish(`throw/${i}`, '{}', { qos: 1 });
    expect(thrown).toBe(50);
    await client.end();
  });
});
