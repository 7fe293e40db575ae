import 'reflect-metadata';
import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MqttService } from '../../lib/index.js';

/** A self-signed certificate for 127.0.0.1, made for this run (it is its own CA, for the server and for clients). */
export function makeCertificate(commonName = '127.0.0.1'): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-tcp-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${commonName}`,
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Keeps what the app logs, to read the start-up lines. */
export class RecordingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown, context?: string): void {
    this.lines.push(`${context ?? ''}: ${String(message)}`);
  }
  error(): void {}
  warn(message: unknown, context?: string): void {
    this.lines.push(`${context ?? ''}: ${String(message)}`);
  }
  debug(): void {}
  verbose(): void {}
}

/** Boots an app on a free loopback port and returns it with its endpoints by scheme. */
export async function startTcpApp(metadata: ModuleMetadata, logger: LoggerService | false = false) {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app: INestApplication = moduleRef.createNestApplication({ logger });
  await app.listen(0, '127.0.0.1');
  const endpoints = app.get(MqttService).endpoints();
  const find = (scheme: string) => endpoints.find((url) => url.startsWith(`${scheme}://`));
  return { app, endpoints, ws: find('ws'), mqtt: find('mqtt'), mqtts: find('mqtts') };
}

/** A raw TCP socket to a `mqtt://host:port` URL, connected. */
export function rawSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Resolves with what the server sent once it closed the socket (a reset counts as closed). */
export function closedBy(socket: Socket): Promise<Buffer> {
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', () => resolve(Buffer.concat(received))));
}

/** Resolves once `condition` holds; the server's counters settle on its sockets' 'close' events. */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** The fixed header of a CONNECT that announces `remainingLength` bytes. */
export function connectHeader(remainingLength: number): Buffer {
  const bytes = [0x10];
  let length = remainingLength;
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return Buffer.from(bytes);
}
