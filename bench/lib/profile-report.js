import { CATEGORIES } from './profile-categories.js';

/** The "Where the time goes" section of docs/benchmarks.md, from docs/profiles/summary.json (bench/profile.js). */
export const PROFILE_SECTION_START = '<!-- profiles: written by bench/profile.js -->';
export const PROFILE_SECTION_END = '<!-- /profiles -->';

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
    'lib/transport\'s reader and unmasking; MQTT parsing mqtt-packet\'s parser; routing Aedes\' publish path, topic matching',
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
  lines.push('', PROFILE_SECTION_END);
  return lines.join('\n');
}
