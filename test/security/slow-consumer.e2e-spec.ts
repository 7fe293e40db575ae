import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { MqttBroker, MqttClientInfo } from '../../lib/broker/mqtt-broker.js';
import type { Socket } from 'node:net';
import { MqttWsModule } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';
import { RawMqttSocket } from '../utils/raw-mqtt-socket.js';
import { HealthyStream } from './utils/healthy-stream.js';
import { brokerOf } from '../utils/broker.js';

const LIMIT = 256 * 1024;

describe('a subscriber that stops reading', () => {
  let app: INestApplication;
  let url: string;
  let broker: MqttBroker;

  beforeAll(async () => {
    // drainTimeout is MqttBroker' 60 s default: only the byte limit can end the slow client within the test.
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({ maxBufferedBytes: LIMIT })] }));
    broker = brokerOf(app);
  });

  afterAll(() => app.close());

  it('is disconnected once over maxBufferedBytes, others keep their QoS 1 stream, its session is kept', async () => {
    const healthy = await HealthyStream.start(url);
    const slow = await RawMqttSocket.open(url);
    slow.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: false, clientId: 'slow', keepalive: 0 });
    await slow.waitForPackets(1);
    slow.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood/#', qos: 1 }] });
    await slow.waitForPackets(2);
    // Stop reading: the kernel buffers fill, then the server's.
    (slow.socket as unknown as { _socket: Socket })._socket.pause();

    const disconnected = new Promise<void>((resolve) =>
      broker.on('clientDisconnected', (client: MqttClientInfo) => client.id === 'slow' && resolve()),
    );
    let gone = false;
    void disconnected.then(() => (gone = true));
    const flooder = await TestClient.connect(url, { clientId: 'flooder' });
    const payload = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    while (!gone) {
      await flooder.publish(`flood/${sent++}`, payload, { qos: 1 });
    }
    await disconnected;
    // Bounded: kernel buffers (a few MiB on loopback) plus the limit, not the whole flood.
    expect(sent).toBeLessThan(2000);
    await healthy.finish();

    // The persistent session survived, with the messages that were not acknowledged.
    slow.socket.terminate();
    const back = await TestClient.connect(url, { clientId: 'slow', clean: false });
    expect(back.client.options.clientId).toBe('slow');
    await back.waitFor(1);
    await Promise.all([back.end(), flooder.end()]);
  });
});

describe('a subscriber that stops reading, with maxBufferedBytes off', () => {
  it('is disconnected after drainTimeout', async () => {
    const { app, url } = await startApp({ imports: [MqttWsModule.forRoot({ maxBufferedBytes: 0, drainTimeout: 300 })] });
    try {
      const broker = brokerOf(app);
      const slow = await RawMqttSocket.open(url);
      await slow.connect('slow-drain');
      slow.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood/#', qos: 0 }] });
      await slow.waitForPackets(2);
      (slow.socket as unknown as { _socket: Socket })._socket.pause();
      let gone = false;
      const disconnected = new Promise<void>((resolve) =>
        broker.on('clientDisconnected', (client: MqttClientInfo) => client.id === 'slow-drain' && resolve()),
      ).then(() => (gone = true));
      const flooder = await TestClient.connect(url, { clientId: 'drain-flooder' });
      const payload = Buffer.alloc(64 * 1024, 1);
      for (let sent = 0; !gone; sent++) await flooder.publish(`flood/${sent}`, payload, { qos: 1 });
      await disconnected;
      slow.socket.terminate();
      await flooder.end();
    } finally {
      await app.close();
    }
  });
});
