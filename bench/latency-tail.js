#!/usr/bin/env node
// Where the latency tail comes from (issue 16): runs the latency workload against one target and lays
// the slow messages over the server's own timeline, its GC pauses and its event-loop stalls
// (targets/window-probe.js), so that each slow message is put down to a GC pause, another stall of
// the server's loop, or neither (the kernel, the generator, or work the loop did not stall on).
//
//   node bench/latency-tail.js [--target=library] [--rate=5000] [--qos=0] [--window=5000] [--warmup=3000] [--allocations]
//
// `--allocations` also profiles the server's heap over the window (targets/window-probe.js) and prints
// what a message allocated, by package and by function: what the young generation has to collect.
// `--warmup` is the time before the window, 3 s by default as in the latency scenarios (lib/scenarios.js).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure } from './lib/measure.js';
import { readAllocations } from './lib/allocations.js';
import { ensurePrivateDeps } from './lib/private-deps.js';
import { removeTempRoot, stopAll } from './lib/processes.js';
import { STEADY_STATE_WARMUP_MS } from './lib/scenarios.js';
import { ALL_TARGETS } from './lib/targets.js';

const args = Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=')));
const target = ALL_TARGETS.find((t) => t.id === (args.target ?? 'library'));
if (!target) throw new Error(`no target ${args.target}; known: ${ALL_TARGETS.map((t) => t.id).join(', ')}`);
const rate = Number(args.rate ?? 5000);
const qos = Number(args.qos ?? 0);
const benchDir = dirname(fileURLToPath(import.meta.url));
const context = { benchDir, rootDir: dirname(benchDir), deps: ensurePrivateDeps(benchDir, () => {}) };
const scenario = { id: 'latency-tail', workload: 'latency', resolvedMetrics: [] };
const settings = { rounds: 1, warmupMs: Number(args.warmup ?? STEADY_STATE_WARMUP_MS), windowMs: Number(args.window ?? 5000), publishers: 10, rate, qos, payloadSize: 64, timeline: true };

// The target inherits the environment: its probe profiles the heap into this directory.
const heapDir = 'allocations' in args ? mkdtempSync(join(tmpdir(), 'bench-heap-')) : undefined;
if (heapDir) process.env.BENCH_HEAP_PROFILE = heapDir;

const sum = (list) => list.reduce((total, [, duration]) => total + duration, 0);

try {
  const outcome = await measure({ scenario, settings, target, context, seed: 1 });
  const { raw, probe } = outcome;
  const line = (text) => process.stdout.write(`${text}\n`);
  line(`${target.name}, ${rate} msgs/s, QoS ${qos}: ${raw.samples} samples, p50 ${raw.p50.toFixed(2)} p99 ${raw.p99.toFixed(2)} max ${raw.max.toFixed(2)} ms`);
  if (!probe) {
    line('(no probe: not a Node target)');
  } else {
    line(`server: ${(probe.cpuMs / raw.samples * 1000).toFixed(1)} µs CPU/msg; event-loop delay p99 ${probe.loopDelay.p99.toFixed(2)} max ${probe.loopDelay.max.toFixed(2)} ms`);
    line(`heap: ${Object.entries(probe.heapSpaces).map(([name, space]) => `${name} ${space.usedKiB}/${space.sizeKiB} KiB`).join(', ')}`);
    for (const [kind, g] of Object.entries(probe.gc)) line(`  GC ${kind}: ${g.count}×, ${g.totalMs.toFixed(1)} ms in all, longest ${g.maxMs.toFixed(2)} ms`);
    // A message is held up by a pause that overlaps its way through (with 0.2 ms of slack for the clocks).
    const overlaps = (sent, took, list) => list.some(([start, duration]) => start < sent + took + 0.2 && start + duration > sent - 0.2);
    // A stall in which the process used under half the wall time on CPU: it was waiting for a core.
    const busy = probe.stalls.filter(([, duration, cpuMs]) => cpuMs >= duration / 2);
    const descheduled = probe.stalls.filter(([, duration, cpuMs]) => cpuMs < duration / 2);
    line(`loop stalls over 1 ms: ${busy.length} running (${sum(busy).toFixed(0)} ms), ${descheduled.length} waiting for a core (${sum(descheduled).toFixed(0)} ms)`);
    const tail = raw.slow.filter(([, took]) => took >= raw.p99);
    for (const [name, set] of [['over 1 ms', raw.slow], ['at or over p99', tail]]) {
      const counts = { gc: 0, busy: 0, descheduled: 0, neither: 0 };
      for (const [sent, took] of set) {
        if (overlaps(sent, took, probe.pauses)) counts.gc++;
        else if (overlaps(sent, took, busy)) counts.busy++;
        else if (overlaps(sent, took, descheduled)) counts.descheduled++;
        else counts.neither++;
      }
      const share = (n) => (set.length ? `${((100 * n) / set.length).toFixed(0)}%` : '—');
      line(
        `messages ${name}: ${set.length}; during a GC pause ${share(counts.gc)}, a stall running JS ${share(counts.busy)}, ` +
          `a stall waiting for a core ${share(counts.descheduled)}, neither ${share(counts.neither)}`,
      );
    }
  }
  if (heapDir) {
    const [file] = readdirSync(heapDir);
    if (!file) {
      line('(no heap profile: not a Node target)');
    } else {
      const allocations = readAllocations(join(heapDir, file), outcome.raw.samples);
      const bytes = (value) => `${Math.round(value).toLocaleString('en-US')} B`;
      line(`allocated per message: ${bytes(allocations.bytesPerMessage)}; by package: ${allocations.byPackage.map(([name, value]) => `${name} ${bytes(value)}`).join(', ')}`);
      for (const [where, value] of allocations.byFunction.slice(0, 15)) line(`  ${bytes(value).padStart(7)}  ${where}`);
    }
  }
} finally {
  if (heapDir) rmSync(heapDir, { recursive: true, force: true });
  await stopAll();
  removeTempRoot();
}
