import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MqttWsModule } from '../../lib/index.js';
import { TestClient } from '../utils/mqtt-client.js';
import { handshakeStatus } from './utils/connect.js';

/** A self-signed certificate for 127.0.0.1, made for this run. */
function makeCertificate(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-ws-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('behind an HTTPS Nest app', () => {
  let app: INestApplication;
  let port: number;
  let cert: Buffer;

  beforeAll(async () => {
    const credentials = makeCertificate();
    cert = credentials.cert;
    const moduleRef = await Test.createTestingModule({ imports: [MqttWsModule.forRoot({})] }).compile();
    app = moduleRef.createNestApplication({ logger: false, httpsOptions: credentials });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as AddressInfo).port;
  });

  afterAll(() => app.close());

  it('serves MQTT as wss:// to a client that trusts the certificate', async () => {
    const options = { ca: cert, wsOptions: { ca: cert } };
    const subscriber = await TestClient.connect(`wss://127.0.0.1:${port}/mqtt`, { clientId: 'tls-sub', ...options });
    const publisher = await TestClient.connect(`wss://127.0.0.1:${port}/mqtt`, { clientId: 'tls-pub', ...options });
    await subscriber.subscribe('secure/#', 1);
    await publisher.publish('secure/hello', 'over TLS', { qos: 1 });
    expect((await subscriber.waitFor(1))[0].payload.toString()).toBe('over TLS');
    await Promise.all([subscriber.end(), publisher.end()]);
  });

  it('refuses a client that does not trust it, and plain ws://', async () => {
    await expect(TestClient.connect(`wss://127.0.0.1:${port}/mqtt`, { clientId: 'tls-untrusting' })).rejects.toThrow();
    expect(await handshakeStatus(`ws://127.0.0.1:${port}/mqtt`)).not.toBe(101);
  });
});
