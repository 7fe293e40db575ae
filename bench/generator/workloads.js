import { performance } from 'node:perf_hooks';
import mqttPacket from 'mqtt-packet';
import { frame, publishBatch } from './mqtt-frames.js';
import { RawMqttClient } from './raw-mqtt-client.js';
import { createRandom } from '../lib/random.js';

/**
 * The load of each scenario. A workload connects its clients, runs, and calls `mark` at the edges
 * of its measuring window so that the suite samples the processes' CPU (and the handler counts)
 * right then. Everything it opened is closed before it returns.
 */

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;

async function openClients(endpoint, count, prefix, { concurrency = 64, keepalive = 0, onOpened } = {}) {
  const clients = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      clients[index] = await new RawMqttClient(endpoint).open(`${prefix}${index}`, keepalive);
      onOpened?.(index + 1);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return clients;
}

/** The MQTT 5 cases speak protocol level 5 on the same endpoint. */
function withProtocolVersion(endpoint, protocolVersion) {
  return protocolVersion === 5 ? { ...endpoint, protocolVersion } : endpoint;
}

function closeAll(clients) {
  for (const client of clients) client?.destroy();
}

/**
 * Keeps at most `window` messages of one publisher in flight, batch by batch: a message leaves the
 * window when `credit` is called for it, which is when the subscriber received it (fan-in, fan-out)
 * or when its PUBACK came back (dispatch). A closed loop measures what a broker sustains, not how
 * deep its queues grow under a flood. A window that stays full for a second is written off (counted
 * in `stalls`) so that a dropped QoS 0 message cannot stop a publisher.
 */
function windowedPublisher(client, batch, { qos, window }, counters) {
  const size = batch.idOffsets.length;
  let running = true;
  let inflight = 0;
  let nextId = 0;
  let lastCredit = performance.now();
  const pump = () => {
    while (running && inflight + size <= window) {
      let buffer = batch.buffer;
      if (qos > 0) {
        buffer = Buffer.from(batch.buffer);
        for (let i = 0; i < size; i++) {
          nextId = nextId === 65535 ? 1 : nextId + 1;
          buffer.writeUInt16BE(nextId, batch.idOffsets[i]);
        }
      }
      inflight += size;
      counters.sent += size;
      client.write(buffer);
    }
  };
  const watchdog = setInterval(() => {
    if (inflight > 0 && performance.now() - lastCredit > 1000) {
      counters.stalls++;
      inflight = 0;
      lastCredit = performance.now();
      pump();
    }
  }, 250);
  return {
    start: pump,
    credit(count) {
      inflight -= count;
      lastCredit = performance.now();
      if (inflight + size <= window) pump();
    },
    stop() {
      running = false;
      clearInterval(watchdog);
    },
  };
}

function startPublishers(publishers, { topicOf, payloadOf, qos, batchSize, window }, counters) {
  return publishers.map((client, index) => {
    const batch = publishBatch(client.transport, { topic: topicOf(index), payload: payloadOf(index), qos, count: batchSize, protocolVersion: client.protocolVersion });
    return windowedPublisher(client, batch, { qos, window }, counters);
  });
}

/** Runs the load for warm-up + window and returns the delivery rate counted over the window. */
async function measureWindow({ warmupMs, windowMs }, mark, count) {
  await sleep(warmupMs);
  const c0 = count();
  const t0 = performance.now();
  await mark('window-start');
  await sleep(windowMs);
  const c1 = count();
  const t1 = performance.now();
  await mark('window-end');
  return { delivered: c1 - c0, seconds: (t1 - t0) / 1000, rate: (c1 - c0) / ((t1 - t0) / 1000) };
}

/**
 * N publishers → 1 wildcard subscriber; throughput = messages the subscriber received per second.
 * The first payload byte names the publisher, whose window the subscriber credits. The subscriber
 * connects to `subscriberEndpoint` when the target has one (another instance of a cluster).
 */
