/**
 * The cluster's own message bus (docs/cluster.md, "The message bus"): the batch codec on its own,
 * then two apps in this process on a private Redis, driven by MQTT.js clients and by the emitter
 * Aedes routes through.
 */
import { jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { MqttService, MqttWsModule } from '../../lib/index.js';
import { isOwnBatch, MessageBatchWriter, newSenderId, readBatch, type BusPacket } from '../../lib/cluster/message-batch.codec.js';
import { MAX_BATCH_BYTES } from '../../lib/cluster/redis-message-bus.js';
import { startApp } from '../utils/app.js';
import { aedesOf } from '../utils/broker.js';
import { ClusterClient } from './utils/cluster-client.js';
import { pollUntil } from './utils/instance-process.js';
import { describeWithRedis, RedisServer } from './utils/redis-server.js';

jest.setTimeout(60_000);

/** A packet as Aedes emits it for a client's QoS 1 PUBLISH (aedes-packet's fields, `messageId` own and undefined). */
function aedesPacket(index: number, payload: Buffer = Buffer.from(`message ${index}`)): BusPacket {
  return {
    cmd: 'publish',
    brokerId: 'broker-a',
    brokerCounter: index + 1,
    topic: `sensors/${index % 7}/temperature`,
    payload,
    qos: 1,
    retain: false,
    dup: false,
    messageId: undefined,
    clientId: `device-${index}`,
  };
}

function roundTrip(packets: BusPacket[], wants: (topic: string) => boolean = () => true): BusPacket[] {
  const writer = new MessageBatchWriter(newSenderId());
  for (const packet of packets) writer.append(packet);
  const received: BusPacket[] = [];
  readBatch(writer.take(), wants, (packet) => received.push(packet));
  return received;
}

describe('The message batch codec', () => {
  it("gives back Aedes' packets with the same own fields and values, in order", () => {
    const packets = [aedesPacket(0), aedesPacket(1, Buffer.alloc(0)), { ...aedesPacket(2), qos: 0, retain: true, dup: true, messageId: 17, brokerId: 'broker-b' }];
    delete packets[2].clientId;
    const received = roundTrip(packets);
    expect(received).toStrictEqual(packets);
    expect(Object.keys(received[0]).sort()).toEqual(Object.keys(packets[0]).sort());
    expect(Object.prototype.hasOwnProperty.call(received[0], 'messageId')).toBe(true);
    expect(Object.prototype.hasOwnProperty.call(received[2], 'clientId')).toBe(false);
  });

  it('carries MQTT 5 properties and any other field, of any kind, and leaves out functions as JSON does', () => {
    const packet: BusPacket = {
      ...aedesPacket(3),
      properties: {
        userProperties: { region: 'eu', tags: ['a', 'b'] },
        correlationData: Buffer.from([1, 2, 3]),
        contentType: 'application/json',
        payloadFormatIndicator: true,
        messageExpiryInterval: 60,
        responseTopic: 'replies/3',
      },
      messageExpiry: 1_800_000_000_000,
      nl: false,
      shareGroup: { group: 'workers', members: ['m1', 'm2'], turn: 1, meta: null, nested: { deeper: [{ x: -1.5 }] } },
      big: 12345678901234567890n,
      when: new Date(0),
      nothing: null,
      unset: undefined,
      ['__proto__']: 'a plain field',
      callback: () => undefined,
    };
    Object.defineProperty(packet, '__proto__', { value: { own: true }, enumerable: true, configurable: true, writable: true });
    const [received] = roundTrip([packet]);
    const { callback: _callback, ...expected } = packet;
    expect(received).toStrictEqual(expected);
    expect(Object.getPrototypeOf(received)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(received, 'callback')).toBe(false);
  });

  it('keeps a string payload a string, and fields of unexpected types as they were', () => {
    const packet: BusPacket = { cmd: 'subscribe-ish', topic: 'odd', payload: 'text ✓', qos: 5, retain: 'yes', brokerCounter: '7', messageId: 70_000, clientId: 42 };
    expect(roundTrip([packet])).toStrictEqual([packet]);
  });

  it('skips the records whose topic the receiver does not want, and reads the rest', () => {
    const packets = Array.from({ length: 20 }, (_, index) => aedesPacket(index));
    const received = roundTrip(packets, (topic) => topic === 'sensors/3/temperature');
    expect(received).toStrictEqual(packets.filter((packet) => packet.topic === 'sensors/3/temperature'));
  });

  it('cuts batches at each take, across arenas, with payloads of several MiB among small ones', () => {
    const writer = new MessageBatchWriter(newSenderId());
    const big = randomBytes(3 * 1024 * 1024);
    const batches: { bytes: Buffer; packets: BusPacket[] }[] = [];
    let index = 0;
    for (let batch = 0; batch < 12; batch++) {
      const packets = Array.from({ length: 200 }, () => aedesPacket(index++, randomBytes(index % 5000)));
      if (batch % 4 === 1) packets.splice(100, 0, aedesPacket(index++, big));
      for (const packet of packets) writer.append(packet);
      batches.push({ bytes: writer.take(), packets });
    }
    for (const { bytes, packets } of batches) {
      const received: BusPacket[] = [];
      readBatch(bytes, () => true, (packet) => received.push(packet));
      expect(received).toStrictEqual(packets);
    }
  });

  it("recognises its own batches by the sender id, and refuses a batch of another format", () => {
    const sender = newSenderId();
    const writer = new MessageBatchWriter(sender);
    writer.append(aedesPacket(0));
    const batch = writer.take();
    expect(isOwnBatch(batch, sender)).toBe(true);
    expect(isOwnBatch(batch, newSenderId())).toBe(false);
    const foreign = Buffer.from(batch);
    foreign[0] = 0x7b;
    expect(() => readBatch(foreign, () => true, () => undefined)).toThrow('a message batch of an unknown format');
    expect(() => readBatch(batch.subarray(0, batch.length - 3), () => true, () => undefined)).toThrow('a message batch cut short');
  });

  it('refuses a field it cannot encode (a cycle) and leaves the batch as it was', () => {
    const writer = new MessageBatchWriter(newSenderId());
    writer.append(aedesPacket(0));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => writer.append({ ...aedesPacket(1), cyclic })).toThrow('nests deeper than');
    writer.append(aedesPacket(2));
    const received: BusPacket[] = [];
    readBatch(writer.take(), () => true, (packet) => received.push(packet));
    expect(received).toStrictEqual([aedesPacket(0), aedesPacket(2)]);
  });
});

