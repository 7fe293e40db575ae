import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True when `redis-server` can be started from PATH. */
export function hasRedisServer(): boolean {
  return !spawnSync('redis-server', ['--version']).error;
}

/**
 * A private `redis-server` for one test file: a free loopback port, no RDB or AOF files (its
 * working directory is a temporary one, removed on stop). `restart()` keeps the port, not the data.
 */
export class RedisServer {
  private process: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'nestjs-mqtt-ws-redis-'));

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.startProcess();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    await this.stopProcess();
    await this.startProcess();
  }

  /** Stops the server; `start` again with `resume()`. */
  stopProcess(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async stop(): Promise<void> {
    await this.stopProcess();
    rmSync(this.dir, { recursive: true, force: true });
  }

  startProcess(): Promise<void> {
    const args = ['--save', '', '--appendonly', 'no', '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    let output = '';
    return new Promise((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          child.stdout!.off('data', onData);
          child.off('exit', onExit);
          child.stdout!.resume();
          resolve();
        }
      };
      const onExit = (code: number | null) => reject(new Error(`redis-server exited (${code}) on start:\n${output}`));
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', onExit);
    });
  }
}

/** A port that was free a moment ago; good enough for a loopback test server. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * `describe` when `redis-server` is on PATH. Otherwise the suite is skipped, loudly, and with
 * `CI=true` the skip is a failing test, so a CI image without Redis cannot pass unnoticed.
 */
export function describeWithRedis(name: string, body: () => void): void {
  if (hasRedisServer()) return describe(name, body);
  const message =
    `redis-server is not on PATH: the cluster suite "${name}" is SKIPPED. ` +
    'Install it (apt-get install -y redis-server) to run it.';
  console.warn(`\n${'!'.repeat(100)}\n${message}\n${'!'.repeat(100)}\n`);
  if (process.env.CI === 'true') {
    test(`${name}: redis-server is on PATH (required with CI=true)`, () => {
      throw new Error(message);
    });
  }
  describe.skip(name, body);
}
