/**
 * The scenarios, each with its full and `--quick` parameters. `metrics` name what the report shows
 * for it: `better` says which direction wins, `unit` how to print it.
 */

const full = { rounds: 3, warmupMs: 600, windowMs: 2500 };
const quick = { rounds: 1, warmupMs: 200, windowMs: 500 };
/**
 * The latency cases warm up longer: a p99 over a 3 s window moves with one major GC, and a Node
 * server's start-up ones (loading, Nest's bootstrap) still run 2-3 s after it starts. With 0.6 s,
 * the library's start-up mark-sweep fell in 3 of 4 latency windows (p99 3.8-12.7 ms), with 3 s in
 * none (1.8-3.7 ms). The window then measures what a server that has run for a while does.
 */
export const STEADY_STATE_WARMUP_MS = 3000;

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

/**
 * Scale-out (issue 5): the fan-in and latency workloads against one instance in memory, one on Redis,
 * and two on the same Redis with the publishers on one and the subscriber on the other. No budget:
 * issue 6's budgets are for a single instance.
 */
function clusterFanIn(qos) {
  return {
    ...fanIn(qos, 64),
    id: `cluster-fan-in-qos${qos}`,
    title: `Scale-out: fan-in, QoS ${qos}, 64 B`,
    summary: `10 publishers → 1 subscriber of \`bench/+\`, QoS ${qos}, 64 B payloads, with two instances the publishers on A and the subscriber on B; messages received per second`,
    group: 'cluster',
    budget: null,
    // Shorter than the single-instance windows: the group adds at most a few minutes to a full run.
    full: { windowMs: 2000 },
  };
}

/**
 * Issue 16: fan-out across instances. The publisher on A, the 100 subscribers spread over every
 * instance of the target (one instance: all on it), so that each instance delivers its share.
 */
function clusterFanOut() {
  return {
    ...FAN_OUT,
    id: 'cluster-fan-out',
    title: 'Scale-out: fan-out, QoS 0, 64 B',
    summary: '1 publisher → 100 subscribers of its topic, QoS 0, 64 B, the subscribers spread over the instances; deliveries per second (all subscribers)',
    group: 'cluster',
    budget: null,
    params: { ...FAN_OUT.params, spreadSubscribers: true },
    full: { windowMs: 2000 },
  };
}

/** Issue 14: a scenario again, the library with metrics off and on side by side (its own rounds). No budget of its own. */
function withMetrics(scenario, group) {
  return { ...scenario, id: `metrics-${scenario.id}`, title: `Metrics off vs on: ${scenario.title}`, group, budget: null };
}

const LATENCY_METRICS = [
  { key: 'p50', label: 'p50 ms', unit: 'ms', better: 'lower' },
  { key: 'p99', label: 'p99 ms', unit: 'ms', better: 'lower' },
  { key: 'max', label: 'max ms', unit: 'ms', better: 'lower' },
];

/**
 * The MQTT 5 cases (issue 13 item 7): the same load as the 3.1.1 scenario, with every client
 * speaking protocol level 5 (no properties: the protocol's own cost). No budget of their own; the
 * report sets them beside their 3.1.1 scenario.
 */
function mqtt5(scenario) {
  return {
    ...scenario,
    id: `${scenario.id}-v5`,
    title: `${scenario.title}, MQTT 5`,
    summary: `${scenario.summary}; MQTT 5.0 clients`,
    budget: null,
    params: { ...scenario.params, protocolVersion: 5 },
  };
}

const FAN_OUT = {
  id: 'fan-out',
  title: 'Fan-out, QoS 0, 64 B',
  summary: '1 publisher → 100 subscribers of its topic, QoS 0, 64 B; deliveries per second (all subscribers)',
  workload: 'fanOut',
  group: 'broker',
  budget: 'throughput',
  params: { subscribers: 100, qos: 0, payloadSize: 64, batchSize: 8, window: 64 },
  metrics: throughput,
};

export const SCENARIOS = [
  fanIn(0, 64),
  fanIn(0, 1024),
  fanIn(1, 64),
  fanIn(1, 1024),
  mqtt5(fanIn(1, 64)),
  FAN_OUT,
  mqtt5(FAN_OUT),
  {
    id: 'latency',
    title: 'Latency at 5,000 msgs/s',
    summary: '10 publishers at 5,000 msgs/s in total → 1 subscriber, QoS 0, 64 B; publish-to-delivery time',
    workload: 'latency',
    group: 'broker',
    budget: 'latency',
    params: { publishers: 10, rate: 5000, qos: 0, payloadSize: 64 },
    full: { warmupMs: STEADY_STATE_WARMUP_MS, windowMs: 3000 },
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
    full: { warmupMs: STEADY_STATE_WARMUP_MS, windowMs: 3000 },
    quick: { windowMs: 800 },
    metrics: LATENCY_METRICS,
  },
  clusterFanIn(0),
  clusterFanIn(1),
  {
    id: 'cluster-latency',
    title: 'Scale-out: latency at 2,000 msgs/s',
    summary: '10 publishers at 2,000 msgs/s in total → 1 subscriber, QoS 0, 64 B, with two instances the publishers on A and the subscriber on B; publish-to-delivery time',
    workload: 'latency',
    group: 'cluster',
    budget: null,
    // Well below what one instance on Redis sustains, so that this is the time a message takes, not a queue's.
    params: { publishers: 10, rate: 2000, qos: 0, payloadSize: 64 },
    full: { warmupMs: STEADY_STATE_WARMUP_MS, windowMs: 2500 },
    quick: { windowMs: 800 },
    metrics: LATENCY_METRICS,
  },
  clusterFanOut(),
  withMetrics(fanIn(0, 64), 'metrics'),
  withMetrics(fanIn(1, 64), 'metrics'),
];

