import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRpc } from './rpc.js';

/**
 * Every process the suite starts, so that all of them end with it: on success, on an error, and on
 * SIGINT/SIGTERM. Children also end themselves when their IPC channel closes (see targets/host.js
 * and generator/generator.js), which covers the suite being killed outright.
 */
const children = new Set();
let tempRoot = null;

const TEMP_PREFIX = 'nestjs-mqtt-ws-bench-';

/** The suite's temp dir (Mosquitto configs); named after its pid, so that a later run can sweep it if the suite was killed. */
export function benchTempRoot() {
  if (tempRoot) return tempRoot;
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(name.startsWith(TEMP_PREFIX) && name.slice(TEMP_PREFIX.length).split('-')[0]);
    if (pid && !isAlive(pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  tempRoot = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
  return tempRoot;
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Forks a Node script with an IPC channel; resolves once the child has sent `ready`. */
export function forkChild(script, { args = [], execArgv = [], env = {}, handlers = {}, readyTimeoutMs = 30_000 } = {}) {
  const child = fork(script, args, {
    execArgv,
    env: { ...process.env, ...env, BENCH_TEMP_ROOT: benchTempRoot() },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`${script} did not start within ${readyTimeoutMs} ms`)), readyTimeoutMs);
    const fail = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop(child);
      reject(new Error(`${error.message}${stderr ? `\n${stderr.trim()}` : ''}`));
    };
    child.once('exit', (code, signal) => fail(new Error(`${script} exited (${signal ?? code}) before it was ready`)));
    child.once('error', fail);
    const rpc = createRpc(child, {
      ...handlers,
      ready: (info) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ child, rpc, info, stderr: () => stderr });
      },
    });
  });
}

/** Spawns a non-Node program (Mosquitto) that is ended with the suite. */
export function spawnChild(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export function stop(child, graceMs = 1500) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        child.kill('SIGKILL');
      } catch {}
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      child.kill('SIGTERM');
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

export async function stopAll() {
  await Promise.all([...children].map((child) => stop(child, 800)));
}

/** Last resort on the way out: synchronous, for `process.on('exit')`. */
function killAllNow() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {}
  }
  children.clear();
  if (tempRoot) {
    rmSync(tempRoot, { recursive: true, force: true });
    tempRoot = null;
  }
}

export function installExitHandlers(onSignal) {
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, async () => {
      onSignal?.(signal);
      await stopAll();
      killAllNow();
      process.exit(130);
    });
  }
}

export function removeTempRoot() {
  if (tempRoot) rmSync(tempRoot, { recursive: true, force: true });
  tempRoot = null;
}

const CLOCK_TICKS = 100; // getconf CLK_TCK on Linux

/** CPU seconds (user + system, all threads) a process has used so far, from /proc; null if it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** Resident set size in bytes, from /proc; null if the process is gone. */
export function rssBytes(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU seconds all processors have been busy since boot (/proc/stat), to see how much other processes used. */
export function machineBusySeconds() {
  try {
    const [line] = readFileSync('/proc/stat', 'utf8').split('\n', 1);
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = ticks[3] + (ticks[4] ?? 0);
    const total = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0);
    return (total - idle) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/**
 * Waits (at most `maxMs`) until processes other than the suite's use less than `threshold` of one
 * core, so that a measurement does not start in the middle of someone else's build.
 */
export async function waitForQuiet({ maxMs = 20_000, threshold = 0.25, sampleMs = 500 } = {}) {
  const ours = () => [process.pid, ...[...children].map((child) => child.pid)].reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0);
  const deadline = Date.now() + maxMs;
  let busy = 0;
  do {
    const machine0 = machineBusySeconds();
    const ours0 = ours();
    await new Promise((resolve) => setTimeout(resolve, sampleMs));
    busy = (machineBusySeconds() - machine0 - (ours() - ours0)) / (sampleMs / 1000);
    if (busy < threshold) return { busy, waitedMs: maxMs - (deadline - Date.now()) };
  } while (Date.now() < deadline);
  return { busy, waitedMs: maxMs };
}
