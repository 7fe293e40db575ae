import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cpuSeconds, forkChild, machineBusySeconds, rssBytes, stop } from './processes.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One measurement: a fresh target, a fresh generator, one workload. The generator marks its window;
 * at each mark the suite samples CPU time from /proc for every process involved, the broker's RSS
 * (after a full GC in Node targets) and, for dispatch targets, what the handler counted.
 */
export async function measure({ scenario, settings, target, context, seed }) {
  const instance = await target.start(context);
  const processes = [...instance.processes];
  const marks = {};
  const sampleCpu = () => {
    const cpu = {};
    for (const { role, pid } of processes) cpu[role] = (cpu[role] ?? 0) + (cpuSeconds(pid) ?? 0);
    cpu.suite = cpuSeconds(process.pid) ?? 0;
    cpu.machine = machineBusySeconds() ?? 0;
    return cpu;
  };
  const brokerPid = instance.processes.find((p) => p.role === 'broker').pid;
  const onMark = async ({ name, connections }) => {
    const sample = { time: performance.now(), cpu: sampleCpu() };
    if (instance.handlers && (name === 'window-start' || name === 'window-end')) sample.handled = await instance.handlers.call('handled');
    if (instance.probe && name === 'window-start') await instance.control.call('probeStart', { timeline: Boolean(settings.timeline) });
    if (instance.probe && name === 'window-end') sample.probe = await instance.control.call('probeEnd');
    if (name === 'baseline' || name === 'checkpoint') {
      const memory = await instance.control.call('gc');
      await sleep(100);
      sample.rss = rssBytes(brokerPid);
      sample.heap = memory?.heapUsed;
    }
    if (instance.redisCommands && (name === 'window-start' || name === 'window-end')) sample.redisCommands = await instance.redisCommands();
    if (name === 'latency-start') await instance.handlers.call('startRecording');
    if (name === 'latency-end') sample.latencies = await instance.handlers.call('stopRecording');
    marks[connections ? `${name}@${connections}` : name] = sample;
    return true;
  };

  let generator;
  try {
    generator = await forkChild(join(context.benchDir, 'generator', 'generator.js'), { handlers: { mark: onMark } });
    processes.push({ role: 'generator', pid: generator.info.pid });
    const deadlineMs = settings.warmupMs + settings.windowMs + (scenario.workload === 'connections' ? 180_000 : 30_000);
    const params = { ...settings, endpoint: instance.endpoint, subscriberEndpoint: instance.subscriberEndpoint, endpoints: instance.endpoints, seed, deadlineMs };
    const result = await withTimeout(generator.rpc.call('run', { workload: scenario.workload, params }), deadlineMs + 5000, `${scenario.id} on ${target.id}`);
    const summary = summarize(scenario, result, marks);
    return { ...summary, probe: marks['window-end']?.probe, raw: trimRaw(result) };
  } finally {
    await Promise.all([generator && stop(generator.child), instance.stop()]);
  }
}

function summarize(scenario, result, marks) {
  const metrics = {};
  let cpu = null;
  const start = marks['window-start'];
  const end = marks['window-end'];
  if (start && end) cpu = cpuShares(start, end);
  switch (scenario.workload) {
    case 'fanIn':
    case 'fanOut':
      metrics.rate = result.rate;
      break;
    case 'latency':
      Object.assign(metrics, { p50: result.p50, p99: result.p99, max: result.max });
      break;
    case 'connections': {
      const baseline = marks.baseline.rss;
      let previous = marks.baseline;
      for (const phase of result.phases) {
        const checkpoint = marks[`checkpoint@${phase.connections}`];
        metrics[`rate@${phase.connections}`] = phase.rate;
        metrics[`rss@${phase.connections}`] = (checkpoint.rss - baseline) / phase.connections;
        if (checkpoint.heap !== undefined) metrics[`heap@${phase.connections}`] = (checkpoint.heap - marks.baseline.heap) / phase.connections;
        cpu = cpuShares(previous, checkpoint);
        previous = checkpoint;
      }
      break;
    }
    case 'dispatch':
      metrics.rate = (end.handled - start.handled) / ((end.time - start.time) / 1000);
      break;
    case 'requestResponse':
      Object.assign(metrics, { rate: result.rate, p50: result.p50, p99: result.p99 });
      break;
    case 'dispatchLatency': {
      const latencies = Float64Array.from(marks['latency-end'].latencies).sort();
      const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
      Object.assign(metrics, { p50: at(0.5), p99: at(0.99), max: latencies[latencies.length - 1], samples: latencies.length });
      break;
    }
  }
  const handled = messagesInWindow(scenario, result, marks);
  if (cpu && handled > 0) metrics.cpuPerMessage = serverCpuSeconds(start, end) / handled;
  if ((scenario.workload === 'fanIn' || scenario.workload === 'fanOut') && cpu && result.rate > 0) Object.assign(metrics, perMessageCosts(scenario, result, cpu, start, end));
  return { metrics, cpu };
}

/** Messages the server carried in the window: deliveries (fan-in, fan-out), handler runs, or latency samples. */
function messagesInWindow(scenario, result, marks) {
  switch (scenario.workload) {
    case 'fanIn':
    case 'fanOut':
      return result.delivered;
    case 'latency':
      return result.samples;
    case 'dispatch':
      return marks['window-end'].handled - marks['window-start'].handled;
    case 'dispatchLatency':
      return marks['latency-end'].latencies.length;
    default:
      return 0;
  }
}

/** CPU seconds every server process (broker, second instance, Redis, app) used between two marks, read from /proc. */
function serverCpuSeconds(from, to) {
  let seconds = 0;
  for (const role of ['broker', 'broker-b', 'redis', 'app']) if (to.cpu[role] !== undefined) seconds += to.cpu[role] - from.cpu[role];
  return seconds;
}

/**
 * Issue 16: what one message costs, per message published (fan-out: deliveries ÷ subscribers).
 * `cpuUs:<role>` is the CPU time of that process (an instance, Redis) in µs per message;
 * `redisCommands` the commands Redis executed over the window (its INFO commandstats) per message.
 */
function perMessageCosts(scenario, result, cpu, start, end) {
  const published = scenario.workload === 'fanOut' ? result.rate / scenario.params.subscribers : result.rate;
  const costs = {};
  for (const role of Object.keys(cpu)) {
    if (role.startsWith('broker') || role === 'redis') costs[`cpuUs:${role}`] = (cpu[role] * 10_000) / published;
  }
  if (start.redisCommands && end.redisCommands) {
    costs.redisCommands = (end.redisCommands.total - start.redisCommands.total) / (published * result.seconds);
  }
  return costs;
}

/**
 * Share of one core each role used over the interval, in percent; `others` is what processes outside
 * the suite used meanwhile (a busy machine makes a measurement less trustworthy).
 */
function cpuShares(from, to) {
  const seconds = (to.time - from.time) / 1000;
  const used = (key) => (to.cpu[key] - from.cpu[key]) / seconds;
  const shares = {};
  let ours = used('suite');
  for (const role of Object.keys(to.cpu)) {
    if (role === 'machine' || role === 'suite') continue;
    shares[role] = used(role) * 100;
    ours += used(role);
  }
  shares.others = Math.max(0, used('machine') - ours) * 100;
  return shares;
}

function trimRaw(result) {
  const { phases, ...rest } = result;
  return phases ? { ...rest, phases } : rest;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]);
}
