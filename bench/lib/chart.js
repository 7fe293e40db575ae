import { REFERENCE } from './aggregate.js';
import { formatRatio, formatShort, formatValue } from './format.js';
import { TARGET_GROUPS } from './targets.js';

/**
 * docs/benchmarks.svg, drawn from the same run as the report: horizontal bars, one panel per
 * question (throughput against bare Aedes on TCP, latency, memory per connection, handler dispatch,
 * scale-out on Redis).
 * Hand-written SVG, no chart library.
 */

const COLORS = {
  library: '#e0234e',
  'aedes-ws': '#718096',
  'aedes-websocket-stream': '#a0aec0',
  'aedes-httptoolkit': '#cbd5e0',
  'aedes-tcp': '#2b6cb0',
  mosquitto: '#38a169',
  'node-floor': '#d69e2e',
  'library-handler': '#e0234e',
  microservices: '#805ad5',
  'library-redis': '#dd6b20',
  'library-redis-2': '#9c4221',
};
const WIDTH = 960;
const LABEL = 250;
const BAR_AREA = 560;
const ROW = 17;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

const escape = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderChart(run) {
  const names = Object.fromEntries(run.targets.map((t) => [t.id, t.name]));
  const metric = (scenario, target, key) => run.aggregated[scenario]?.[target]?.metrics[key]?.median;
  const measured = (group) => TARGET_GROUPS[group].map((t) => t.id).filter((id) => names[id]);
  const brokerTargets = measured('broker');
  const panels = [];

  const throughputScenarios = run.scenarios.filter((s) => s.budget === 'throughput');
  if (throughputScenarios.length) {
    panels.push({
      title: 'Throughput relative to bare Aedes on TCP (log scale; dashed: 1.0 and the budget, 0.90)',
      scale: 'log',
      lines: [0.9, 1],
      groups: throughputScenarios.map((scenario) => ({
        label: scenario.title,
        bars: brokerTargets.map((target) => {
          const rate = metric(scenario.id, target, 'rate');
          const ratio = rate / metric(scenario.id, REFERENCE, 'rate');
          return { target, value: ratio, text: `${formatShort(rate, 'rate')} msgs/s (${formatRatio(ratio)})` };
        }),
      })),
    });
  }
  const latency = run.scenarios.find((s) => s.workload === 'latency' && s.group === 'broker');
  if (latency) panels.push(latencyPanel(latency, brokerTargets, metric, '; budget: p99 ≤ 1.20 × Aedes on TCP'));
  const connections = run.scenarios.find((s) => s.workload === 'connections');
  if (connections) {
    const counts = run.settings[connections.id].counts;
    panels.push({
      title: 'Broker RSS per idle connection, KiB (budget at the largest count: ≤ 1.10 × Aedes on TCP)',
      scale: 'linear',
      groups: counts.map((count) => ({
        label: `${count.toLocaleString('en-US')} connections`,
        bars: brokerTargets.map((target) => {
          const bytes = metric(connections.id, target, `rss@${count}`);
          return { target, value: bytes / 1024, text: formatValue(bytes, 'bytes') };
        }),
      })),
    });
  }
  const dispatch = run.scenarios.filter((s) => s.group === 'dispatch');
  if (dispatch.length) {
    const dispatchTargets = measured('dispatch');
    const throughput = dispatch.find((s) => s.workload === 'dispatch');
    const paced = dispatch.find((s) => s.workload === 'dispatchLatency');
    if (throughput) {
      panels.push({
        title: 'Handler dispatch: messages handled per second',
        scale: 'linear',
        groups: [{ label: throughput.title, bars: dispatchTargets.map((target) => ({ target, value: metric(throughput.id, target, 'rate'), text: `${formatShort(metric(throughput.id, target, 'rate'), 'rate')} msgs/s` })) }],
      });
    }
    if (paced) panels.push(latencyPanel(paced, dispatchTargets, metric));
  }

  const cluster = run.scenarios.filter((s) => s.group === 'cluster');
  if (cluster.length) {
    const clusterTargets = measured('cluster');
    const fanIns = cluster.filter((s) => s.workload === 'fanIn');
    const paced = cluster.find((s) => s.workload === 'latency');
    if (fanIns.length) {
      panels.push({
        title: 'Scale-out on Redis: fan-in msgs/s (two instances: publishers on A, subscriber on B)',
        scale: 'linear',
        groups: fanIns.map((scenario) => ({
          label: scenario.title.replace(/^Scale-out: f/, 'F'),
          bars: clusterTargets.map((target) => {
            const rate = metric(scenario.id, target, 'rate');
            return { target, value: rate, text: `${formatShort(rate, 'rate')} msgs/s (${formatRatio(rate / metric(scenario.id, 'library', 'rate'))})` };
          }),
        })),
      });
    }
    if (paced) panels.push(latencyPanel(paced, clusterTargets, metric));
  }

  const body = [];
  let y = 44;
  body.push(`<text x="16" y="26" font-size="17" font-weight="600" ${FONT}>nestjs-mqtt-ws benchmarks — ${escape(run.machine.cpu)}, ${run.machine.cores} cores, Node ${escape(run.machine.node)}, ${run.mode} mode, ${escape(run.startedAt.slice(0, 10))}</text>`);
  for (const panel of panels) y = drawPanel(body, panel, y, names);
  y = drawLegend(body, y, run.targets.map((t) => t.id), names);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 10}" viewBox="0 0 ${WIDTH} ${y + 10}" role="img" aria-label="Benchmark results">\n<rect width="100%" height="100%" fill="#ffffff"/>\n${body.join('\n')}\n</svg>\n`;
}

