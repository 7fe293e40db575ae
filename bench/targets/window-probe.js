import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { constants, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';

/**
 * What the server process went through during a measuring window, seen from inside: its CPU time
 * (process.cpuUsage, user + system), the event loop's delays (how long a 1 ms timer waited beyond
 * its due time: a stall of the loop) and the garbage collector's pauses by kind. Armed at the
 * window's start and read at its end, through the target's RPC.
 *
 * With BENCH_HEAP_PROFILE=<dir> it also runs V8's sampling heap profiler over the window, counting
 * what the young generation collected too (by default it reports only what is still alive), and
 * writes `<dir>/<pid>.heapprofile`: where the window's allocations came from (bench/latency-tail.js
 * `--allocations` reads it).
 */
const GC_KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-sweep',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
};
/** Bytes between two samples: small enough to see a 40-byte array per message. */
const HEAP_SAMPLING_INTERVAL = 256;

let armed = null;
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

function startHeapProfile() {
  const dir = process.env.BENCH_HEAP_PROFILE;
  if (!dir) return null;
  const session = new Session();
  session.connect();
  const params = { samplingInterval: HEAP_SAMPLING_INTERVAL, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true };
  session.post('HeapProfiler.startSampling', params, (error) => {
    if (error) process.stderr.write(`heap profile not started: ${error.message}\n`);
  });
  return { session, path: join(dir, `${process.pid}.heapprofile`) };
}

function stopHeapProfile(heap) {
  if (!heap) return;
  // A session of the process' own thread answers at once, inside post().
  heap.session.post('HeapProfiler.stopSampling', (error, result) => {
    if (error) process.stderr.write(`heap profile not written: ${error.message}\n`);
    else writeFileSync(heap.path, JSON.stringify(result.profile));
    heap.session.disconnect();
  });
}

export const windowProbeHandlers = {
  /** `timeline`: also keep when each GC pause and each event-loop stall (a 1 ms timer late by over 1 ms) happened, for bench/latency-tail.js. */
  probeStart({ timeline = false } = {}) {
    armed?.observer.disconnect();
    armed?.loop.disable();
    const gc = {};
    const pauses = timeline ? [] : null;
    const stalls = timeline ? [] : null;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = GC_KINDS[entry.detail?.kind] ?? 'other';
        if (pauses && pauses.length < 100_000) pauses.push([performance.timeOrigin + entry.startTime, entry.duration, kind]);
        const stat = (gc[kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
        stat.count++;
        stat.totalMs += entry.duration;
        stat.maxMs = Math.max(stat.maxMs, entry.duration);
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    let stallTimer;
    if (stalls) {
      // With the CPU time the process used meanwhile: a stall it spent running is its own work, one without is the OS's doing.
      let last = performance.now();
      let lastCpu = process.cpuUsage();
      stallTimer = setInterval(() => {
        const now = performance.now();
        const cpuNow = process.cpuUsage();
        if (now - last > 2 && stalls.length < 100_000) {
          stalls.push([performance.timeOrigin + last, now - last, (cpuNow.user + cpuNow.system - lastCpu.user - lastCpu.system) / 1000]);
        }
        last = now;
        lastCpu = cpuNow;
      }, 1);
    }
    const heap = startHeapProfile();
    armed = { observer, loop, gc, pauses, stalls, stallTimer, heap, cpu: process.cpuUsage(), startUs: monotonicUs() };
    return true;
  },
  probeEnd() {
    if (!armed) return null;
    const { observer, loop, gc, pauses, stalls, stallTimer, heap, cpu, startUs } = armed;
    armed = null;
    clearInterval(stallTimer);
    loop.disable();
    observer.disconnect();
    const used = process.cpuUsage(cpu);
    stopHeapProfile(heap);
    const ms = (ns) => ns / 1e6;
    return {
      /** The window on the monotonic clock, in µs: the time base of a V8 CPU profile (bench/profile.js keeps the samples inside it). */
      windowUs: [startUs, monotonicUs()],
      cpuMs: (used.user + used.system) / 1000,
      loopDelay: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max), mean: ms(loop.mean) },
      gc,
      /** The young generation's size and what it holds: a scavenge's cost grows with what survives it. */
      heapSpaces: Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, { sizeKiB: space.space_size >> 10, usedKiB: space.space_used_size >> 10 }])),
      ...(pauses ? { pauses, stalls } : {}),
    };
  },
};