describeWithRedis('The message bus between two instances', () => {
  let redis: RedisServer;
  let a: { app: INestApplication; url: string };
  let b: { app: INestApplication; url: string };
  const clients: ClusterClient[] = [];
  const connect = async (url: string) => {
    const client = await ClusterClient.connect(url);
    clients.push(client);
    return client;
  };
  type Emitter = { emit(packet: object, done: (error?: Error | null) => void): void };
  const emitterOf = (app: INestApplication) => (aedesOf(app) as unknown as { mq: Emitter }).mq;

  beforeAll(async () => {
    redis = await RedisServer.start();
    const module = () => MqttWsModule.forRoot({ redis: { url: redis.url, keyPrefix: 'bus:' } });
    a = await startApp({ imports: [module()] });
    b = await startApp({ imports: [module()] });
  }, 60_000);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.drop()));
  });

  afterAll(async () => {
    await Promise.all([a?.app.close(), b?.app.close()]);
    await redis?.stop();
  });

  it('hands a packet with MQTT 5 properties and extra fields to the subscribers of the other instance as it was emitted', async () => {
    const packet = {
      cmd: 'publish',
      topic: 'bus/extra',
      payload: Buffer.from('with fields'),
      qos: 1,
      retain: false,
      dup: false,
      brokerId: aedesOf(a.app).id,
      brokerCounter: 1_000_000,
      properties: { userProperties: { hop: ['1', '2'] }, correlationData: Buffer.from('c0ffee', 'hex'), contentType: 'text/plain' },
      shareGroup: { group: 'g1', filter: 'bus/#', member: 'client-7' },
      internal: true,
    };
    const received: object[] = [];
    const onA: string[] = [];
    await new Promise<void>((resolve) => aedesOf(b.app).subscribe('bus/extra', (delivered, done) => (received.push({ ...delivered }), done()), resolve));
    // Aedes' own listeners have no duplicate check: A's batch, back from Redis, would reach this one twice.
    await new Promise<void>((resolve) => aedesOf(a.app).subscribe('bus/#', (delivered, done) => (onA.push(delivered.topic), done()), resolve));
    await new Promise<void>((resolve, reject) => emitterOf(a.app).emit({ ...packet }, (error) => (error ? reject(error) : resolve())));
    await pollUntil(() => received.length === 1, 10_000, 'the packet on B');
    expect(received[0]).toStrictEqual(packet);
    // Redis delivers in the order it was published to: once B's answer is on A, A's own batch came back before it.
    emitterOf(b.app).emit({ cmd: 'publish', topic: 'bus/answer', payload: Buffer.from('ok'), qos: 0, retain: false }, () => undefined);
    await pollUntil(() => onA.includes('bus/answer'), 10_000, "B's answer on A");
    expect(onA).toEqual(['bus/extra', 'bus/answer']);
  });

  it("keeps a publisher's order on both instances over many batches, with payloads larger than a batch among small ones", async () => {
    const local = await connect(a.url);
    const remote = await connect(b.url);
    await local.subscribe('order/#', 0);
    await remote.subscribe('order/#', 0);
    const publisher = await connect(a.url);
    const count = 600;
    const big = 'x'.repeat(MAX_BATCH_BYTES + 1000);
    const expected = Array.from({ length: count }, (_, index) => (index % 150 === 75 ? `${index}:${big}` : `${index}`));
    await Promise.all(expected.map((payload) => publisher.publish('order/stream', payload, 0)));
    for (const subscriber of [local, remote]) {
      const payloads = await subscriber.waitForPayloads(count, 'order/');
      expect(payloads.map((payload) => payload.split(':')[0])).toEqual(expected.map((payload) => payload.split(':')[0]));
      expect(payloads.filter((payload) => payload.length > MAX_BATCH_BYTES)).toHaveLength(4);
    }
    // Its own batches come back from Redis and are dropped: each message once on the publishing instance.
    await local.publish('order/end', 'end', 1);
    await remote.waitForPayloads(count + 1, 'order/');
    expect(local.payloads('order/')).toHaveLength(count + 1);
  });

  it('delivers a QoS 1 and a QoS 2 message of a client on B to an MQTT 5 subscriber on A with its properties', async () => {
    const subscriber = await ClusterClient.connect(a.url, { protocolVersion: 5 });
    clients.push(subscriber);
    await subscriber.subscribe('props/#', 2);
    const publisher = await ClusterClient.connect(b.url, { protocolVersion: 5 });
    clients.push(publisher);
    const properties = { userProperties: { trace: 'abc' }, contentType: 'application/json', correlationData: Buffer.from('id-1') };
    await publisher.client.publishAsync('props/one', '{"n":1}', { qos: 1, properties });
    await publisher.client.publishAsync('props/two', '{"n":2}', { qos: 2, properties });
    await subscriber.waitForPayloads(2, 'props/');
    for (const message of subscriber.messages) expect(message.properties).toMatchObject(properties);
  });

  it('keeps a cluster with another keyPrefix on the same Redis apart', async () => {
    const other = () => MqttWsModule.forRoot({ redis: { url: redis.url, keyPrefix: 'other:' } });
    const c = await startApp({ imports: [other()] });
    const d = await startApp({ imports: [other()] });
    try {
      const onB = await connect(b.url);
      const onC = await connect(c.url);
      await onB.subscribe('iso/#', 1);
      await onC.subscribe('iso/#', 1);
      const fromA = await connect(a.url);
      const fromD = await connect(d.url);
      await fromA.publish('iso/a', 'a', 1);
      await onB.waitForPayloads(1, 'iso/');
      // Redis answers PUBLISHes in order: once D's message is on C, A's would have been there before it.
      await fromD.publish('iso/d', 'd', 1);
      expect(await onC.waitForPayloads(1, 'iso/')).toEqual(['d']);
      await fromA.publish('iso/a', 'a2', 1);
      expect(await onB.waitForPayloads(2, 'iso/')).toEqual(['a', 'a2']);
      expect(onC.payloads('iso/')).toEqual(['d']);
    } finally {
      await Promise.all(clients.splice(0).map((client) => client.drop()));
      await Promise.all([c.app.close(), d.app.close()]);
    }
  });

  it('keeps delivering between clients of one instance while Redis is away, and across instances once it is back', async () => {
    const subscriber = await connect(a.url);
    await subscriber.subscribe('outage/#', 0);
    const remote = await connect(b.url);
    await remote.subscribe('outage/#', 0);
    const publisher = await connect(a.url);
    await redis.stopProcess();
    await pollUntil(() => a.app.get(MqttService).health().redis === 'down', 10_000, 'A to see Redis go');
    for (let index = 0; index < 20; index++) await publisher.publish('outage/local', `${index}`, 0);
    expect(await subscriber.waitForPayloads(20, 'outage/')).toEqual(Array.from({ length: 20 }, (_, index) => `${index}`));
    await redis.startProcess();
    // The subscription of B's bus comes back with its connection; then messages cross again.
    await pollUntil(
      async () => {
        await publisher.publish('outage/after', 'after', 0);
        return remote.payloads('outage/after').length > 0;
      },
      20_000,
      'a message across instances after Redis came back',
    );
  });
});
