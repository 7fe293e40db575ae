import 'reflect-metadata';
import { Injectable, type INestApplication } from '@nestjs/common';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import {
  MqttService,
  MqttSubscribe,
  MqttWsModule,
  OnMqttEvent,
  Payload,
  type MqttAuthPolicy,
  type MqttClientEvent,
  type MqttConnectAuthContext,
  type MqttWsModuleOptions,
} from '../../lib/index.js';
import { MqttTestClient } from '../../lib/testing/index.js';
import { MqttWsListener } from '../../lib/transport/mqtt-ws.listener.js';
import { TestClient } from '../utils/mqtt-client.js';
import { closedBy, connectHeader, makeCertificate, rawSocket, RecordingLogger, startTcpApp, until } from './tcp-utils.js';

const execFileAsync = promisify(execFile);
const PAHO_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/paho-roundtrip.py');

const connectPacket = (clientId: string) =>
  mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0 } as unknown as Packet);

@Injectable()
class Readings {
  static received: { deviceId: string; value: number }[] = [];
  static connected: string[] = [];

  @MqttSubscribe('readings/+')
  onReading(@Payload() reading: { deviceId: string; value: number }) {
    Readings.received.push(reading);
  }

  @OnMqttEvent('client.connected')
  onConnected(event: MqttClientEvent) {
    Readings.connected.push(`${event.clientId}:${event.client.transport}:${event.request === undefined ? 'no request' : 'request'}`);
  }
}

/** Records what `authenticate` saw of each client; refuses user name 'intruder'. */
class RecordingPolicy implements MqttAuthPolicy {
  readonly seen: Record<string, unknown>[] = [];
  authenticate({ client, clientId, request, remoteAddress, username }: MqttConnectAuthContext) {
    this.seen.push({ clientId, transport: client.transport, request, remoteAddress, certificate: client.certificate?.subject?.CN });
    return username !== 'intruder';
  }
}

describe('MQTT over TCP beside WebSocket', () => {
  let app: INestApplication;
  let ws: string;
  let tcp: string;
  const policy = new RecordingPolicy();
  const logger = new RecordingLogger();

  beforeAll(async () => {
    const started = await startTcpApp(
      { imports: [MqttWsModule.forRoot({ tcp: { port: 0, host: '127.0.0.1' }, auth: { useValue: policy } })], providers: [Readings] },
      logger,
    );
    app = started.app;
    ws = started.ws!;
    tcp = started.mqtt!;
  });

  afterAll(() => app?.close());

  it('lists both endpoints, as listening, in endpoints()', () => {
    const endpoints = app.get(MqttService).endpoints();
    expect(endpoints).toEqual([expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/), expect.stringMatching(/^mqtt:\/\/127\.0\.0\.1:\d+$/)]);
    const appPort = (app.getHttpServer().address() as { port: number }).port;
    expect(endpoints[0]).toBe(`ws://127.0.0.1:${appPort}/mqtt`);
  });

  it('logs one line per endpoint with its URL, and the handlers bound', () => {
    const lines = logger.lines.filter((line) => line.startsWith('MqttWsModule:'));
    expect(lines).toEqual(
      expect.arrayContaining([
        'MqttWsModule: Bound 1 MQTT message handler (@MqttSubscribe) and 1 event handler (@OnMqttEvent)',
        `MqttWsModule: MQTT over TCP on ${tcp}`,
        `MqttWsModule: MQTT over WebSocket on ${ws}`,
      ]),
    );
  });

  it('serves one broker: a TCP client and a WebSocket client exchange messages, and handlers run', async () => {
    const tcpClient = await MqttTestClient.connect(app, { transport: 'tcp', clientId: 'tcp-device' });
    const wsClient = await MqttTestClient.connect(app, { transport: 'ws', clientId: 'ws-browser' });
    expect([tcpClient.url, wsClient.url]).toEqual([tcp, ws]);
    await wsClient.subscribe('readings/#', { qos: 1 });
    await tcpClient.subscribe('commands/#', { qos: 1 });
    await tcpClient.publish('readings/tcp-device', { deviceId: 'tcp-device', value: 21.5 }, { qos: 1 });
    await wsClient.publish('commands/tcp-device', 'reboot', { qos: 1 });
    expect((await wsClient.nextMessage('readings/#')).json()).toEqual({ deviceId: 'tcp-device', value: 21.5 });
    expect((await tcpClient.nextMessage('commands/#')).payload.toString()).toBe('reboot');
    // The QoS 1 PUBACK waits for the handlers.
    expect(Readings.received).toContainEqual({ deviceId: 'tcp-device', value: 21.5 });
    await Promise.all([tcpClient.close(), wsClient.close()]);
  });

  it('gives the auth policy and the events the transport, the address, and no upgrade request', async () => {
    const client = await TestClient.connect(tcp, { clientId: 'policy-tcp' });
    await client.end();
    expect(policy.seen).toContainEqual({ clientId: 'policy-tcp', transport: 'tcp', request: undefined, remoteAddress: '127.0.0.1', certificate: undefined });
    expect(Readings.connected).toContain('policy-tcp:tcp:no request');
    const refused = mqtt.connectAsync(tcp, { clientId: 'refused-tcp', username: 'intruder', reconnectPeriod: 0 });
    await expect(refused).rejects.toMatchObject({ code: 4 });
  });
});

