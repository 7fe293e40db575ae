// Mosquitto with a WebSocket listener and a plain TCP listener on loopback, from a generated config.
// This wrapper owns the mosquitto process and its temp dir; the suite measures mosquitto's own pid.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveTarget } from './host.js';
import { freePort } from '../lib/free-port.js';

const dir = mkdtempSync(join(process.env.BENCH_TEMP_ROOT ?? tmpdir(), 'mosquitto-'));
const [wsPort, tcpPort] = [await freePort(), await freePort()];
const config = join(dir, 'mosquitto.conf');
writeFileSync(
  config,
  [
    'per_listener_settings false',
    'allow_anonymous true',
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'set_tcp_nodelay true',
    `listener ${wsPort} 127.0.0.1`,
    'protocol websockets',
    `listener ${tcpPort} 127.0.0.1`,
    'protocol mqtt',
    '',
  ].join('\n'),
);

const mosquitto = spawn('mosquitto', ['-c', config], { stdio: ['ignore', 'ignore', 'inherit'] });
const cleanUp = () => {
  if (mosquitto.exitCode === null && mosquitto.signalCode === null) mosquitto.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanUp);
mosquitto.once('exit', (code, signal) => {
  process.stderr.write(`mosquitto exited (${signal ?? code})\n`);
  process.exit(1);
});

await Promise.all([waitForPort(wsPort), waitForPort(tcpPort)]);
serveTarget({
  port: wsPort,
  pid: mosquitto.pid,
  info: { transport: 'ws', path: '/mqtt', tcpPort },
  close: () => {
    mosquitto.removeAllListeners('exit');
    cleanUp();
  },
});

async function waitForPort(port, deadline = Date.now() + 10_000) {
  for (;;) {
    const open = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`mosquitto is not listening on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
