/**
 * The scenarios, each with its full and `--quick` parameters. `metrics` name what the report shows
 * for it: `better` says which direction wins, `unit` how to print it.
 */

const full = { rounds: 3, warmupMs: 600, windowMs: 2500 };
const quick = { rounds: 1, warmupMs: 200, windowMs: 500 };

const throughput = [{ key: 'rate', label: 'msgs/s', unit: 'rate', better: 'higher' }];

function fanIn(qos, payloadSize) {
  const size = payloadSize === 64 ? '64 B' : '1 KiB';
  return {
    id: `fan-in-qos${qos}-${payloadSize}`,
    title: `Fan-in, QoS ${qos}, ${size}`,
    summary: `10 publishers → 1 subscriber of \`bench/+\`, QoS ${qos}, ${size} payloads; messages received per second`,
    workload: 'fanIn',
    group: 'broker',
    budget: 'throughput',
    params: { publishers: 10, qos, payloadSize, batchSize: 8, window: 64 },
    metrics: throughput,
  };
}

const LATENCY_METRICS = [
  { key: 'p50', label: 'p50 ms', unit: 'ms', better: 'lower' },
  { key: 'p99', label: 'p99 ms', unit: 'ms', better: 'lower' },
  { key: 'max', label: 'max ms', unit: 'ms', better: 'lower' },
];

export const SCENARIOS = [
  fanIn(0, 64),
  fanIn(0, 1024),
  fanIn(1, 64),
  fanIn(1, 1024),
  {
    id: 'fan-out',
    title: 'Fan-out, QoS 0, 64 B',
    summary: '1 publisher → 100 subscribers of its topic, QoS 0, 64 B; deliveries per second (all subscribers)',
    workload: 'fanOut',
    group: 'broker',
    budget: 'throughput',
    params: { subscribers: 100, qos: 0, payloadSize: 64, batchSize: 8, window: 64 },
    metrics: throughput,
  },
  {
    id: 'latency',
    title: 'Latency at 5,000 msgs/s',
    summary: '10 publishers at 5,000 msgs/s in total → 1 subscriber, QoS 0, 64 B; publish-to-delivery time',
    workload: 'latency',
    group: 'broker',
    budget: 'latency',
    params: { publishers: 10, rate: 5000, qos: 0, payloadSize: 64 },
    full: { windowMs: 3000 },
    quick: { windowMs: 800 },
    metrics: LATENCY_METRICS,
  },
  {
    id: 'connections',
    title: 'Idle connections',
    summary: 'idle MQTT connections (WebSocket, or TCP for Aedes on TCP) opened 64 at a time; connect rate and broker RSS per connection',
    workload: 'connections',
    group: 'broker',
    budget: 'memory',
    params: { concurrency: 64 },
    full: { counts: [2000, 10000] },
    quick: { counts: [100, 500] },
    metrics: 'connections', // expanded per count in run.js
  },
  {
    id: 'dispatch',
    title: 'Handler dispatch, throughput',
    summary:
      "client publishes (QoS 1, 54 B JSON) → the app's handler; 10 publishers with 64 messages in flight each (until PUBACK); messages the handler ran on per second",
    workload: 'dispatch',
    group: 'dispatch',
    budget: 'dispatch',
    params: { publishers: 10, qos: 1, batchSize: 8, window: 64 },
    metrics: [{ key: 'rate', label: 'handled msgs/s', unit: 'rate', better: 'higher' }],
  },
  {
    id: 'dispatch-latency',
    title: 'Handler dispatch, latency at 2,000 msgs/s',
    summary: "client publishes (QoS 1, JSON) → the app's handler; 10 publishers at 2,000 msgs/s in total; publish-to-handler time",
    workload: 'dispatchLatency',
    group: 'dispatch',
    budget: 'dispatch-latency',
    params: { publishers: 10, qos: 1, rate: 2000 },
    full: { windowMs: 3000 },
    quick: { windowMs: 800 },
    metrics: LATENCY_METRICS,
  },
];

export function scenarioSettings(scenario, mode) {
  const base = mode === 'quick' ? quick : full;
  return { ...base, ...scenario.params, ...(scenario[mode] ?? {}) };
}

export function connectionMetrics(counts) {
  return counts.flatMap((count) => [
    { key: `rate@${count}`, label: `connects/s to ${count.toLocaleString('en-US')}`, unit: 'rate', better: 'higher' },
    { key: `rss@${count}`, label: `RSS/conn at ${count.toLocaleString('en-US')}`, unit: 'bytes', better: 'lower' },
    { key: `heap@${count}`, label: `JS heap/conn at ${count.toLocaleString('en-US')}`, unit: 'bytes', better: 'lower' },
  ]);
}
