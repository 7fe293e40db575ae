import 'reflect-metadata';
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { brokerOf } from '../utils/broker.js';
import { MqttWsModule, type MqttAuthPolicy, type MqttConnectAuthContext, type MqttWsModuleOptions } from '../../lib/index.js';
import { MqttWsListener } from '../../lib/transport/mqtt-ws.listener.js';
import { startApp } from '../utils/app.js';
import { RawMqttSocket } from '../utils/raw-mqtt-socket.js';
import { RawWebSocket } from '../utils/raw-websocket.js';
import { HealthyStream } from './utils/healthy-stream.js';

const BINARY = 0x2;
const CONTINUATION = 0x0;
const PING = 0x9;

const connectPacket = (clientId: string) =>
  RawMqttSocket.encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0 });

/** The start of a CONNECT announcing `length` bytes: the MQTT parser waits for the rest, holding what came. */
function connectHeader(length: number): Buffer {
  const varint: number[] = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    varint.push(byte);
  } while (length > 0);
  return Buffer.from([0x10, ...varint]);
}

/**
 * Resolves once `condition` holds. The server's counters settle on its sockets' 'close' events,
 * which the test cannot listen to; checked every few ms rather than every turn, to spare the CPU.
 */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** An auth policy that never answers one client: its connection stays before an accepted CONNECT. */
class NeverAnswers implements MqttAuthPolicy {
  authenticate({ clientId }: MqttConnectAuthContext): Promise<boolean> | boolean {
    return clientId === 'never-answered' ? new Promise(() => undefined) : true;
  }
}