export async function fanIn(params, { mark }) {
  const { publishers: n, qos, payloadSize, batchSize, window, seed } = params;
  const endpoint = withProtocolVersion(params.endpoint, params.protocolVersion);
  const subscriberEndpoint = withProtocolVersion(params.subscriberEndpoint ?? params.endpoint, params.protocolVersion);
  const random = createRandom(seed);
  const prefix = `fi${random.id(4)}-`;
  const [subscriber] = await openClients(subscriberEndpoint, 1, `${prefix}s`);
  subscriber.autoAck = true;
  await subscriber.subscribe('bench/+', qos);
  const publishers = await openClients(endpoint, n, `${prefix}p`);
  const counters = { sent: 0, stalls: 0 };
  const payload = random.bytes(payloadSize);
  const payloadOf = (index) => {
    const own = Buffer.from(payload);
    own[0] = index;
    return own;
  };
  const flows = startPublishers(publishers, { topicOf: (i) => `bench/${i}`, payloadOf, qos, batchSize, window }, counters);
  let received = 0;
  subscriber.onPublish = (buffer, payloadStart) => {
    received++;
    flows[buffer[payloadStart]].credit(1);
  };
  for (const flow of flows) flow.start();
  try {
    const result = await measureWindow(params, mark, () => received);
    return { ...result, sent: counters.sent, received, stalls: counters.stalls };
  } finally {
    for (const flow of flows) flow.stop();
    closeAll([...publishers, subscriber]);
  }
}

/**
 * 1 publisher → N subscribers of its topic; throughput = deliveries per second, all subscribers
 * together. A message leaves the publisher's window once N deliveries came in for it (on average).
 */
export async function fanOut(params, { mark }) {
  const { subscribers: n, qos, payloadSize, batchSize, window, seed } = params;
  const endpoint = withProtocolVersion(params.endpoint, params.protocolVersion);
  const random = createRandom(seed);
  const prefix = `fo${random.id(4)}-`;
  // A cluster fan-out (`spreadSubscribers`) spreads the subscribers over every instance; the publisher stays on the first.
  const spread = params.spreadSubscribers && params.endpoints?.length > 1 ? params.endpoints : [params.endpoint];
  const groups = await Promise.all(
    spread.map((at, k) => openClients(withProtocolVersion(at, params.protocolVersion), Math.floor(n / spread.length) + (k < n % spread.length ? 1 : 0), `${prefix}s${k}-`)),
  );
  const subscribers = groups.flat();
  for (const subscriber of subscribers) {
    subscriber.autoAck = true;
    await subscriber.subscribe('bench/fanout', qos);
  }
  const [publisher] = await openClients(endpoint, 1, `${prefix}p`);
  const counters = { sent: 0, stalls: 0 };
  const payload = random.bytes(payloadSize);
  const [flow] = startPublishers([publisher], { topicOf: () => 'bench/fanout', payloadOf: () => payload, qos, batchSize, window }, counters);
  let received = 0;
  let pending = 0;
  const onPublish = () => {
    received++;
    if (++pending === n) {
      pending = 0;
      flow.credit(1);
    }
  };
  for (const subscriber of subscribers) subscriber.onPublish = onPublish;
  flow.start();
  try {
    const result = await measureWindow(params, mark, () => received);
    return { ...result, sent: counters.sent, received, stalls: counters.stalls };
  } finally {
    flow.stop();
    closeAll([publisher, ...subscribers]);
  }
}

/**
 * N publishers at a fixed total rate → 1 subscriber; each message carries its send time and the
 * subscriber (same process, same clock) records how long it took. The schedule is open-loop: a late
 * tick sends what was due, so a stalled broker shows up in the tail instead of slowing the senders.
 * The subscriber connects to `subscriberEndpoint` when the target has one, as in fan-in.
 */