/** Refuses connections from clients whose certificate the TLS server did not verify; records the common names. */
class CertificatePolicy implements MqttAuthPolicy {
  readonly seen: string[] = [];
  authenticate({ client }: MqttConnectAuthContext) {
    this.seen.push(`${client.transport}:${client.certificate?.subject.CN ?? 'none'}`);
    return client.certificate ? { device: client.certificate.subject.CN } : false;
  }
}

describe('MQTT over TLS (mqtts://)', () => {
  let app: INestApplication;
  let mqtts: string;
  const server = makeCertificate();
  const device = makeCertificate('device-7');
  const policy = new CertificatePolicy();

  beforeAll(async () => {
    const tls = { key: server.key, cert: server.cert, ca: [device.cert], requestCert: true, rejectUnauthorized: false };
    const started = await startTcpApp({ imports: [MqttWsModule.forRoot({ tcp: [{ port: 0, host: '127.0.0.1', tls }, { port: 0, host: '127.0.0.1' }], auth: { useValue: policy } })] });
    app = started.app;
    mqtts = started.mqtts!;
    expect(started.endpoints).toHaveLength(3);
  });

  afterAll(() => app?.close());

  it('serves a client that trusts the certificate, and hands the verified client certificate to the policy', async () => {
    const subscriber = await TestClient.connect(mqtts, { clientId: 'tls-device', ca: server.cert, key: device.key, cert: device.cert });
    await subscriber.subscribe('secure/#', 1);
    await app.get(MqttService).publish('secure/hello', 'over TLS', { qos: 1 });
    expect((await subscriber.waitFor(1))[0].payload.toString()).toBe('over TLS');
    await subscriber.end();
    expect(policy.seen).toContain('tls:device-7');
  });

  it('has no certificate for a client that sent none, and a client that does not trust the server fails', async () => {
    await expect(mqtt.connectAsync(mqtts, { clientId: 'no-cert', ca: server.cert, reconnectPeriod: 0 })).rejects.toMatchObject({ code: 4 });
    expect(policy.seen).toContain('tls:none');
    await expect(mqtt.connectAsync(mqtts, { clientId: 'untrusting', reconnectPeriod: 0, connectTimeout: 3000 })).rejects.toThrow();
  });
});

describe('endpoints() of other servers', () => {
  it('is wss:// on an HTTPS app, ws:// on a dedicated port, and lists nothing for the app before it listens', async () => {
    const credentials = makeCertificate();
    const moduleRef = await (await import('@nestjs/testing')).Test.createTestingModule({ imports: [MqttWsModule.forRoot({ tcp: { port: 0, host: '127.0.0.1' } })] }).compile();
    const app = moduleRef.createNestApplication({ logger: false, httpsOptions: credentials });
    try {
      await app.init();
      expect(app.get(MqttService).endpoints()).toEqual([expect.stringMatching(/^mqtt:\/\/127\.0\.0\.1:\d+$/)]);
      await app.listen(0, '127.0.0.1');
      const port = (app.getHttpServer().address() as { port: number }).port;
      expect(app.get(MqttService).endpoints()[0]).toBe(`wss://127.0.0.1:${port}/mqtt`);
    } finally {
      await app.close();
    }
    const dedicated = await startTcpApp({ imports: [MqttWsModule.forRoot({ port: 0, host: '127.0.0.1', path: '/broker' })] });
    try {
      const { port } = dedicated.app.get(MqttService).dedicatedAddress()!;
      expect(dedicated.endpoints).toEqual([`ws://127.0.0.1:${port}/broker`]);
    } finally {
      await dedicated.app.close();
    }
  });
});

/** Never answers one client: its connection stays before an accepted CONNECT. */
class NeverAnswers implements MqttAuthPolicy {
  authenticate({ clientId }: MqttConnectAuthContext): Promise<boolean> | boolean {
    return clientId === 'never-answered' ? new Promise(() => undefined) : true;
  }
}

