import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { createRpc } from '../lib/rpc.js';
import { windowProbeHandlers } from './window-probe.js';

/**
 * The child side of a target: tells the suite where it listens and which process to measure, frees
 * memory on request before an RSS reading, and ends when the suite goes away.
 */
export function serveTarget({ port, pid = process.pid, info = {}, handlers = {}, close }) {
  const rpc = createRpc(process, {
    async gc() {
      if (typeof globalThis.gc === 'function') {
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 50));
        globalThis.gc();
      }
      // BENCH_HEAP_SNAPSHOT=<dir>: a heap snapshot at every memory reading, to see what a connection holds.
      if (process.env.BENCH_HEAP_SNAPSHOT && pid === process.pid) {
        writeHeapSnapshot(join(process.env.BENCH_HEAP_SNAPSHOT, `${process.pid}-${Date.now()}.heapsnapshot`));
      }
      // The JS heap tells how much of a connection's RSS is objects; only meaningful for this process.
      return pid === process.pid ? { heapUsed: process.memoryUsage().heapUsed } : {};
    },
    // Only a Node target measures itself; Mosquitto's wrapper is not the process measured.
    ...(pid === process.pid ? windowProbeHandlers : {}),
    ...handlers,
  });
  let ending = false;
  const end = () => {
    if (ending) return;
    ending = true;
    const timer = setTimeout(() => process.exit(0), 500);
    timer.unref();
    Promise.resolve(close?.()).finally(() => process.exit(0));
  };
  process.on('disconnect', end);
  process.on('SIGTERM', end);
  process.on('SIGINT', end);
  rpc.notify('ready', { port, pid, ...info });
  return rpc;
}

/** Port of a server listening on 127.0.0.1, once it listens. */
export function listenOnLoopback(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}