export async function latency(params, { mark }) {
  const { endpoint, subscriberEndpoint = endpoint, publishers: n, rate, qos, payloadSize, warmupMs, windowMs, seed } = params;
  const random = createRandom(seed);
  const prefix = `la${random.id(4)}-`;
  const [subscriber] = await openClients(subscriberEndpoint, 1, `${prefix}s`);
  subscriber.autoAck = true;
  const samples = new Float64Array(Math.ceil((rate * (warmupMs + windowMs)) / 1000) + 1024);
  let count = 0;
  let recording = false;
  let received = 0;
  // `timeline` (bench/latency-tail.js): the send time (ms since the epoch) and latency of every sample over 1 ms.
  const slow = params.timeline ? [] : null;
  subscriber.onPublish = (buffer, payloadStart) => {
    received++;
    if (recording && count < samples.length) {
      const sentAt = buffer.readDoubleLE(payloadStart);
      const took = performance.now() - sentAt;
      samples[count++] = took;
      if (slow && took > 1) slow.push([performance.timeOrigin + sentAt, took]);
    }
  };
  await subscriber.subscribe('bench/+', qos);
  const publishers = await openClients(endpoint, n, `${prefix}p`);
  const templates = publishers.map((client, i) => publishBatch(client.transport, { topic: `bench/${i}`, payload: random.bytes(payloadSize), qos, count: 1 }));
  let sent = 0;
  let nextId = 0;
  const start = performance.now();
  let running = true;
  const tick = () => {
    if (!running) return;
    const due = Math.floor(((performance.now() - start) * rate) / 1000) - sent;
    for (let i = 0; i < due; i++) {
      const index = sent % n;
      const template = templates[index];
      const buffer = Buffer.from(template.buffer);
      if (qos > 0) {
        nextId = nextId === 65535 ? 1 : nextId + 1;
        buffer.writeUInt16BE(nextId, template.idOffsets[0]);
      }
      buffer.writeDoubleLE(performance.now(), template.payloadOffsets[0]);
      publishers[index].write(buffer);
      sent++;
    }
    setTimeout(tick, 1);
  };
  tick();
  try {
    await sleep(warmupMs);
    await mark('window-start');
    recording = true;
    await sleep(windowMs);
    recording = false;
    await mark('window-end');
    running = false;
    await sleep(Math.min(1000, windowMs / 2));
    const sorted = samples.subarray(0, count).sort();
    return { sent, received, samples: count, ...percentiles(sorted), ...(slow ? { slow } : {}) };
  } finally {
    running = false;
    closeAll([...publishers, subscriber]);
  }
}

export function percentiles(sorted) {
  const at = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null);
  return { p50: at(0.5), p99: at(0.99), max: sorted.length ? sorted[sorted.length - 1] : null };
}

/**
 * Idle connections, opened `concurrency` at a time up to each count in turn; at each checkpoint the
 * suite reads the broker's RSS. Connect rate = connections opened (WebSocket handshake + CONNECT +
 * CONNACK) per second in that phase.
 */
export async function connections(params, { mark }) {
  const { endpoint, counts, concurrency, seed } = params;
  const random = createRandom(seed);
  const prefix = `cn${random.id(4)}-`;
  const clients = [];
  const phases = [];
  let dropped = 0;
  try {
    // One connection opened and closed first: what a server builds once, on its first client, is not a
    // connection's cost (mqtt-packet fills a cache of 65,536 two-byte buffers, about 6 MB, on its first write).
    const [first] = await openClients(endpoint, 1, `${prefix}warm-`);
    first.destroy();
    await sleep(200);
    await mark('baseline');
    let opened = 0;
    for (const target of counts) {
      const start = performance.now();
      const batch = await openClients(endpoint, target - opened, `${prefix}${phases.length}-`, { concurrency });
      const seconds = (performance.now() - start) / 1000;
      for (const client of batch) {
        client.onClose = () => dropped++;
        clients.push(client);
      }
      phases.push({ connections: target, seconds, rate: (target - opened) / seconds });
      opened = target;
      await sleep(300);
      await mark('checkpoint', { connections: target });
    }
    return { phases, dropped };
  } finally {
    for (const client of clients) client.onClose = () => {};
    closeAll(clients);
  }
}

/**
 * Client publishes → the app's handler, N publishers at QoS 1 with a window of messages in flight
 * until their PUBACK; the suite counts what the handler saw between the marks.
 */
export async function dispatch(params, { mark }) {
  const { endpoint, publishers: n, qos, batchSize, window, seed } = params;
  const random = createRandom(seed);
  const publishers = await openClients(endpoint, n, `di${random.id(4)}-p`);
  const payload = Buffer.from(JSON.stringify({ seq: 0, t: 0, pad: 'x'.repeat(26) }));
  const counters = { sent: 0, stalls: 0 };
  const flows = startPublishers(publishers, { topicOf: (i) => `bench/${i}`, payloadOf: () => payload, qos, batchSize, window }, counters);
  publishers.forEach((client, i) => {
    client.onPuback = () => flows[i].credit(1);
  });
  for (const flow of flows) flow.start();
  try {
    await measureWindow(params, mark, () => 0);
    return { sent: counters.sent, stalls: counters.stalls };
  } finally {
    for (const flow of flows) flow.stop();
    closeAll(publishers);
  }
}

/**
 * Client publishes → the app's handler at a paced rate; each message carries the monotonic clock,
 * which the handler (another process) reads, so the time includes any broker in between.
 */
