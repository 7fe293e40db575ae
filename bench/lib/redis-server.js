import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { benchTempRoot, spawnChild, stop } from './processes.js';
import { freePort } from './free-port.js';

/**
 * A private redis-server for one cluster measurement: a free loopback port, no RDB or AOF file (its
 * working directory is a temp dir of the suite, removed with it), ended with the measurement. A fresh
 * one each time, so that no session or subscription of an earlier measurement is left in it.
 */

export const redisServerMissing = () =>
  spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error ? '`redis-server` is not on the PATH (apt-get install -y redis-server)' : null;

export function redisServerVersion() {
  const result = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return result.error ? null : (/v=(\S+)/.exec(result.stdout)?.[1] ?? null);
}

export async function startRedisServer({ readyTimeoutMs = 10_000 } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(benchTempRoot(), 'redis-'));
  const args = ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir];
  const child = spawnChild('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const cleanUp = async () => {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start within ${readyTimeoutMs} ms:\n${output}`)), readyTimeoutMs);
      const onData = (chunk) => {
        output = (output + chunk).slice(-4000);
        if (!output.includes('Ready to accept connections')) return;
        clearTimeout(timer);
        child.off('exit', onExit);
        // Its later log lines are read and dropped, so that a full pipe never blocks it.
        child.stdout.off('data', onData).resume();
        resolve();
      };
      const onExit = (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${signal ?? code}) on start:\n${output}`));
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', (chunk) => (output = (output + chunk).slice(-4000)));
      child.once('exit', onExit);
      child.once('error', onExit);
    });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid, stop: cleanUp };
}

/**
 * Commands Redis has executed since it started, from its own `INFO commandstats` (the INFO commands
 * this function sends are left out): `{ total, byCommand }`. Sampled at the edges of a measuring
 * window, the difference ÷ the messages of the window gives Redis commands per message.
 */
export async function redisCommandCalls(url) {
  const { port, hostname } = new URL(url);
  const { createConnection } = await import('node:net');
  const text = await new Promise((resolve, reject) => {
    const socket = createConnection({ port: Number(port), host: hostname });
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('INFO commandstats\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk;
      const header = /^\$(\d+)\r\n/.exec(reply);
      if (header && Buffer.byteLength(reply) >= header[0].length + Number(header[1])) {
        socket.destroy();
        resolve(reply);
      }
    });
    socket.on('error', reject);
  });
  const byCommand = {};
  let total = 0;
  for (const [, command, calls] of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (command === 'info') continue;
    byCommand[command] = Number(calls);
    total += Number(calls);
  }
  return { total, byCommand };
}
