import { CATEGORIES } from './profile-categories.js';

/** The "Where the time goes" section of docs/benchmarks.md, from docs/profiles/summary.json (bench/profile.js). */
export const PROFILE_SECTION_START = '<!-- profiles: written by bench/profile.js -->';
export const PROFILE_SECTION_END = '<!-- /profiles -->';

/** What the profiles of 2026-12-02 showed, and what was done about it (issue 16: fix the largest in turn). */
const FINDINGS = [
  "What the profiles say. The library's own code (lib/transport, lib/broker, lib/dispatch, lib/metrics) has about 5% of",
  "the server's samples of its own in the broker cases; the frame reader and unmasking under 1%, the frame encoder about 2%.",
  'The rest is Aedes (its publish path, `setImmediate` per written packet, and its `debug` calls, 4-6% although debug',
  'output is off), mqtt-packet (parsing through `bl`, writing each packet in 5-6 stream writes), Node\'s streams and the',
  'socket writes themselves (`writeBuffer`, 13-17% at full load, half the time at a fixed low rate, where every message is',
  'a system call of its own), and GC. Fixed: the handler-duration histogram of `metrics: true` (prom-client hashed its',
  'labels on every handler run, 5% of a handled message; now the library keeps plain numbers and prom-client reads them on',
  'scrape); the 5-6 writes of each packet into the WebSocket stream went through a Writable record and `_writev` each,',
  'now the stream keeps them between mqtt-packet\'s cork and uncork and frames them once (packet writing 27% of the fan-out',
  'samples instead of 32%, both builds profiled in one run with BENCH_BASE; `bench/write-path.js`, the write path alone:',
  '1,215 against 1,359 ns CPU per packet, 16% fewer scavenges, medians of 3 interleaved runs); an `async` wrapper around each handler run',
  'went too (no measurable change). Then the parser (later on 2026-12-02): mqtt-packet\'s parse steps and `bl` reads were',
  '25% of the QoS 1 fan-in samples and 20% of handler dispatch (its `debug` calls, `bl` slicing a Buffer per number read);',
  "the adapter's own parse steps over a plain byte list (docs/design.md, reach-in 25) and four-byte acknowledgements take",
  'MQTT parsing to 8-11% and the profiled CPU per message of QoS 1 fan-in from 17.9 to 8.8 µs, of handler dispatch from',
  '12.7 to 7.9 µs. Handler dispatch without enhancers spends 20-25% in Nest\'s',
  "context creator and the library's dispatcher together; a ValidationPipe (class-transformer + class-validator) is by far",
  'the largest single cost a handler can add (see the CPU per message above).',
];

export function renderProfileSection(summary, profilesDir) {
  const cases = Object.entries(summary.cases ?? {});
  if (!cases.length) return '';
  const shown = CATEGORIES.filter((category) => cases.some(([, c]) => (c.shares[category.id] ?? 0) >= 0.005));
  const lines = [
    PROFILE_SECTION_START,
    '## Where the time goes',
    '',
    `Issue 16: a V8 CPU profile of the library's process (\`--cpu-prof\`, one sample every ${summary.intervalUs} µs) over the measuring`,
    'window of one round of each case, recorded with `node bench/profile.js` (not part of `npm run bench`; its figures come from',
    `its own run, ${summary.recordedAt?.slice(0, 16).replace('T', ' ')} UTC, ${summary.node}). Each sample counts for the innermost frame of its stack`,
    'that [bench/lib/profile-categories.js](../bench/lib/profile-categories.js) names by file and function: frame parsing is',
    'lib/transport\'s reader and unmasking; MQTT parsing mqtt-packet\'s parser and the adapter\'s parse steps; routing Aedes\' publish path, topic matching',
    '(qlobber) and the hook chain; persistence aedes-persistence; emitter mqemitter; handler dispatch lib/dispatch and Nest;',
    'writes mqtt-packet\'s encoder, the frame encoder and Node\'s socket writes; socket reads Node\'s read side up to the frame',
    'reader; (program) is native time V8 cannot put under a JS frame (libuv, syscalls). Shares are of the busy samples;',
    'CPU/msg is the server\'s CPU time (/proc) over the window ÷ messages. Click a case for its flame graph.',
    '',
    `| case | CPU/msg | ${shown.map((c) => c.label).join(' | ')} |`,
    `|---|---:|${shown.map(() => '---:').join('|')}|`,
  ];
  for (const [id, c] of cases) {
    const cells = shown.map((category) => `${Math.round((c.shares[category.id] ?? 0) * 100)}%`);
    const perMessage = c.cpuPerMessage ? `${(c.cpuPerMessage * 1e6).toFixed(1)} µs` : '—';
    lines.push(`| [${c.title}](${profilesDir}/${id}.svg) | ${perMessage} | ${cells.join(' | ')} |`);
  }
  lines.push('', 'The functions with the most time of their own (self time) in each case:', '');
  for (const [, c] of cases) {
    const top = (c.top ?? []).slice(0, 5).map((f) => `\`${f.function.trim()}\` ${(f.share * 100).toFixed(1)}%`);
    if (top.length) lines.push(`- ${c.title}: ${top.join(', ')}`);
  }
  lines.push('', ...FINDINGS, '', PROFILE_SECTION_END);
  return lines.join('\n');
}
