import 'reflect-metadata';
import { type INestApplication } from '@nestjs/common';
import mqttPacket from 'mqtt-packet';
import { MqttWsModule } from '../lib/index.js';
import { startApp } from './utils/app.js';
import { TestClient } from './utils/mqtt-client.js';
import { RawMqttSocket, upgradeStatus } from './utils/raw-mqtt-socket.js';

describe('MQTT over WebSocket transport', () => {
  let app: INestApplication;
  let url: string;
  let port: number;

  beforeAll(async () => {
    ({ app, url, port } = await startApp({ imports: [MqttWsModule.forRoot({ allowMissingSubprotocol: true })] }));
  });

  afterAll(() => app.close());

  it("negotiates the 'mqtt' subprotocol, and 'mqttv3.1' for older clients", async () => {
    expect(await upgradeStatus(url, ['chat', 'mqtt'])).toEqual({ status: 101, protocol: 'mqtt' });
    expect(await upgradeStatus(url, 'mqttv3.1')).toEqual({ status: 101, protocol: 'mqttv3.1' });
    expect(await upgradeStatus(url, ['mqttv3.1', 'mqtt'])).toEqual({ status: 101, protocol: 'mqtt' });
  });

  it('refuses a handshake that offers only other subprotocols with 400, and accepts one that offers none', async () => {
    expect(await upgradeStatus(url, ['chat', 'graphql-ws'])).toEqual({ status: 400 });
    expect(await upgradeStatus(url)).toEqual({ status: 101, protocol: '' });
  });

  it('leaves other paths alone', async () => {
    expect(await upgradeStatus(`ws://127.0.0.1:${port}/not-mqtt`, 'mqtt')).toEqual({ status: 0 });
    expect(await upgradeStatus(`${url}?token=abc`, 'mqtt')).toMatchObject({ status: 101 });
  });

  it('reassembles a packet split across frames and reads several packets from one frame', async () => {
    const raw = await RawMqttSocket.open(url);
    const connect = RawMqttSocket.encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'split', keepalive: 0 });
    for (let i = 0; i < connect.length; i += 3) raw.send(connect.subarray(i, i + 3));
    expect((await raw.waitForPackets(1))[0].cmd).toBe('connack');

    const subscribe = RawMqttSocket.encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'echo/#', qos: 0 }] });
    const publishes = [1, 2, 3].map((n) => RawMqttSocket.encode({ cmd: 'publish', topic: `echo/${n}`, payload: `p${n}`, qos: 0, retain: false, dup: false }));
    raw.send(Buffer.concat([subscribe, ...publishes]));
    const packets = await raw.waitForPackets(5);
    expect(packets.slice(1).map((p) => (p.cmd === 'publish' ? `${p.topic}=${p.payload}` : p.cmd))).toEqual([
      'suback',
      'echo/1=p1',
      'echo/2=p2',
      'echo/3=p3',
    ]);
    await raw.close();
  });

  it('sends whole packets per frame, never a packet cut across frames', async () => {
    const raw = await RawMqttSocket.open(url);
    await raw.connect('framing');
    raw.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'frames', qos: 1 }] });
    await raw.waitForPackets(2);
    raw.sendPacket({ cmd: 'publish', topic: 'frames', payload: Buffer.alloc(300, 7), qos: 1, messageId: 2, retain: false, dup: false });
    // PUBACK for our publish and the PUBLISH delivered back to us.
    await raw.waitForPackets(4);
    for (const frame of raw.frames) {
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      let parsed = 0;
      parser.on('packet', () => parsed++);
      const leftover = parser.parse(frame);
      expect(parsed).toBeGreaterThanOrEqual(1);
      expect(leftover).toBe(0);
    }
    await raw.close();
  });

  it.each([10, 300, 70_000])('delivers a %i-byte payload intact in every frame-length encoding', async (size) => {
    const client = await TestClient.connect(url);
    await client.subscribe('big', 1);
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i++) payload[i] = i % 251;
    await client.publish('big', payload, { qos: 1 });
    const [message] = await client.waitFor(1, 'big');
    expect(message.payload.equals(payload)).toBe(true);
    await client.end();
  });

  it('closes a connection that sends a text frame with 1003, and keeps serving others', async () => {
    const healthy = await RawMqttSocket.open(url);
    await healthy.connect('healthy');
    const raw = await RawMqttSocket.open(url);
    await raw.connect('texter');
    raw.send('hello', false);
    expect((await raw.closed).code).toBe(1003);
    healthy.sendPacket({ cmd: 'pingreq' });
    expect((await healthy.waitForPackets(2))[1].cmd).toBe('pingresp');
    await healthy.close();
  });
});

describe('subprotocol policy', () => {
  it('refuses handshakes without a subprotocol when allowMissingSubprotocol is false', async () => {
    const { app, url } = await startApp({ imports: [MqttWsModule.forRoot({ allowMissingSubprotocol: false })] });
    expect(await upgradeStatus(url)).toEqual({ status: 400 });
    expect(await upgradeStatus(url, 'mqtt')).toEqual({ status: 101, protocol: 'mqtt' });
    await app.close();
  });

  it("keeps another library's once('upgrade') listener a once listener behind the MQTT path", async () => {
    let calls = 0;
    const started = await startApp({ imports: [MqttWsModule.forRoot()] }, (nest) => {
      nest.getHttpServer().once('upgrade', (_request: unknown, socket: { destroy(): void }) => {
        calls++;
        socket.destroy();
      });
    });
    try {
      const other = `ws://127.0.0.1:${started.port}/other`;
      expect(await upgradeStatus(other, 'mqtt')).toEqual({ status: 0 });
      expect(await upgradeStatus(other, 'mqtt')).toEqual({ status: 0 });
      expect(calls).toBe(1);
      const late = (_request: unknown, socket: { destroy(): void }) => {
        calls++;
        socket.destroy();
      };
      started.app.getHttpServer().once('upgrade', late);
      await upgradeStatus(other, 'mqtt');
      await upgradeStatus(other, 'mqtt');
      expect(calls).toBe(2);
    } finally {
      await started.app.close();
    }
  });
});