describe('the limits over TCP', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(options: MqttWsModuleOptions) {
    const started = await startTcpApp({ imports: [MqttWsModule.forRoot({ tcp: { port: 0, host: '127.0.0.1' }, ...options })] });
    app = started.app;
    return { ...started, listener: started.app.get(MqttWsListener) };
  }

  it('counts TCP and WebSocket connections together against maxConnections, from the TCP accept', async () => {
    const { ws, mqtt: tcp, listener } = await start({ maxConnections: 2 });
    const wsClient = await TestClient.connect(ws!, { clientId: 'count-ws' });
    const idle = await rawSocket(tcp!); // accepted, no CONNECT yet: counted
    await until(() => listener.connectionCount === 2);
    const third = await rawSocket(tcp!);
    expect((await closedBy(third)).length).toBe(0);
    idle.destroy();
    await until(() => listener.connectionCount === 1);
    const tcpClient = await TestClient.connect(tcp!, { clientId: 'count-tcp-after' });
    await Promise.all([wsClient.end(), tcpClient.end()]);
  });

  it('counts TCP connections against maxConnectionsPerIp from the TCP accept', async () => {
    const { mqtt: tcp, listener } = await start({ maxConnectionsPerIp: 1 });
    const first = await rawSocket(tcp!);
    await until(() => listener.connectionsPerAddress.get('127.0.0.1') === 1);
    const second = await rawSocket(tcp!);
    expect((await closedBy(second)).length).toBe(0);
    first.destroy();
  });

  it('closes a peer that sends more than maxPreConnectPayload before its CONNECT is accepted, and lets a connected one send more', async () => {
    const { mqtt: tcp } = await start({ maxPreConnectPayload: 16 * 1024 });
    const peer = await rawSocket(tcp!);
    const closed = closedBy(peer);
    peer.write(Buffer.concat([connectHeader(100_000), Buffer.alloc(10_000)]));
    peer.write(Buffer.alloc(10_000));
    expect((await closed).length).toBe(0);

    const client = await TestClient.connect(tcp!, { clientId: 'big-after-connect' });
    await client.subscribe('big', 1);
    await client.publish('big', Buffer.alloc(32 * 1024), { qos: 1 });
    expect((await client.waitFor(1))[0].payload.length).toBe(32 * 1024);
    await client.end();
  });

  it('disconnects a subscriber that stops reading once maxBufferedBytes wait for it', async () => {
    const { mqtt: tcp, listener, app: started } = await start({ maxBufferedBytes: 256 * 1024 });
    const { TcpPeer } = await import('./tcp-peer.js');
    const { peer } = await TcpPeer.connect(tcp!, { clientId: 'stops-reading' });
    expect(await peer.request({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood', qos: 0 }] })).toMatchObject({ cmd: 'suback' });
    peer.pause();
    const service = started.get(MqttService);
    const chunk = Buffer.alloc(64 * 1024);
    // Far more than the socket buffers of both ends and maxBufferedBytes together.
    for (let i = 0; i < 400 && listener.connectionCount > 0; i++) await service.publish('flood', chunk);
    await until(() => listener.connectionCount === 0);
    expect(listener.transportStats.bufferedBytes).toBe(0);
    await peer.drop();
  });

  it('closes a connection whose CONNECT is not accepted within connectTimeout, however it trickles', async () => {
    const { mqtt: tcp } = await start({ connectTimeout: 400, auth: { useValue: new NeverAnswers() } });
    const trickler = await rawSocket(tcp!);
    const trickled = closedBy(trickler);
    const bytes = Buffer.concat([connectHeader(1000), Buffer.alloc(100)]);
    let sent = 0;
    const trickle = setInterval(() => sent < bytes.length && !trickler.destroyed && trickler.write(bytes.subarray(sent, ++sent)), 10);
    const pending = await rawSocket(tcp!);
    const pendingClosed = closedBy(pending);
    pending.write(connectPacket('never-answered'));
    const started = Date.now();
    try {
      await Promise.all([trickled, pendingClosed]);
    } finally {
      clearInterval(trickle);
    }
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('shutdown with TCP clients', () => {
  it('tells every client (its socket ends after what was pending), closes the listeners and leaves nothing open', async () => {
    const { app, mqtt: tcp, mqtts } = await startTcpApp({
      // A closeTimeout longer than the test: shutdown must not wait for it when the peers close.
      imports: [MqttWsModule.forRoot({ closeTimeout: 60_000, tcp: [{ port: 0, host: '127.0.0.1' }, { port: 0, host: '127.0.0.1', tls: makeCertificate() }] })],
    });
    const client = await mqtt.connectAsync(tcp!, { clientId: 'shutdown-tcp', reconnectPeriod: 0 });
    const tlsClient = await mqtt.connectAsync(mqtts!, { clientId: 'shutdown-tls', reconnectPeriod: 0, rejectUnauthorized: false });
    const closed = Promise.all([client, tlsClient].map((each) => new Promise<void>((resolve) => each.once('close', () => resolve()))));
    const idle = await rawSocket(tcp!);
    const idleClosed = closedBy(idle);
    await app.close();
    await closed;
    await idleClosed;
    await expect(rawSocket(tcp!)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await Promise.all([client.endAsync(true), tlsClient.endAsync(true)]);
  });
});

describe('a tcp port in use', () => {
  it('fails the start with the error, and closes the listener that opened', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const { Test } = await import('@nestjs/testing');
      const moduleRef = await Test.createTestingModule({ imports: [MqttWsModule.forRoot({ tcp: [{ port: 0, host: '127.0.0.1' }, { port, host: '127.0.0.1' }] })] }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      await expect(app.init()).rejects.toMatchObject({ code: 'EADDRINUSE' });
      // The listener that did open is closed again.
      expect(app.get(MqttWsListener).endpoints).toEqual([]);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe('the tcp option', () => {
  it.each([
    [{ tcp: { port: -1 } }, 'option "tcp.port" must be an integer from 0 to 65535'],
    [{ tcp: [{ port: 0 }, { port: 'x' }] }, 'option "tcp[1].port" must be an integer from 0 to 65535'],
    [{ tcp: { port: 0, prot: 1 } }, 'unknown option "tcp.prot". Did you mean "tcp.port"?'],
    [{ tcp: [] }, 'option "tcp" must be a listener'],
    [{ tcp: { port: 0, tls: 'cert.pem' } }, 'option "tcp.tls" must be Node\'s TLS server options'],
    [{ tcp: [{ port: 1883 }, { port: 1883 }] }, 'option "tcp[1].port" must be a port no other listener of "tcp" uses'],
  ])('names the mistake: %j', async (options, message) => {
    const { Test } = await import('@nestjs/testing');
    const moduleRef = Test.createTestingModule({ imports: [MqttWsModule.forRoot(options as MqttWsModuleOptions)] });
    await expect(moduleRef.compile()).rejects.toThrow(message);
  });
});

/** A Python with Paho: `python3` may be another interpreter than the system's, where python3-paho-mqtt installs it. */
const PYTHON_WITH_PAHO = ['python3', '/usr/bin/python3'].find(
  (python) => spawnSync(python, ['-c', 'import paho.mqtt.client'], { stdio: 'ignore' }).status === 0,
);

(PYTHON_WITH_PAHO ? describe : describe.skip)('Paho (Python) over TCP and TLS', () => {
  let app: INestApplication;
  let tcp: string;
  let mqtts: string;
  let caFile: string;
  const server = makeCertificate();
  const policy = new RecordingPolicy();

  beforeAll(async () => {
    caFile = join(mkdtempSync(join(tmpdir(), 'paho-ca-')), 'ca.pem');
    writeFileSync(caFile, server.cert);
    const started = await startTcpApp({
      imports: [MqttWsModule.forRoot({ tcp: [{ port: 0, host: '127.0.0.1' }, { port: 0, host: '127.0.0.1', tls: server }], auth: { useValue: policy } })],
    });
    app = started.app;
    tcp = started.mqtt!;
    mqtts = started.mqtts!;
  });

  afterAll(async () => {
    await app?.close();
    rmSync(dirname(caFile), { recursive: true, force: true });
  });

  async function paho(url: string, clientId: string, ...extra: string[]) {
    const { hostname, port } = new URL(url);
    const { stdout } = await execFileAsync(PYTHON_WITH_PAHO!, [PAHO_SCRIPT, hostname, port, clientId, ...extra], { timeout: 20_000 });
    return JSON.parse(stdout.trim()) as { connack: number; granted: number[]; message: { topic: string; payload: string; qos: number } };
  }

  it.each([
    ['TCP', () => tcp, [] as string[], 'tcp'],
    ['TLS', () => mqtts, ['ca'], 'tls'],
  ])('connects, subscribes and gets its own QoS 1 message back over %s', async (_name, url, extra, transport) => {
    const clientId = `paho-${transport}`;
    const result = await paho(url(), clientId, ...extra.map(() => caFile));
    expect(result).toEqual({ connack: 0, granted: [1], message: { topic: 'paho/hello', payload: 'from paho', qos: 1 } });
    expect(policy.seen).toContainEqual(expect.objectContaining({ clientId, transport, request: undefined }));
  });
});
