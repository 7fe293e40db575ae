import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { MqttWsModule } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { CONNECT, ProtocolClient, connectBody, mqttString, rawPacket } from './protocol-client.js';

/** CONNECT flag bits (MQTT 3.1.1 figure 3.4). */
const CLEAN = 0x02;
const WILL = 0x04;
const WILL_QOS_1 = 0x08;
const WILL_QOS_3 = 0x18;
const WILL_RETAIN = 0x20;
const PASSWORD = 0x40;
const USERNAME = 0x80;

describe('MQTT 3.1.1 conformance: CONNECT and sessions', () => {
  let app: INestApplication;
  let url: string;
  const open: ProtocolClient[] = [];

  const opened = async () => {
    const client = await ProtocolClient.open(url);
    open.push(client);
    return client;
  };
  const connected = async (clientId: string, options: Record<string, unknown> = {}) => {
    const result = await ProtocolClient.connect(url, { clientId, ...options });
    open.push(result.client);
    return result;
  };
  /** Sends raw bytes as the first packet and expects the broker to close without answering. */
  const expectClosedWithoutConnack = async (bytes: Buffer) => {
    const client = await opened();
    client.sendBytes(bytes);
    expect(await client.next()).toBeUndefined();
    expect(client.isClosed).toBe(true);
  };
  const expectRefused = async (bytes: Buffer, returnCode: number) => {
    const client = await opened();
    client.sendBytes(bytes);
    expect(await client.next()).toMatchObject({ cmd: 'connack', returnCode, sessionPresent: false });
    expect(await client.closesWithin()).toBe(true);
    return client;
  };

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({})] }));
  });

  afterAll(async () => {
    await Promise.all(open.map((client) => client.drop()));
    await app.close();
  });

  it('[MQTT-3.1.0-1] closes a connection whose first packet is not CONNECT', async () => {
    const client = await opened();
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] });
    expect(await client.next()).toBeUndefined();
    expect(client.isClosed).toBe(true);
  });

  it('[MQTT-3.1.0-2] closes a connection that sends a second CONNECT', async () => {
    const { client } = await connected('second-connect');
    client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'second-connect', keepalive: 0 });
    expect(await client.next()).toBeUndefined();
    expect(client.isClosed).toBe(true);
  });

  it('[MQTT-3.1.2-1] closes a connection whose protocol name is not MQTT', async () => {
    await expectClosedWithoutConnack(rawPacket(CONNECT, connectBody({ name: 'MQTX', fields: [mqttString('name')] })));
  });

  // 'MQTT' level 5 is MQTT 5.0, served on the same endpoint since issue 13 (test/mqtt5/).
  it.each([
    ['MQTT', 3],
    ['MQTT', 6],
    ['MQTT', 2],
    ['MQIsdp', 4],
  ])('[MQTT-3.1.2-2] answers protocol %s level %i with CONNACK 1 and closes', async (name, level) => {
    await expectRefused(rawPacket(CONNECT, connectBody({ name, level, fields: [mqttString(`level-${level}`)] })), 1);
  });

  it('[MQTT-3.1.4-5] processes nothing sent after a refused CONNECT', async () => {
    const probe = (await connected('refused-probe')).client;
    await probe.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'after-refusal', qos: 0 }] });
    const client = await opened();
    const publish = ProtocolClientBytes.publish('after-refusal');
    client.sendBytes(Buffer.concat([rawPacket(CONNECT, connectBody({ level: 6, fields: [mqttString('refused')] })), publish]));
    client.sendBytes(publish);
    expect(await client.next()).toMatchObject({ cmd: 'connack', returnCode: 1 });
    expect(await client.closesWithin()).toBe(true);
    expect(await probe.next(300)).toBeUndefined();
  });

  it('accepts MQTT 3.1 (MQIsdp, level 3)', async () => {
    const client = await opened();
    client.send({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clean: true, clientId: 'v31', keepalive: 0 });
    expect(await client.next()).toMatchObject({ cmd: 'connack', returnCode: 0 });
  });

  it('[MQTT-3.1.2-3] closes a connection whose CONNECT reserved flag is 1', async () => {
    await expectClosedWithoutConnack(rawPacket(CONNECT, connectBody({ flags: CLEAN | 0x01, fields: [mqttString('reserved')] })));
  });

  it.each([
    ['[MQTT-3.1.2-13] will QoS without will flag', CLEAN | WILL_QOS_1, [mqttString('x')]],
    ['[MQTT-3.1.2-15] will retain without will flag', CLEAN | WILL_RETAIN, [mqttString('x')]],
    ['[MQTT-3.1.2-14] will QoS 3', CLEAN | WILL | WILL_QOS_3, [mqttString('x'), mqttString('will'), mqttString('bye')]],
    ['[MQTT-4.7.3-1] an empty will topic', CLEAN | WILL, [mqttString('x'), mqttString(''), mqttString('bye')]],
    ['[MQTT-4.7.1-1] a will topic with a wildcard', CLEAN | WILL, [mqttString('x'), mqttString('will/#'), mqttString('bye')]],
    ['[MQTT-3.1.2-22] a password without user name', CLEAN | PASSWORD, [mqttString('x'), mqttString('secret')]],
    ['[MQTT-3.1.2-18] a user name the flags do not announce', CLEAN, [mqttString('x'), mqttString('user')]],
    ['[MQTT-3.1.2-20] a password the flags do not announce', CLEAN | USERNAME, [mqttString('x'), mqttString('user'), mqttString('pw')]],
  ])('closes without CONNACK on a CONNECT with %s', async (_title, flags, fields) => {
    await expectClosedWithoutConnack(rawPacket(CONNECT, connectBody({ flags: flags as number, fields: fields as Buffer[] })));
  });

  it('[MQTT-3.1.3-8] refuses a zero-length client id with CleanSession 0 with CONNACK 2', async () => {
    await expectRefused(rawPacket(CONNECT, connectBody({ flags: 0, fields: [mqttString('')] })), 2);
  });

  it('[MQTT-3.1.3-6] assigns an identifier to a zero-length client id with CleanSession 1', async () => {
    const client = await opened();
    client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: '', keepalive: 0 });
    expect(await client.next()).toMatchObject({ cmd: 'connack', returnCode: 0, sessionPresent: false });
  });

  it('[MQTT-3.1.4-2] disconnects the existing client when another connects with its id', async () => {
    const first = (await connected('takeover')).client;
    const second = (await connected('takeover')).client;
    expect(await first.closesWithin()).toBe(true);
    expect(await second.request({ cmd: 'pingreq' })).toMatchObject({ cmd: 'pingresp' });
  });

  it('[MQTT-3.1.2-24] disconnects a client silent for one and a half keep-alive periods, not before', async () => {
    const { client } = await connected('keepalive', { keepalive: 1 });
    const started = Date.now();
    expect(await client.closesWithin(3000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });

  it('keeps a client alive while it sends within the keep-alive period', async () => {
    const { client } = await connected('pinging', { keepalive: 1 });
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(await client.request({ cmd: 'pingreq' })).toMatchObject({ cmd: 'pingresp' });
    }
  });

  it('[MQTT-3.2.2-1] [MQTT-3.2.2-2] [MQTT-3.2.2-3] sets Session Present by the stored session', async () => {
    expect((await connected('session-flag', { clean: true })).connack.sessionPresent).toBe(false);
    const { client, connack } = await connected('session-flag', { clean: false });
    expect(connack.sessionPresent).toBe(false);
    await client.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'session/flag', qos: 1 }] });
    await client.disconnect();
    const resumed = await connected('session-flag', { clean: false });
    expect(resumed.connack.sessionPresent).toBe(true);
    await resumed.client.disconnect();
    // [MQTT-3.1.2-6] CleanSession 1 discards the session; the next resume finds none.
    await (await connected('session-flag', { clean: true })).client.disconnect();
    expect((await connected('session-flag', { clean: false })).connack.sessionPresent).toBe(false);
  });

  it('[MQTT-3.1.2-8] [MQTT-3.1.2-10] publishes the will when the connection is lost, not after DISCONNECT', async () => {
    const watcher = (await connected('will-watcher')).client;
    await watcher.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'wills/+', qos: 0 }] });
    const will = (name: string) => ({ topic: `wills/${name}`, payload: Buffer.from(name), qos: 0 as const, retain: false });
    await (await connected('polite', { will: will('polite') })).client.disconnect();
    await (await connected('dropped', { will: will('dropped') })).client.drop();
    expect(await watcher.next()).toMatchObject({ cmd: 'publish', topic: 'wills/dropped' });
    expect(await watcher.next(300)).toBeUndefined();
  });
});

/** Raw packets shared by the cases above. */
const ProtocolClientBytes = {
  publish(topic: string): Buffer {
    return rawPacket(0x31, Buffer.concat([mqttString(topic), Buffer.from('x')]));
  },
};