describe('transport budgets and deadlines, with a healthy QoS 1 stream alongside', () => {
  const apps: INestApplication[] = [];
  let streams = 0;

  async function start(options: MqttWsModuleOptions) {
    const started = await startApp({ imports: [MqttWsModule.forRoot(options)] });
    apps.push(started.app);
    const listener = started.app.get(MqttWsListener);
    const port = options.port === undefined ? started.port : listener.address!.port;
    const url = `ws://127.0.0.1:${port}/mqtt`;
    const healthy = await HealthyStream.start(url, `budget-${++streams}`);
    await healthy.progress(3);
    return { ...started, port, url, listener, healthy, broker: brokerOf(started.app) };
  }

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('keeps one pong for a peer that pings without reading, and closes it (1008) when it goes on', async () => {
    const { port, listener, healthy } = await start({ closeTimeout: 10_000 });
    const peer = await RawWebSocket.open(port);
    peer.stopReading();
    const pings = Buffer.concat(Array.from({ length: 1000 }, () => RawWebSocket.frame(PING, Buffer.alloc(125, 7))));
    // 26 MB of pings, far more pongs than the kernel's buffers on both sides hold.
    let maxBuffered = 0;
    for (let i = 0; i < 200 && !peer.socket.destroyed; i++) {
      if (!peer.socket.write(pings)) await once(peer.socket, 'drain');
      maxBuffered = Math.max(maxBuffered, listener.transportStats.bufferedBytes);
    }
    peer.resumeReading();
    expect(await peer.closedWith()).toBe(1008);
    // The socket's own buffer (16 KiB) and one pong, never a pong per ping.
    expect(maxBuffered).toBeLessThan(64 * 1024);
    await until(() => listener.transportStats.connections === 2);
    // The healthy stream's frames of the current turn count too: read the total once it is done.
    await healthy.finish();
    await until(() => listener.transportStats.bufferedBytes === 0);
  });

  it('closes a message in one-byte fragments over maxPreConnectPayload before CONNECT (1009), and returns its memory', async () => {
    const { port, listener, healthy } = await start({ maxPreConnectPayload: 16 * 1024 });
    const peers = await Promise.all(Array.from({ length: 5 }, () => RawWebSocket.open(port)));
    const fragments = Buffer.concat([
      RawWebSocket.frame(BINARY, connectHeader(100_000), { fin: false }),
      ...Array.from({ length: 20_000 }, () => RawWebSocket.frame(CONTINUATION, Buffer.from([0]), { fin: false })),
    ]);
    for (const peer of peers) peer.write(fragments);
    expect(await Promise.all(peers.map((peer) => peer.closedWith()))).toEqual([1009, 1009, 1009, 1009, 1009]);
    await until(() => listener.transportStats.connections === 2);
    expect(listener.transportStats.readableBytes).toBe(0);
    await healthy.finish();
  });

  it('closes a peer that sends more than maxPreConnectPayload in all before its CONNECT is accepted (1008)', async () => {
    const { port, healthy } = await start({ maxPreConnectPayload: 16 * 1024 });
    const peer = await RawWebSocket.open(port);
    peer.write(RawWebSocket.frame(BINARY, Buffer.concat([connectHeader(100_000), Buffer.alloc(6000)])));
    peer.write(RawWebSocket.frame(BINARY, Buffer.alloc(6000)));
    peer.write(RawWebSocket.frame(BINARY, Buffer.alloc(6000)));
    expect(await peer.closedWith()).toBe(1008);
    await healthy.finish();
  });

  it('lets a connected client send messages up to maxPayload, past maxPreConnectPayload', async () => {
    const { port, healthy } = await start({ maxPreConnectPayload: 1024, maxPayload: 64 * 1024 });
    const peer = await RawWebSocket.open(port);
    peer.write(RawWebSocket.frame(BINARY, connectPacket('big-after-connect')));
    await peer.waitForFrames(1);
    const publish = RawMqttSocket.encode({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(32 * 1024), qos: 1, messageId: 1, retain: false, dup: false });
    peer.write(RawWebSocket.frame(BINARY, publish));
    const frames = await peer.waitForFrames(2);
    expect(frames[1].payload[0] >> 4).toBe(4); // PUBACK
    peer.destroy();
    await healthy.finish();
  });

  it('closes a connection whose CONNECT is not accepted within connectTimeout, however it trickles (1008)', async () => {
    const { port, listener, healthy } = await start({ connectTimeout: 400, auth: { useValue: new NeverAnswers() } });
    const trickler = await RawWebSocket.open(port);
    const frame = RawWebSocket.frame(BINARY, Buffer.concat([connectHeader(1000), Buffer.alloc(100)]));
    let sent = 0;
    const trickle = setInterval(() => sent < frame.length && trickler.write(frame.subarray(sent, ++sent)), 10);
    // Its CONNECT arrives whole (Aedes' connectTimeout stops there), but the policy never answers.
    const pending = await RawWebSocket.open(port);
    pending.write(RawWebSocket.frame(BINARY, connectPacket('never-answered')));
    try {
      expect(await Promise.all([trickler.closedWith(), pending.closedWith()])).toEqual([1008, 1008]);
    } finally {
      clearInterval(trickle);
    }
    await until(() => listener.transportStats.connections === 2);
    await healthy.finish();
  });

  it('destroys a handshake trickled on the dedicated port at handshakeTimeout, and counts it against maxConnections meanwhile', async () => {
    const { port, listener, healthy } = await start({ port: 0, host: '127.0.0.1', handshakeTimeout: 400, maxConnections: 3 });
    const trickler = tcpConnect(port, '127.0.0.1');
    await once(trickler, 'connect');
    const request = Buffer.from(`GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n`);
    let sent = 0;
    const trickle = setInterval(() => sent < request.length && trickler.write(request.subarray(sent, ++sent)), 10);
    await until(() => listener.transportStats.handshakes === 1);
    // Two healthy clients and the trickler: a fourth connection is refused from its first byte.
    const refused = await RawWebSocket.open(port).catch((error: Error) => error);
    // Destroyed at once, before it could even be answered 503: a FIN, or a reset when the request was already sent.
    expect(String(refused)).toMatch(/^Error: (closed during the handshake: |.*ECONNRESET)/);
    try {
      // A reset (bytes still unread when the server destroyed it, on a busy machine) is a close too.
      trickler.on('error', () => undefined);
      await new Promise((resolve) => trickler.once('close', resolve));
    } finally {
      clearInterval(trickle);
    }
    await until(() => listener.transportStats.handshakes === 0);
    expect(sent).toBeLessThan(request.length);
    await healthy.finish();
  });

  it('counts a dedicated-port socket against maxConnectionsPerIp from its TCP accept', async () => {
    const { port, listener, healthy } = await start({ port: 0, host: '127.0.0.1', maxConnectionsPerIp: 3 });
    const silent = tcpConnect(port, '127.0.0.1');
    await once(silent, 'connect');
    await until(() => listener.connectionsPerAddress.get('127.0.0.1') === 3);
    const refused = await RawWebSocket.open(port).catch((error: Error) => error);
    expect(String(refused)).toMatch(/^Error: (closed during the handshake: |.*ECONNRESET)/);
    silent.destroy();
    await until(() => listener.connectionsPerAddress.get('127.0.0.1') === 2);
    const accepted = await RawWebSocket.open(port);
    expect(accepted.answer.status).toBe(101);
    // Counted once, from its accept through its upgrade.
    expect(listener.connectionsPerAddress.get('127.0.0.1')).toBe(3);
    accepted.destroy();
    await healthy.finish();
  });

  it('pings every pingInterval and drops a peer that answers nothing, while clients that answer stay', async () => {
    const { port, listener, broker, healthy } = await start({ pingInterval: 150 });
    const silent = await RawWebSocket.open(port);
    silent.write(RawWebSocket.frame(BINARY, connectPacket('silent')));
    await silent.waitForFrames(1);
    const gone = new Promise((resolve) => broker.once('clientDisconnected', resolve));
    // No close frame: the peer is taken for gone, and would not read one.
    expect(await silent.closedWith()).toBeUndefined();
    expect(silent.frames.filter((frame) => frame.opcode === PING).length).toBeGreaterThanOrEqual(1);
    await gone;
    await until(() => listener.transportStats.connections === 2);
    // MQTT.js (over ws) answered every ping meanwhile.
    await healthy.finish();
  });

  it('names the bad option at start-up', async () => {
    const bad: MqttWsModuleOptions[] = [
      { maxPreConnectPayload: 2 * 1024 * 1024 },
      { handshakeTimeout: 0 },
      { closeTimeout: -1 },
      { pingInterval: 1.5 },
      { tls: { key: 'k' } },
      { port: 0, tls: 'cert' as never },
    ];
    for (const options of bad) {
      const name = Object.keys(options).at(-1)!;
      await expect(startApp({ imports: [MqttWsModule.forRoot(options)] })).rejects.toThrow(`option "${name}"`);
    }
  });
});
