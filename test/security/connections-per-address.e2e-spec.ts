import 'reflect-metadata';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { connect as tcpConnect, type Socket } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { MqttBroker } from '../../lib/broker/mqtt-broker.js';
import { MqttWsModule, type MqttWsModuleOptions } from '../../lib/index.js';
import { MqttWsListener } from '../../lib/transport/mqtt-ws.listener.js';
import { startApp } from '../utils/app.js';
import { Deferred } from '../utils/deferred.js';
import { RawMqttSocket } from '../utils/raw-mqtt-socket.js';
import { handshakeStatus } from './utils/connect.js';
import { brokerOf } from '../utils/broker.js';

const from = (address: string) => ({ 'X-Forwarded-For': address });

/** An upgrade request written straight to TCP, so the client can leave at any point of the handshake. */
async function rawUpgrade(port: number, address: string): Promise<Socket> {
  const socket = tcpConnect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(
    'GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n' +
      `X-Forwarded-For: ${address}\r\n\r\n`,
  );
  return socket;
}

describe('maxConnectionsPerIp', () => {
  const apps: INestApplication[] = [];
  const start = async (options: MqttWsModuleOptions) => {
    const started = await startApp({ imports: [MqttWsModule.forRoot(options)] });
    apps.push(started.app);
    const counts = () => started.app.get(MqttWsListener).connectionsPerAddress;
    return { ...started, counts };
  };

  /** Resolves when the broker has let go of a client, which is after its socket's count was released. */
  const disconnected = (app: INestApplication) => new Promise((resolve) => brokerOf(app).once('clientDisconnected', resolve));

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('refuses the handshake past the limit from one address with 429; other addresses connect; closing one frees a slot', async () => {
    const { app, url, counts } = await start({ maxConnectionsPerIp: 2, trustedProxies: ['127.0.0.1'] });
    const first = await RawMqttSocket.open(url, 'mqtt', from('203.0.113.7'));
    await first.connect('first');
    const second = await RawMqttSocket.open(url, 'mqtt', from('203.0.113.7'));
    expect(counts().get('203.0.113.7')).toBe(2);
    expect(await handshakeStatus(url, from('203.0.113.7'))).toBe(429);
    // Another client behind the same proxy, and the proxy's own address, are not affected.
    expect(await handshakeStatus(url, from('198.51.100.1'))).toBe(101);
    expect(await handshakeStatus(url)).toBe(101);
    const gone = disconnected(app);
    await first.close();
    await gone;
    expect(counts().get('203.0.113.7')).toBe(1);
    expect(await handshakeStatus(url, from('203.0.113.7'))).toBe(101);
    await second.close();
  });

  it('counts by the TCP peer when X-Forwarded-For does not come from a trusted proxy', async () => {
    const { url, counts } = await start({ maxConnectionsPerIp: 1 });
    const only = await RawMqttSocket.open(url);
    expect(await handshakeStatus(url, from('198.51.100.1'))).toBe(429);
    expect([...counts()]).toEqual([['127.0.0.1', 1]]);
    await only.close();
  });

  it('is off by default: many connections from one address, none tracked', async () => {
    const { url, counts } = await start({});
    const sockets = await Promise.all(Array.from({ length: 50 }, () => RawMqttSocket.open(url)));
    expect(counts().size).toBe(0);
    await Promise.all(sockets.map((socket) => socket.close()));
  });

  it('returns to no counted connection after churn: closed, terminated, refused and abandoned handshakes', async () => {
    const { app, url, port, counts } = await start({ maxConnectionsPerIp: 3, trustedProxies: ['127.0.0.1'] });
    const CYCLES = 400;
    // Each cycle opens one TCP connection, as do the 3 below; the test ends when the server has closed all of them.
    const serverSocketsClosed: Promise<unknown>[] = [];
    const allAccepted = new Deferred<void>();
    (app.getHttpServer() as Server).on('connection', (socket: Socket) => {
      serverSocketsClosed.push(once(socket, 'close'));
      if (serverSocketsClosed.length === CYCLES + 3) allAccepted.resolve();
    });
    const addresses = ['203.0.113.1', '203.0.113.2', '2001:db8::1'];
    // An address at its limit throughout, so that refused handshakes are part of the churn.
    const full = await Promise.all([1, 2, 3].map(() => RawMqttSocket.open(url, 'mqtt', from('198.51.100.9'))));
    const statuses: number[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < CYCLES) {
        const i = next++;
        const address = addresses[i % addresses.length];
        switch (i % 5) {
          case 0: {
            // A full MQTT session, ended by the client's WebSocket close handshake.
            const raw = await RawMqttSocket.open(url, 'mqtt', from(address)).catch(() => undefined);
            if (!raw) break;
            await raw.connect(`churn-${i}`);
            raw.socket.close();
            await raw.closed;
            break;
          }
          case 1: {
            // The socket just goes.
            const raw = await RawMqttSocket.open(url, 'mqtt', from(address)).catch(() => undefined);
            await raw?.close();
            break;
          }
          case 2: {
            // The client leaves right after its request, before or during the upgrade.
            const socket = await rawUpgrade(port, address);
            socket.destroy();
            break;
          }
          case 3: {
            // The client half-closes with its request: the server reads the request and then EOF.
            const socket = await rawUpgrade(port, address);
            socket.end();
            socket.resume();
            await once(socket, 'close');
            break;
          }
          default:
            statuses.push(await handshakeStatus(url, from('198.51.100.9')));
        }
      }
    };
    // 12 clients at once on 3 addresses limited to 3 each: some of their handshakes may be refused too.
    await Promise.all(Array.from({ length: 12 }, worker));
    await Promise.all(full.map((socket) => socket.close()));
    await allAccepted.promise;
    await Promise.all(serverSocketsClosed);
    expect(statuses).toEqual(Array(CYCLES / 5).fill(429));
    expect(counts().size).toBe(0);
    // And the limit still holds exactly after the churn.
    const open = await Promise.all([1, 2, 3].map(() => RawMqttSocket.open(url, 'mqtt', from(addresses[0]))));
    expect(await handshakeStatus(url, from(addresses[0]))).toBe(429);
    await Promise.all(open.map((socket) => socket.close()));
  });

  it('releases the connections the server ends, as on shutdown', async () => {
    const { app, url, counts } = await start({ maxConnectionsPerIp: 5 });
    const closedOnServer: Promise<unknown>[] = [];
    (app.getHttpServer() as Server).on('connection', (socket: Socket) => closedOnServer.push(once(socket, 'close')));
    const sockets = await Promise.all([1, 2, 3].map(() => RawMqttSocket.open(url)));
    const byAddress = counts();
    expect(byAddress.get('127.0.0.1')).toBe(3);
    await app.close();
    await Promise.all(closedOnServer);
    expect(byAddress.size).toBe(0);
    await Promise.all(sockets.map((socket) => socket.closed));
  });

  it('names the option when it is not a non-negative integer', async () => {
    for (const value of [-1, 1.5, '10']) {
      await expect(startApp({ imports: [MqttWsModule.forRoot({ maxConnectionsPerIp: value as number })] })).rejects.toThrow(/"maxConnectionsPerIp"/);
    }
  });
});