function drawPanel(body, panel, top, names) {
  const values = panel.groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => Number.isFinite(v) && v > 0);
  let y = top + 18;
  body.push(`<text x="16" y="${y}" font-size="14" font-weight="600" ${FONT}>${escape(panel.title)}</text>`);
  y += 8;
  if (!values.length) {
    body.push(`<text x="16" y="${y + 16}" font-size="12" fill="#718096" ${FONT}>not measured in this run</text>`);
    return y + 30;
  }
  let position;
  let ticks;
  if (panel.scale === 'log') {
    const low = Math.pow(10, Math.floor(Math.log10(Math.min(...values, ...(panel.lines ?? [])))));
    const high = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, ...(panel.lines ?? [])))));
    position = (v) => (Math.log10(Math.max(v, low)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low));
    ticks = [];
    for (let t = low; t <= high * 1.0001; t *= 10) ticks.push(Number(t.toPrecision(6)));
  } else {
    const max = Math.max(...values, ...(panel.lines ?? []));
    const step = niceStep(max / 5);
    const high = Math.ceil(max / step) * step;
    position = (v) => v / high;
    ticks = [];
    for (let t = 0; t <= high + step / 2; t += step) ticks.push(Number(t.toPrecision(6)));
  }
  const rows = panel.groups.reduce((sum, g) => sum + g.bars.length, 0);
  const height = rows * ROW + panel.groups.length * 20;
  const x0 = LABEL;
  const axisTop = y + 4;
  for (const tick of ticks) {
    const x = x0 + position(tick) * BAR_AREA;
    body.push(`<line x1="${x.toFixed(1)}" y1="${axisTop}" x2="${x.toFixed(1)}" y2="${axisTop + height}" stroke="#e2e8f0"/>`);
    body.push(`<text x="${x.toFixed(1)}" y="${axisTop + height + 13}" font-size="10" fill="#718096" text-anchor="middle" ${FONT}>${tick < 1 && tick > 0 ? tick.toString() : tick.toLocaleString('en-US')}</text>`);
  }
  for (const line of panel.lines ?? []) {
    const x = x0 + position(line) * BAR_AREA;
    body.push(`<line x1="${x.toFixed(1)}" y1="${axisTop}" x2="${x.toFixed(1)}" y2="${axisTop + height}" stroke="#2d3748" stroke-dasharray="4 3"/>`);
  }
  let rowY = axisTop;
  for (const group of panel.groups) {
    rowY += 15;
    body.push(`<text x="16" y="${rowY}" font-size="12" font-weight="600" fill="#2d3748" ${FONT}>${escape(group.label)}</text>`);
    rowY += 5;
    for (const bar of group.bars) {
      const width = Number.isFinite(bar.value) && bar.value > 0 ? Math.max(1, position(bar.value) * BAR_AREA) : 0;
      body.push(`<text x="${x0 - 6}" y="${rowY + 12}" font-size="11" fill="#4a5568" text-anchor="end" ${FONT}>${escape(names[bar.target] ?? bar.target)}</text>`);
      if (width > 0) body.push(`<rect x="${x0}" y="${rowY + 2}" width="${width.toFixed(1)}" height="${ROW - 4}" fill="${COLORS[bar.target] ?? '#4a5568'}" rx="2"/>`);
      body.push(`<text x="${(x0 + width + 5).toFixed(1)}" y="${rowY + 12}" font-size="10.5" fill="#2d3748" ${FONT}>${escape(width > 0 ? bar.text : 'not measured')}</text>`);
      rowY += ROW;
    }
  }
  return axisTop + height + 24;
}

function drawLegend(body, top, targets, names) {
  let x = 16;
  let y = top + 14;
  for (const id of targets) {
    const label = names[id] ?? id;
    const width = 22 + label.length * 6.4;
    if (x + width > WIDTH - 16) {
      x = 16;
      y += 18;
    }
    body.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${COLORS[id] ?? '#4a5568'}" rx="2"/>`);
    body.push(`<text x="${x + 17}" y="${y}" font-size="11" fill="#2d3748" ${FONT}>${escape(label)}</text>`);
    x += width + 14;
  }
  return y + 8;
}

function niceStep(raw) {
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const factor of [1, 2, 2.5, 5, 10]) if (raw <= factor * power) return factor * power;
  return 10 * power;
}

/** A paced scenario's p50 and p99 per target, on a log scale. */
function latencyPanel(paced, targets, metric, note = '') {
  return {
    title: `${paced.title}: p50 and p99 in ms (log scale${note})`,
    scale: 'log',
    groups: ['p50', 'p99'].map((key) => ({
      label: key,
      bars: targets.map((target) => ({ target, value: metric(paced.id, target, key), text: `${formatValue(metric(paced.id, target, key), 'ms')} ms` })),
    })),
  };
}