export async function dispatchLatency(params, { mark }) {
  const { endpoint, publishers: n, qos, rate, seed, warmupMs, windowMs } = params;
  const random = createRandom(seed);
  const publishers = await openClients(endpoint, n, `dl${random.id(4)}-p`);
  let sent = 0;
  let nextId = 0;
  let running = true;
  const start = performance.now();
  const tick = () => {
    if (!running) return;
    const due = Math.floor(((performance.now() - start) * rate) / 1000) - sent;
    for (let i = 0; i < due; i++) {
      const index = sent % n;
      nextId = nextId === 65535 ? 1 : nextId + 1;
      const body = JSON.stringify({ seq: sent, t: monotonicMs(), pad: 'x'.repeat(8) });
      const packet = mqttPacket.generate({ cmd: 'publish', topic: `bench/${index}`, payload: body, qos, messageId: qos > 0 ? nextId : undefined });
      publishers[index].write(frame(publishers[index].transport, packet));
      sent++;
    }
    setTimeout(tick, 1);
  };
  try {
    tick();
    await sleep(warmupMs);
    await mark('window-start');
    await mark('latency-start');
    await sleep(windowMs);
    await mark('latency-end');
    await mark('window-end');
    return { sent };
  } finally {
    running = false;
    closeAll(publishers);
  }
}

/**
 * MQTT 5 request/response (issue 13): each requester subscribes to its own response topic, then keeps
 * `window` requests in flight: a PUBLISH to `rr/<i>` with that response topic and correlation data,
 * whose payload is its send time; the handler answers with the payload, so the answer tells its round
 * trip. Round trips per second over the window, and their p50/p99.
 */
export async function requestResponse(params, { mark }) {
  const { requesters: n, qos, window, warmupMs, windowMs, seed } = params;
  const endpoint = withProtocolVersion(params.endpoint, 5);
  const random = createRandom(seed);
  const prefix = `rr${random.id(4)}-`;
  const clients = await openClients(endpoint, n, `${prefix}c`);
  const samples = new Float64Array(1 << 21);
  let count = 0;
  let recording = false;
  let answered = 0;
  let running = true;
  let nextId = 0;
  const templates = [];
  for (let i = 0; i < n; i++) {
    const responseTopic = `rr-response/${prefix}${i}`;
    clients[i].autoAck = true;
    await clients[i].subscribe(responseTopic, qos);
    const packet = mqttPacket.generate(
      { cmd: 'publish', topic: `rr/${i}`, payload: Buffer.alloc(8), qos, messageId: qos > 0 ? 1 : undefined, properties: { responseTopic, correlationData: Buffer.from(`${prefix}${i}`) } },
      { protocolVersion: 5 },
    );
    const framed = frame(clients[i].transport, packet);
    // The payload is the packet's last 8 bytes; the packet id follows the topic.
    let lengthBytes = 1;
    while (packet[lengthBytes] & 0x80) lengthBytes++;
    const idOffset = framed.length - packet.length + 1 + lengthBytes + 2 + Buffer.byteLength(`rr/${i}`);
    templates.push({ framed, idOffset });
  }
  const send = (i) => {
    const { framed, idOffset } = templates[i];
    const buffer = Buffer.from(framed);
    if (qos > 0) {
      nextId = nextId === 65535 ? 1 : nextId + 1;
      buffer.writeUInt16BE(nextId, idOffset);
    }
    buffer.writeDoubleLE(performance.now(), buffer.length - 8);
    clients[i].write(buffer);
  };
  clients.forEach((client, i) => {
    client.onPublish = (buffer, payloadStart, end) => {
      answered++;
      if (recording && count < samples.length && end - payloadStart === 8) samples[count++] = performance.now() - buffer.readDoubleLE(payloadStart);
      if (running) send(i);
    };
  });
  for (let i = 0; i < n; i++) for (let k = 0; k < window; k++) send(i);
  try {
    await sleep(warmupMs);
    const c0 = answered;
    const t0 = performance.now();
    await mark('window-start');
    recording = true;
    await sleep(windowMs);
    recording = false;
    const c1 = answered;
    const t1 = performance.now();
    await mark('window-end');
    const sorted = samples.subarray(0, count).sort();
    return { rate: (c1 - c0) / ((t1 - t0) / 1000), answered, samples: count, ...percentiles(sorted) };
  } finally {
    running = false;
    closeAll(clients);
  }
}
