import 'reflect-metadata';
import { type INestApplication } from '@nestjs/common';
import type { MqttBroker } from '../lib/broker/mqtt-broker.js';
import { MqttWsModule } from '../lib/index.js';
import { startApp } from './utils/app.js';
import { TestClient } from './utils/mqtt-client.js';
import { RawMqttSocket } from './utils/raw-mqtt-socket.js';
import { expectedAccept, packetsOf, RawWebSocket } from './utils/raw-websocket.js';
import { brokerOf } from './utils/broker.js';

const BINARY = 0x2;
const CONTINUATION = 0x0;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

function connectPacket(clientId: string): Buffer {
  return RawMqttSocket.encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0 });
}


function closePayload(code: number, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}

describe('WebSocket protocol (RFC 6455) on the MQTT endpoint', () => {
  let app: INestApplication;
  let url: string;
  let port: number;
  let healthy: TestClient;
  let checks = 0;

  beforeAll(async () => {
    ({ app, url, port } = await startApp({ imports: [MqttWsModule.forRoot({ maxPayload: 4096 })] }));
    healthy = await TestClient.connect(url, { clientId: 'healthy' });
    await healthy.subscribe('health/#', 1);
  });

  afterAll(async () => {
    await healthy.end();
    await app.close();
  });

  afterEach(async () => {
    // Whatever a test's peer did, the broker keeps serving everyone else.
    const topic = `health/${++checks}`;
    await healthy.publish(topic, 'ok', { qos: 1 });
    await healthy.waitFor(1, topic);
  });

  it('answers a valid handshake with 101, the key proof and the mqtt subprotocol', async () => {
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    const peer = await RawWebSocket.open(port, '/mqtt', { 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Protocol': 'chat, mqtt' });
    expect(peer.answer.status).toBe(101);
    expect(peer.answer.headers['sec-websocket-accept']).toBe(expectedAccept(key));
    expect(peer.answer.headers['sec-websocket-protocol']).toBe('mqtt');
    // No extension (compression) is ever negotiated.
    expect(peer.answer.headers['sec-websocket-extensions']).toBeUndefined();
    peer.destroy();
  });

  it.each([
    ['a WebSocket version other than 13', { 'Sec-WebSocket-Version': '8' }, 'GET', 426],
    ['no Sec-WebSocket-Key', { 'Sec-WebSocket-Key': undefined }, 'GET', 400],
    ['a key that is not 16 bytes of base64', { 'Sec-WebSocket-Key': 'short' }, 'GET', 400],
    ['another Upgrade than websocket', { Upgrade: 'h2c' }, 'GET', 400],
    ['a method other than GET', {}, 'POST', 405],
    ['no Host header', { Host: undefined }, 'GET', 400],
    ['HTTP/1.0', {}, 'GET', 400, '1.0'],
  ])('refuses a handshake with %s', async (_name, headers, method, status, httpVersion = '1.1') => {
    const peer = await RawWebSocket.open(port, '/mqtt', headers, method, httpVersion);
    expect(peer.answer.status).toBe(status);
    if (status === 426) expect(peer.answer.headers['sec-websocket-version']).toBe('13');
    await peer.ended;
  });

  it.each([
    ['Connection: keep-alive, Upgrade', { Connection: 'keep-alive, Upgrade' }],
    ['Upgrade and Connection in other cases, with spaces and empty list elements', { Upgrade: ' WebSocket ', Connection: ', upgrade ,' }],
  ])('reads the Upgrade and Connection headers as token lists (RFC 7230): %s', async (_name, headers) => {
    const peer = await RawWebSocket.open(port, '/mqtt', headers);
    expect(peer.answer.status).toBe(101);
    peer.destroy();
  });

  it('reads MQTT from fragmented messages and from frame headers cut between TCP writes', async () => {
    const peer = await RawWebSocket.open(port);
    const connect = connectPacket('fragments');
    const fragments = Buffer.concat([
      RawWebSocket.frame(BINARY, connect.subarray(0, 5), { fin: false }),
      RawWebSocket.frame(CONTINUATION, connect.subarray(5, 9), { fin: false }),
      RawWebSocket.frame(CONTINUATION, connect.subarray(9)),
    ]);
    for (let i = 0; i < fragments.length; i++) peer.write(fragments.subarray(i, i + 1));
    const [connack] = await peer.waitForFrames(1);
    expect(connack).toMatchObject({ fin: true, opcode: BINARY, masked: false });
    expect(packetsOf([connack])[0]).toMatchObject({ cmd: 'connack', returnCode: 0 });
    peer.destroy();
  });

  it('answers a ping with a pong carrying its payload, between MQTT packets', async () => {
    const peer = await RawWebSocket.open(port);
    peer.write(Buffer.concat([RawWebSocket.frame(PING, Buffer.from('are you there')), RawWebSocket.frame(BINARY, connectPacket('pinger'))]));
    const frames = await peer.waitForFrames(2);
    expect(frames.find((frame) => frame.opcode === PONG)?.payload.toString()).toBe('are you there');
    expect(packetsOf(frames)[0]).toMatchObject({ cmd: 'connack' });
    peer.destroy();
  });

  it('answers a close frame with a close frame and ends the connection; the broker drops the client', async () => {
    const peer = await RawWebSocket.open(port);
    peer.write(RawWebSocket.frame(BINARY, connectPacket('closer')));
    await peer.waitForFrames(1);
    const gone = new Promise((resolve) => brokerOf(app).once('clientDisconnected', resolve));
    peer.write(RawWebSocket.frame(CLOSE, closePayload(1000, 'bye')));
    expect(await peer.closeCode()).toBe(1000);
    await Promise.all([peer.ended, gone]);
  });

  it('drops the client when the peer closes TCP without a close frame', async () => {
    const peer = await RawWebSocket.open(port);
    peer.write(RawWebSocket.frame(BINARY, connectPacket('vanisher')));
    await peer.waitForFrames(1);
    const gone = new Promise((resolve) => brokerOf(app).once('clientDisconnected', resolve));
    peer.socket.end();
    await Promise.all([peer.ended, gone]);
  });

  it.each([
    ['an unmasked frame', RawWebSocket.frame(BINARY, Buffer.from([0xc0, 0]), { masked: false }), 1002],
    ['a reserved bit without an extension', RawWebSocket.frame(BINARY, Buffer.from([0xc0, 0]), { rsv: 4 }), 1002],
    ['an unknown data opcode', RawWebSocket.frame(0x3, Buffer.from([1])), 1002],
    ['an unknown control opcode', RawWebSocket.frame(0xb, Buffer.from([1])), 1002],
    ['a fragmented ping', RawWebSocket.frame(PING, Buffer.from('x'), { fin: false }), 1002],
    ['a ping longer than 125 bytes', RawWebSocket.frame(PING, Buffer.alloc(126)), 1002],
    ['a continuation with no message', RawWebSocket.frame(CONTINUATION, Buffer.from([1])), 1002],
    [
      'a new message inside a fragmented one',
      Buffer.concat([RawWebSocket.frame(BINARY, Buffer.from([0xc0]), { fin: false }), RawWebSocket.frame(BINARY, Buffer.from([0]))]),
      1002,
    ],
    ['a close code reserved for local use', RawWebSocket.frame(CLOSE, closePayload(1006)), 1002],
    ['a one-byte close payload', RawWebSocket.frame(CLOSE, Buffer.from([3])), 1002],
    ['a close reason that is not UTF-8', RawWebSocket.frame(CLOSE, Buffer.concat([closePayload(1000), Buffer.from([0xff, 0xfe])])), 1007],
    ['a text frame', RawWebSocket.frame(0x1, Buffer.from('hello')), 1003],
    ['a frame announcing 2^60 bytes', RawWebSocket.frame(BINARY, Buffer.alloc(0), { length: 1n << 60n }), 1009],
    [
      'a fragmented message over maxPayload in all',
      Buffer.concat([RawWebSocket.frame(BINARY, Buffer.alloc(3000), { fin: false }), RawWebSocket.frame(CONTINUATION, Buffer.alloc(3000))]),
      1009,
    ],
  ])('closes the connection on %s with the close code for it', async (_name, bytes, code) => {
    const peer = await RawWebSocket.open(port);
    peer.write(RawWebSocket.frame(BINARY, connectPacket(`bad-${code}`)));
    await peer.waitForFrames(1);
    peer.write(bytes);
    expect(await peer.closeCode()).toBe(code);
    await peer.ended;
    // The reason says what was wrong, within a control frame's 125 bytes.
    const close = peer.frames.find((frame) => frame.opcode === CLOSE)!;
    expect(close.payload.length).toBeGreaterThan(2);
    expect(close.payload.length).toBeLessThanOrEqual(125);
  });

  it('closes with 1002, the frame before the FIN, on a malformed MQTT packet (a CONNECT with a reserved flag)', async () => {
    const peer = await RawWebSocket.open(port);
    const connect = connectPacket('reserved-flag');
    connect[0] |= 0x01;
    peer.write(RawWebSocket.frame(BINARY, connect));
    expect(await peer.closedWith()).toBe(1002);
  });

  it('sends a refusing CONNACK, then a close frame, before the FIN', async () => {
    const peer = await RawWebSocket.open(port);
    peer.write(RawWebSocket.frame(BINARY, connectPacket('x'.repeat(300))));
    expect(await peer.closedWith()).toBe(1000);
    expect(packetsOf(peer.frames)[0]).toMatchObject({ cmd: 'connack', returnCode: 2 });
  });

  it('sends every server frame unmasked, final and binary', async () => {
    const peer = await RawWebSocket.open(port);
    peer.write(RawWebSocket.frame(BINARY, connectPacket('frames-out')));
    peer.write(RawWebSocket.frame(BINARY, RawMqttSocket.encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'out/#', qos: 0 }] })));
    await peer.waitForFrames(2);
    await healthy.publish('out/1', Buffer.alloc(200, 1));
    await healthy.publish('out/2', Buffer.alloc(300, 2));
    const frames = await peer.waitForFrames(4);
    expect(frames.every((frame) => frame.fin && !frame.masked && frame.opcode === BINARY)).toBe(true);
    expect(packetsOf(frames).map((packet) => packet.cmd)).toEqual(['connack', 'suback', 'publish', 'publish']);
    peer.destroy();
  });

  it('still serves MQTT.js over a regular WebSocket client', async () => {
    const client = await TestClient.connect(url, { clientId: 'regular' });
    await client.subscribe('regular/#', 2);
    await client.publish('regular/a', 'x', { qos: 2 });
    expect((await client.waitFor(1, 'regular/a'))[0].payload.toString()).toBe('x');
    await client.end();
  });
});

describe('WebSocket close on shutdown', () => {
  it('sends 1001 (going away) to every connection, before the FIN, and completes within closeTimeout', async () => {
    const { app, port } = await startApp({ imports: [MqttWsModule.forRoot({ closeTimeout: 500 })] });
    const connected = await RawWebSocket.open(port);
    connected.write(RawWebSocket.frame(BINARY, connectPacket('shutdown-connected')));
    await connected.waitForFrames(1);
    // A peer that never answers the close frame is not waited for past closeTimeout.
    const silent = await RawWebSocket.open(port);
    silent.socket.allowHalfOpen = true;
    await app.close();
    expect(await connected.closedWith()).toBe(1001);
    expect(await silent.closeCode()).toBe(1001);
    silent.destroy();
  });
});