SCENARIOS.push(withMetrics(SCENARIOS.find((scenario) => scenario.id === 'dispatch'), 'metrics-dispatch'));

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

/**
 * MQTT 5 request/response (issue 13): requesters publish with a response topic and correlation data
 * to a topic whose Nest handler answers (the module's request/response support), each keeping a
 * window of requests in flight; round trips per second and the round-trip time.
 */
SCENARIOS.push({
  id: 'request-response-v5',
  title: 'Request/response round trip, MQTT 5',
  summary:
    "10 MQTT 5 requesters publish (QoS 1, 8 B) with a response topic and correlation data to `rr/+`, answered by the app's handler (`@MqttSubscribe` returning the payload), 8 requests in flight each; round trips per second and round-trip time",
  workload: 'requestResponse',
  group: 'request-response',
  budget: null,
  params: { requesters: 10, qos: 1, window: 8 },
  metrics: [
    { key: 'rate', label: 'round trips/s', unit: 'rate', better: 'higher' },
    { key: 'p50', label: 'p50 ms', unit: 'ms', better: 'lower' },
    { key: 'p99', label: 'p99 ms', unit: 'ms', better: 'lower' },
  ],
});

/**
 * Issue 16: latency as the independent benchmark measures it, QoS 1 at 2,000 msgs/s (publishers get
 * their PUBACKs, the subscriber acknowledges every delivery), with its goal: p99 ≤ 1.5 × Mosquitto's.
 */
SCENARIOS.splice(SCENARIOS.findIndex((scenario) => scenario.id === 'latency') + 1, 0, {
  id: 'latency-qos1',
  title: 'Latency at 2,000 msgs/s, QoS 1',
  summary: '10 publishers at 2,000 msgs/s in total → 1 subscriber, QoS 1 both ways, 64 B; publish-to-delivery time',
  workload: 'latency',
  group: 'broker',
  budget: 'latency-mosquitto',
  params: { publishers: 10, rate: 2000, qos: 1, payloadSize: 64 },
  full: { warmupMs: STEADY_STATE_WARMUP_MS, windowMs: 3000 },
  quick: { windowMs: 800 },
  metrics: LATENCY_METRICS,
});

/** Issue 16: the dispatch scenario again, the handler with no enhancers, with a ValidationPipe, with a guard and an interceptor (targets.js FEATURE_TARGETS). */
SCENARIOS.push({
  ...SCENARIOS.find((scenario) => scenario.id === 'dispatch'),
  id: 'features-dispatch',
  title: 'Nest features on the dispatch path',
  group: 'features',
  budget: null,
});

/**
 * Issues 14 and 16: the same targets at a fixed rate well below saturation, for the CPU time per
 * message. Closed-loop throughput sets its own batch sizes (a faster round batches more and costs
 * less per message), so two targets compare fairly only when both carry the same rate.
 */
const FIXED_RATE_METRICS = [{ key: 'p50', label: 'p50 ms', unit: 'ms', better: 'lower' }];
SCENARIOS.push(
  {
    id: 'metrics-rate-qos1',
    title: 'Metrics off vs on: fan-in at 10,000 msgs/s, QoS 1',
    summary: '10 publishers at 10,000 msgs/s in total → 1 subscriber, QoS 1 both ways, 64 B; for the CPU time per message at a fixed rate',
    workload: 'latency',
    group: 'metrics',
    budget: null,
    params: { publishers: 10, rate: 10000, qos: 1, payloadSize: 64 },
    full: { windowMs: 3000 },
    quick: { windowMs: 800 },
    metrics: FIXED_RATE_METRICS,
  },
  {
    id: 'metrics-dispatch-rate',
    title: 'Metrics off vs on: handler dispatch at 5,000 msgs/s',
    summary: "client publishes (QoS 1, JSON) → the app's handler; 10 publishers at 5,000 msgs/s in total; for the CPU time per message at a fixed rate",
    workload: 'dispatchLatency',
    group: 'metrics-dispatch',
    budget: null,
    params: { publishers: 10, qos: 1, rate: 5000 },
    full: { windowMs: 3000 },
    quick: { windowMs: 800 },
    metrics: FIXED_RATE_METRICS,
  },
  {
    id: 'features-dispatch-rate',
    title: 'Nest features on the dispatch path, at 5,000 msgs/s',
    summary: "client publishes (QoS 1, JSON) → the app's handler; 10 publishers at 5,000 msgs/s in total; for the CPU time per message at a fixed rate",
    workload: 'dispatchLatency',
    group: 'features',
    budget: null,
    params: { publishers: 10, qos: 1, rate: 5000 },
    full: { windowMs: 3000 },
    quick: { windowMs: 800 },
    metrics: FIXED_RATE_METRICS,
  },
);
