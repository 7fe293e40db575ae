#!/usr/bin/env node
// Where the server's time goes, case by case (issue 16): runs each main scenario once against the
// library with a V8 CPU profile of the server, keeps the samples of the measuring window, renders a
// flame graph per case into docs/profiles/<case>.svg and splits the time by category (frame parsing,
// MQTT parsing, routing, persistence, emitter, handler dispatch, writes, …; bench/lib/profile-categories.js).
// The table goes to docs/profiles/summary.json and into docs/benchmarks.md ("Where the time goes").
//
//   npm run build && node bench/profile.js [--only=<scenario>[,…]] [--interval=<µs>] [--keep]
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { categorize, topFunctions } from './lib/profile-categories.js';
import { renderFlameGraph } from './lib/flamegraph.js';
import { PROFILE_SECTION_END, PROFILE_SECTION_START, renderProfileSection } from './lib/profile-report.js';

const args = Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=')));
const interval = Number(args.interval ?? 250);
const profileDir = mkdtempSync(join(tmpdir(), 'nestjs-mqtt-ws-profile-'));
process.env.BENCH_CPU_PROF = profileDir;
process.env.BENCH_NODE_FLAGS = `${process.env.BENCH_NODE_FLAGS ?? ''} --cpu-prof-interval=${interval}`;
// After the environment is set: targets.js reads it when loaded.
const { measure } = await import('./lib/measure.js');
const { ensurePrivateDeps } = await import('./lib/private-deps.js');
const { removeTempRoot, stopAll } = await import('./lib/processes.js');
const { SCENARIOS, scenarioSettings } = await import('./lib/scenarios.js');
const { ALL_TARGETS } = await import('./lib/targets.js');

/** The cases profiled, and the target each runs against. */
export const PROFILED = [
  ['fan-in-qos0-64', 'library'],
  ['fan-in-qos1-64', 'library'],
  ['fan-out', 'library'],
  ['latency', 'library'],
  ['latency-qos1', 'library'],
  ['dispatch', 'library-handler'],
  // Issue 14: what metrics on adds, and issue 16: what the Nest features add to a handled message.
  ['metrics-fan-in-qos1-64', 'library-metrics'],
  ['metrics-dispatch', 'library-handler-metrics'],
  ['features-dispatch', 'library-handler-validation'],
  ['features-dispatch', 'library-handler-guard-interceptor'],
];
// BENCH_BASE (lib/targets.js): the same cases on another commit's build, for a before/after in one run.
if (process.env.BENCH_BASE) PROFILED.push(['dispatch', 'library-handler-base'], ['metrics-dispatch', 'library-handler-metrics-base'], ['fan-in-qos1-64', 'library-base'], ['fan-in-qos0-64', 'library-base'], ['fan-out', 'library-base']);
/** A case's file name and key: the scenario, and the target when it is not the plain library. */
const caseId = (scenarioId, targetId) => (targetId === 'library' || targetId === 'library-handler' ? scenarioId : `${scenarioId}.${targetId}`);

const benchDir = dirname(fileURLToPath(import.meta.url));
const rootDir = dirname(benchDir);
const docsDir = join(rootDir, 'docs');
const outDir = join(docsDir, 'profiles');
mkdirSync(outDir, { recursive: true });
const context = { benchDir, rootDir, deps: ensurePrivateDeps(benchDir, () => {}) };
const only = args.only?.split(',');
const summaryPath = join(outDir, 'summary.json');
const summary = (() => {
  try {
    return JSON.parse(readFileSync(summaryPath, 'utf8'));
  } catch {
    return { cases: {} };
  }
})();

try {
  for (const [scenarioId, targetId] of PROFILED) {
    const id = caseId(scenarioId, targetId);
    if (only && !only.includes(id)) continue;
    const scenario = SCENARIOS.find((s) => s.id === scenarioId);
    const target = ALL_TARGETS.find((t) => t.id === targetId);
    if (!scenario || !target) continue;
    scenario.resolvedMetrics = scenario.metrics;
    const settings = { ...scenarioSettings(scenario, 'full'), rounds: 1 };
    const before = new Set(readdirSync(profileDir));
    process.stderr.write(`${id} …\n`);
    const outcome = await measure({ scenario, settings, target, context, seed: 1 });
    const file = readdirSync(profileDir).find((name) => !before.has(name) && name.endsWith('.cpuprofile'));
    if (!file || !outcome.probe) throw new Error(`no profile or window for ${scenarioId}`);
    const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8'));
    const [fromUs, toUs] = outcome.probe.windowUs;
    const split = categorize(profile, fromUs, toUs);
    const title = `${scenario.title}: ${target.name}, measuring window`;
    writeFileSync(join(outDir, `${id}.svg`), renderFlameGraph(profile, { title, fromUs, toUs }));
    summary.cases[id] = {
      title: targetId === 'library' || targetId === 'library-handler' ? scenario.title : `${scenario.title}: ${target.name}`,
      target: target.name,
      samples: split.total,
      idleSamples: split.idle,
      cpuPerMessage: outcome.metrics.cpuPerMessage,
      top: topFunctions(profile, fromUs, toUs),
      ...('keep' in args ? { profile: join(profileDir, file), windowUs: [fromUs, toUs] } : {}),
      shares: Object.fromEntries(Object.entries(split.byCategory).map(([id, n]) => [id, split.total ? n / split.total : 0])),
    };
    const shown = Object.entries(summary.cases[id].shares)
      .filter(([, share]) => share >= 0.01)
      .sort((a, b) => b[1] - a[1])
      .map(([id, share]) => `${id} ${(share * 100).toFixed(0)}%`)
      .join(', ');
    process.stderr.write(`  ${(outcome.metrics.cpuPerMessage * 1e6).toFixed(2)} µs CPU/msg; ${shown}\n`);
    for (const { function: name, share } of summary.cases[id].top) process.stderr.write(`    ${(share * 100).toFixed(1)}% self ${name}\n`);
  }
  summary.node = process.version;
  summary.intervalUs = interval;
  summary.recordedAt = new Date().toISOString();
  writeFileSync(summaryPath, `${JSON.stringify(summary, null, 1)}\n`);
  // The section in docs/benchmarks.md; a full run of bench/run.js writes it again from summary.json.
  const reportPath = join(docsDir, 'benchmarks.md');
  const report = readFileSync(reportPath, 'utf8');
  const section = renderProfileSection(summary, 'profiles');
  const start = report.indexOf(PROFILE_SECTION_START);
  const end = report.indexOf(PROFILE_SECTION_END);
  const updated =
    start >= 0 && end > start
      ? `${report.slice(0, start)}${section}${report.slice(end + PROFILE_SECTION_END.length)}`
      : report.replace('\n## Results per scenario', `\n${section}\n\n## Results per scenario`);
  writeFileSync(reportPath, updated);
  process.stdout.write(`${section}\n`);
} finally {
  await stopAll();
  removeTempRoot();
  // --keep: leave the .cpuprofile files (for Chrome DevTools) and say where.
  if ('keep' in args) process.stderr.write(`profiles kept in ${profileDir}\n`);
  else rmSync(profileDir, { recursive: true, force: true });
}
