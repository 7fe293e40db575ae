import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MqttWsModule, type MqttAuthPolicy, type MqttConnectAuthContext } from '../../lib/index.js';
import { MqttWsListener } from '../../lib/transport/mqtt-ws.listener.js';
import { connackCode } from './utils/connect.js';
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

/** Lets in the clients whose certificate the TLS server verified, and records what it saw. */
class CertificatePolicy implements MqttAuthPolicy {
  readonly seen: string[] = [];
  authenticate({ request }: MqttConnectAuthContext): boolean {
    const socket = request!.socket as TLSSocket;
    const certificate = socket.getPeerCertificate();
    this.seen.push(`${socket.authorized}:${certificate.subject?.CN}`);
    return socket.authorized;
  }
}

describe('wss on the dedicated port, with client certificates', () => {
  let app: INestApplication;
  let url: string;
  let credentials: { key: Buffer; cert: Buffer };
  const policy = new CertificatePolicy();

  beforeAll(async () => {
    credentials = makeCertificate();
    const tls = { ...credentials, ca: credentials.cert, requestCert: true, rejectUnauthorized: true };
    const moduleRef = await Test.createTestingModule({
      imports: [MqttWsModule.forRoot({ port: 0, host: '127.0.0.1', tls, auth: { useValue: policy } })],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    url = `wss://127.0.0.1:${app.get(MqttWsListener).address!.port}/mqtt`;
  });

  afterAll(() => app.close());

  it('hands the verified client certificate to the auth policy', async () => {
    // The test's one certificate is its own CA, the server's and the client's.
    const options = { ca: credentials.cert, key: credentials.key, cert: credentials.cert };
    const client = await TestClient.connect(url, { clientId: 'with-cert', ...options, wsOptions: options });
    await client.subscribe('cert/#', 1);
    await client.publish('cert/a', 'x', { qos: 1 });
    await client.waitFor(1, 'cert/a');
    await client.end();
    expect(policy.seen).toEqual(['true:127.0.0.1']);
  });

  it('refuses a client without a certificate during the TLS handshake, and plain ws://', async () => {
    await expect(connackCode(url, { ca: credentials.cert, wsOptions: { ca: credentials.cert } })).rejects.toThrow();
    expect(await handshakeStatus(url.replace('wss:', 'ws:'))).not.toBe(101);
    expect(policy.seen).toHaveLength(1);
  });
});
