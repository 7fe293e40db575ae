import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { MqttBroker, MqttClientInfo } from '../../lib/broker/mqtt-broker.js';
import { MqttWsModule, type MqttWsModuleOptions } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';
import { RawMqttSocket } from '../utils/raw-mqtt-socket.js';
import { RawWebSocket } from '../utils/raw-websocket.js';
import { quoteClientId } from '../../lib/security/describe-client.js';
import { connackCode, handshakeStatus } from './utils/connect.js';
import { brokerOf } from '../utils/broker.js';

const CONNECT = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0 };

describe('hardened listener', () => {
  const apps: INestApplication[] = [];
  const start = async (options: MqttWsModuleOptions) => {
    const started = await startApp({ imports: [MqttWsModule.forRoot(options)] });
    apps.push(started.app);
    return started;
  };

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('by default allows handshakes without Origin and from the same origin, and refuses other origins with 403', async () => {
    const { url, port } = await start({});
    expect(await handshakeStatus(url)).toBe(101);
    expect(await handshakeStatus(url, { Origin: `http://127.0.0.1:${port}` })).toBe(101);
    expect(await handshakeStatus(url, { Origin: 'https://evil.example' })).toBe(403);
    expect(await handshakeStatus(url, { Origin: `http://127.0.0.1:${port + 1}` })).toBe(403);
    expect(await handshakeStatus(url, { Origin: 'null' })).toBe(403);
  });

  it('by default refuses a DNS-rebinding page: same origin, but a host name that is neither an IP, localhost nor allowedHosts', async () => {
    const { port } = await start({});
    const status = async (host: string) => {
      const peer = await RawWebSocket.open(port, '/mqtt', { Host: `${host}:${port}`, Origin: `http://${host}:${port}` });
      peer.destroy();
      return peer.answer.status;
    };
    expect(await status('evil.example')).toBe(403);
    expect(await status('localhost')).toBe(101);
    expect(await status('[::1]')).toBe(101);
    const named = await start({ allowedHosts: ['app.example.com', '.example.org'] });
    const namedStatus = async (host: string) => {
      const peer = await RawWebSocket.open(named.port, '/mqtt', { Host: `${host}:${named.port}`, Origin: `https://${host}:${named.port}` });
      peer.destroy();
      return peer.answer.status;
    };
    expect(await namedStatus('app.example.com')).toBe(101);
    expect(await namedStatus('mqtt.example.org')).toBe(101);
    expect(await namedStatus('evil.example')).toBe(403);
  });

  it('gives the same answer every time for an origin pattern with the g flag', async () => {
    const { url } = await start({ allowedOrigins: [/^https:\/\/app\.example\.com$/g] });
    for (let i = 0; i < 3; i++) expect(await handshakeStatus(url, { Origin: 'https://app.example.com' })).toBe(101);
  });

  it('writes client ids to logs with every control, separator and bidi character escaped', () => {
    expect(quoteClientId('a\u0007b\u202ec\u0085d\u2028e\n')).toBe('"a\\u0007b\\u202ec\\u0085d\\u2028e\\n"');
    expect(quoteClientId('x'.repeat(100))).toBe(`"${'x'.repeat(64)}…"`);
  });

  it('allows exactly the configured origins, patterns or all', async () => {
    const { url } = await start({ allowedOrigins: ['https://app.example.com', /^https:\/\/[a-z]+\.example\.org$/] });
    expect(await handshakeStatus(url, { Origin: 'https://app.example.com' })).toBe(101);
    expect(await handshakeStatus(url, { Origin: 'https://admin.example.org' })).toBe(101);
    expect(await handshakeStatus(url, { Origin: 'https://app.example.com.evil.example' })).toBe(403);
    expect(await handshakeStatus(url, { Origin: 'http://app.example.com' })).toBe(403);
    const open = await start({ allowedOrigins: '*' });
    expect(await handshakeStatus(open.url, { Origin: 'https://anywhere.example' })).toBe(101);
  });

  it('refuses handshakes past maxConnections with 503, and accepts again once one closes', async () => {
    const { app, url } = await start({ maxConnections: 2 });
    const first = await RawMqttSocket.open(url);
    await first.connect('first');
    const second = await RawMqttSocket.open(url);
    expect(await handshakeStatus(url)).toBe(503);
    const gone = new Promise((resolve) => brokerOf(app).once('clientDisconnected', resolve));
    await first.close();
    await gone;
    expect(await handshakeStatus(url)).toBe(101);
    await second.close();
  });

  it('closes a connection whose WebSocket message is larger than maxPayload (1009)', async () => {
    const { url } = await start({ maxPayload: 1024 });
    const raw = await RawMqttSocket.open(url);
    raw.send(Buffer.alloc(2048));
    expect((await raw.closed).code).toBe(1009);
  });

  it('closes a connection announcing a packet larger than maxPacketSize, before its bytes arrive', async () => {
    const { url } = await start({ maxPacketSize: 1000 });
    const raw = await RawMqttSocket.open(url);
    await raw.connect('big');
    // A PUBLISH announcing 2000 bytes of which only the first frames are sent, each under maxPayload.
    const publish = RawMqttSocket.encode({ cmd: 'publish', topic: 't', payload: Buffer.alloc(1995), qos: 0, retain: false, dup: false });
    raw.send(publish.subarray(0, 100));
    await raw.closed;
    const ok = await RawMqttSocket.open(url);
    await ok.connect('small');
    ok.sendPacket({ cmd: 'publish', topic: 't', payload: Buffer.alloc(900), qos: 1, messageId: 1, retain: false, dup: false });
    expect((await ok.waitForPackets(2))[1].cmd).toBe('puback');
    await ok.close();
  });

  it('closes a connection that sends no CONNECT within connectTimeout', async () => {
    const { url } = await start({ connectTimeout: 200 });
    const silent = await RawMqttSocket.open(url);
    const started = Date.now();
    await silent.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('refuses a keepalive above keepaliveLimit, or none', async () => {
    const { url } = await start({ keepaliveLimit: 60 });
    expect(await connackCode(url, { keepalive: 30, clientId: 'k-ok' })).toBe(0);
    for (const keepalive of [0, 61]) {
      const raw = await RawMqttSocket.open(url);
      raw.sendPacket({ ...CONNECT, clientId: `k-${keepalive}`, keepalive });
      await raw.closed;
      expect(raw.packets.every((packet) => packet.cmd !== 'connack' || packet.returnCode !== 0)).toBe(true);
    }
  });

  it('refuses topics longer than maxTopicLength: PUBLISH disconnects, SUBSCRIBE gets 0x80', async () => {
    const { url } = await start({ maxTopicLength: 50 });
    const raw = await RawMqttSocket.open(url);
    await raw.connect('topics');
    raw.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a'.repeat(51), qos: 1 }, { topic: 'a'.repeat(50), qos: 1 }] });
    expect((await raw.waitForPackets(2))[1]).toMatchObject({ cmd: 'suback', granted: [128, 1] });
    raw.sendPacket({ cmd: 'publish', topic: 'b'.repeat(50), payload: 'x', qos: 1, messageId: 2, retain: false, dup: false });
    expect((await raw.waitForPackets(3))[2].cmd).toBe('puback');
    raw.sendPacket({ cmd: 'publish', topic: 'b'.repeat(51), payload: 'x', qos: 1, messageId: 3, retain: false, dup: false });
    await raw.closed;
    expect(raw.packets).toHaveLength(3);
  });

  it('refuses topics with more levels than maxTopicLevels', async () => {
    const { url } = await start({ maxTopicLevels: 3 });
    const raw = await RawMqttSocket.open(url);
    await raw.connect('levels');
    raw.sendPacket({ cmd: 'publish', topic: 'a/b/c', payload: 'x', qos: 1, messageId: 1, retain: false, dup: false });
    await raw.waitForPackets(2);
    raw.sendPacket({ cmd: 'publish', topic: 'a/b/c/d', payload: 'x', qos: 1, messageId: 2, retain: false, dup: false });
    await raw.closed;
    expect(raw.packets).toHaveLength(2);
  });

  it('refuses MQTT 3.1.1 client ids longer than maxClientsIdLength (default 256) with CONNACK 2', async () => {
    const limited = await start({ maxClientsIdLength: 30 });
    expect(await connackCode(limited.url, { clientId: 'x'.repeat(30) })).toBe(0);
    expect(await connackCode(limited.url, { clientId: 'x'.repeat(31) })).toBe(2);
    const defaults = await start({});
    expect(await connackCode(defaults.url, { clientId: 'x'.repeat(256) })).toBe(0);
    expect(await connackCode(defaults.url, { clientId: 'x'.repeat(257) })).toBe(2);
  });

  it('refuses MQTT 3.1 client ids longer than maxClientsIdLength, which MqttBroker otherwise limits to 23', async () => {
    const { url } = await start({ maxClientsIdLength: 30 });
    const v31 = { protocolId: 'MQIsdp', protocolVersion: 3 } as const;
    expect(await connackCode(url, { ...v31, clientId: 'x'.repeat(30) })).toBe(0);
    expect(await connackCode(url, { ...v31, clientId: 'x'.repeat(31) })).toBe(2);
  });

  /** Whether the connection closes first, or `count` packets come back first. */
  const closesBefore = (raw: RawMqttSocket, count: number) =>
    Promise.race([raw.closed.then(() => 'closed'), raw.waitForPackets(count).then(() => 'answered')]);

  it('closes a connection that sends more than queueLimit packets before its CONNACK', async () => {
    const { url } = await start({ queueLimit: 5 });
    const ping = RawMqttSocket.encode({ cmd: 'pingreq' });
    const burst = async (pings: number) => {
      const raw = await RawMqttSocket.open(url);
      // One frame: the packets after the CONNECT wait in MqttBroker' queue until the CONNACK is sent.
      raw.send(Buffer.concat([RawMqttSocket.encode({ ...CONNECT, clientId: `queue-${pings}` }), ...Array<Buffer>(pings).fill(ping)]));
      const outcome = await closesBefore(raw, 1 + pings);
      await raw.close();
      return outcome;
    };
    expect(await burst(5)).toBe('answered');
    expect(await burst(6)).toBe('closed');
  });

  it('closes a connection with more than maxInflightInbound QoS 2 messages awaiting PUBREL', async () => {
    const { url } = await start({ maxInflightInbound: 3 });
    const raw = await RawMqttSocket.open(url);
    await raw.connect('inflight');
    const publishQos2 = (messageId: number) => ({ cmd: 'publish', topic: 'q2', payload: 'x', qos: 2, messageId, retain: false, dup: false });
    for (let id = 1; id <= 3; id++) {
      raw.sendPacket(publishQos2(id));
      expect((await raw.waitForPackets(1 + id))[id]).toMatchObject({ cmd: 'pubrec', messageId: id });
    }
    raw.sendPacket(publishQos2(4));
    expect(await closesBefore(raw, 5)).toBe('closed');
  });

  describe('client address behind proxies', () => {
    const addressOf = async (options: MqttWsModuleOptions, forwardedFor: string): Promise<string | undefined> => {
      const { app, url } = await start(options);
      const broker = brokerOf(app);
      const ready = new Promise<MqttClientInfo>((resolve) => broker.once('clientConnected', resolve));
      const client = await TestClient.connect(url, { clientId: 'proxied', wsOptions: { headers: { 'X-Forwarded-For': forwardedFor } } });
      const described = await ready;
      await client.end();
      return described.remoteAddress;
    };

    it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
      expect(await addressOf({}, '203.0.113.7')).toBe('127.0.0.1');
      expect(await addressOf({ trustedProxies: ['10.0.0.0/8'] }, '203.0.113.7')).toBe('127.0.0.1');
    });

    it('takes the nearest untrusted address of X-Forwarded-For when the peer is trusted', async () => {
      expect(await addressOf({ trustedProxies: ['127.0.0.1'] }, '203.0.113.7')).toBe('203.0.113.7');
      // The left entry was written by the client itself and is not believed.
      expect(await addressOf({ trustedProxies: ['127.0.0.0/8', '10.0.0.0/8'] }, '1.2.3.4, 198.51.100.1, 10.0.0.5')).toBe('198.51.100.1');
      expect(await addressOf({ trustedProxies: ['127.0.0.1'] }, 'garbage')).toBe('127.0.0.1');
    });
  });

  it('names the bad option at start-up', async () => {
    const bad: [MqttWsModuleOptions, RegExp][] = [
      [{ maxConnections: -1 }, /"maxConnections"/],
      [{ maxPacketSize: 1.5 }, /"maxPacketSize"/],
      [{ maxTopicLength: 0 }, /"maxTopicLength"/],
      [{ maxBufferedBytes: 'x' as never }, /"maxBufferedBytes"/],
      [{ acknowledgeAfterRouting: 'yes' as never }, /"acknowledgeAfterRouting" must be a boolean/],
      [{ trustedProxies: ['10.0.0.0/33'] }, /"trustedProxies"/],
      [{ trustedProxies: ['proxy.local'] }, /"trustedProxies"/],
      [{ allowedOrigins: ['app.example.com'] }, /"allowedOrigins"/],
      [{ allowedOrigins: 'all' as never }, /"allowedOrigins"/],
      [{ maxInflightInbound: -2 }, /"maxInflightInbound"/],
      [{ allowedHosts: ['https://app.example.com'] }, /"allowedHosts"/],
      [{ allowedHosts: 'app.example.com' as never }, /"allowedHosts"/],
    ];
    for (const [options, message] of bad) {
      await expect(startApp({ imports: [MqttWsModule.forRoot(options)] })).rejects.toThrow(message);
    }
  });
});
