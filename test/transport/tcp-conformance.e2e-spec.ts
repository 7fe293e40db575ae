import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { MqttWsModule } from '../../lib/index.js';
import { CONNECT, connectBody, mqttString, rawPacket } from '../protocol/protocol-client.js';
import { startTcpApp } from './tcp-utils.js';
import { TcpPeer } from './tcp-peer.js';

/**
 * MQTT 3.1.1 over the `tcp` listener behaves as over WebSocket: the checks of test/protocol/ where the
 * transport takes part (what goes out before a close, pipelined packets, a peer that vanishes,
 * keepalive, sessions), on a raw TCP socket.
 */
describe('MQTT 3.1.1 conformance over the tcp listener', () => {
  let app: INestApplication;
  let url: string;
  const open: TcpPeer[] = [];

  const opened = async () => {
    const peer = await TcpPeer.open(url);
    open.push(peer);
    return peer;
  };
  const connected = async (clientId: string, options: Record<string, unknown> = {}) => {
    const result = await TcpPeer.connect(url, { clientId, ...options });
    open.push(result.peer);
    return result;
  };

  beforeAll(async () => {
    const started = await startTcpApp({ imports: [MqttWsModule.forRoot({ tcp: { port: 0, host: '127.0.0.1' } })] });
    app = started.app;
    url = started.mqtt!;
  });

  afterAll(async () => {
    await Promise.all(open.map((peer) => peer.drop()));
    await app.close();
  });

  it('[MQTT-3.1.0-1] closes a connection whose first packet is not CONNECT', async () => {
    const peer = await opened();
    peer.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] });
    expect(await peer.next()).toBeUndefined();
    expect(peer.isClosed).toBe(true);
  });

  it('[MQTT-3.1.2-2] [MQTT-3.2.2-5] answers an unsupported protocol level with CONNACK 1, then closes', async () => {
    const peer = await opened();
    peer.sendBytes(rawPacket(CONNECT, connectBody({ level: 3, fields: [mqttString('level-3')] })));
    expect(await peer.next()).toMatchObject({ cmd: 'connack', returnCode: 1, sessionPresent: false });
    expect(await peer.closesWithin()).toBe(true);
  });

  it('[MQTT-3.1.3-8] [MQTT-3.1.4-5] refuses an empty client id without CleanSession with CONNACK 2, and processes nothing after it', async () => {
    const peer = await opened();
    const watcher = (await connected('refusal-watcher')).peer;
    await watcher.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'after-refusal', qos: 0 }] });
    // In one write: the refused CONNECT (CleanSession 0, empty id), then a PUBLISH.
    peer.sendBytes(
      Buffer.concat([
        rawPacket(CONNECT, connectBody({ flags: 0x00, fields: [mqttString('')] })),
        TcpPeer.encode({ cmd: 'publish', topic: 'after-refusal', payload: Buffer.from('must not be routed'), qos: 0, retain: false, dup: false }),
      ]),
    );
    expect(await peer.next()).toMatchObject({ cmd: 'connack', returnCode: 2 });
    expect(await peer.closesWithin()).toBe(true);
    expect(await watcher.next(300)).toBeUndefined();
  });

  it('[MQTT-3.1.0-2] closes a connection that sends a second CONNECT', async () => {
    const { peer } = await connected('second-connect');
    peer.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'second-connect', keepalive: 0 });
    expect(await peer.next()).toBeUndefined();
    expect(peer.isClosed).toBe(true);
  });

  it('[MQTT-3.2.0-1] answers pipelined CONNECT, SUBSCRIBE and PUBLISH: CONNACK first, then each', async () => {
    const peer = await opened();
    peer.send(
      { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'pipelined', keepalive: 0 },
      { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'pipe/#', qos: 1 }] },
      { cmd: 'publish', topic: 'pipe/line', payload: Buffer.from('one write'), qos: 1, messageId: 2, retain: false, dup: false },
    );
    const [connack, ...rest] = await peer.nextPackets(4);
    expect(connack).toMatchObject({ cmd: 'connack', returnCode: 0 });
    expect(rest.map((packet) => packet.cmd).sort()).toEqual(['puback', 'publish', 'suback']);
    expect(rest.find((packet) => packet.cmd === 'suback')).toMatchObject({ messageId: 1, granted: [1] });
    expect(rest.find((packet) => packet.cmd === 'publish')).toMatchObject({ topic: 'pipe/line', qos: 1 });
  });

  it('[MQTT-4.3.3-1] completes a QoS 2 exchange in both directions', async () => {
    const { peer } = await connected('qos2');
    await peer.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'exactly/once', qos: 2 }] });
    peer.send({ cmd: 'publish', topic: 'exactly/once', payload: Buffer.from('x'), qos: 2, messageId: 7, retain: false, dup: false });
    const packets = await peer.nextPackets(2);
    expect(packets.map((packet) => packet.cmd).sort()).toEqual(['publish', 'pubrec']);
    expect(packets.find((packet) => packet.cmd === 'pubrec')).toMatchObject({ messageId: 7 });
    expect(await peer.request({ cmd: 'pubrel', messageId: 7 })).toMatchObject({ cmd: 'pubcomp', messageId: 7 });
    const delivered = packets.find((packet) => packet.cmd === 'publish') as { messageId: number; qos: number };
    expect(delivered.qos).toBe(2);
    expect(await peer.request({ cmd: 'pubrec', messageId: delivered.messageId })).toMatchObject({ cmd: 'pubrel', messageId: delivered.messageId });
    peer.send({ cmd: 'pubcomp', messageId: delivered.messageId });
  });

  it('[MQTT-4.8.0-1] closes the connection on a malformed packet (a QoS 0 PUBLISH with DUP)', async () => {
    const { peer } = await connected('malformed');
    peer.sendBytes(Buffer.from([0x38, 0x03, 0x00, 0x01, 0x61]));
    expect(await peer.closesWithin()).toBe(true);
  });

  it('[MQTT-3.1.2-8] publishes the will of a peer that vanishes', async () => {
    const watcher = (await connected('will-watcher')).peer;
    await watcher.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'wills/#', qos: 1 }] });
    const { peer } = await connected('vanishes', { will: { topic: 'wills/vanishes', payload: Buffer.from('gone'), qos: 1, retain: false } });
    await peer.drop();
    expect(await watcher.next()).toMatchObject({ cmd: 'publish', topic: 'wills/vanishes', qos: 1 });
  });

  it('[MQTT-3.1.2-24] closes a client silent for one and a half keepalives', async () => {
    const { peer } = await connected('silent', { keepalive: 1 });
    expect(await peer.closesWithin(3000)).toBe(true);
  });

  it('[MQTT-3.1.2-4] [MQTT-3.2.2-2] resumes a persistent session with what was queued while it was offline', async () => {
    const first = await connected('persistent', { clean: false });
    await first.peer.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'queued/#', qos: 1 }] });
    await first.peer.disconnect();
    const publisher = (await connected('queue-publisher')).peer;
    expect(await publisher.request({ cmd: 'publish', topic: 'queued/1', payload: Buffer.from('while away'), qos: 1, messageId: 3, retain: false, dup: false })).toMatchObject({ cmd: 'puback' });
    const second = await connected('persistent', { clean: false });
    expect(second.connack.sessionPresent).toBe(true);
    expect(await second.peer.next()).toMatchObject({ cmd: 'publish', topic: 'queued/1', qos: 1 });
  });
});
