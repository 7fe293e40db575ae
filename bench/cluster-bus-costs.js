#!/usr/bin/env node
// Issue 16: what the cluster's message bus costs per message, outside a broker, in CPU time:
// 1. in the process: encoding packets as Aedes emits them into a batch, reading a batch on an
//    instance with a subscriber, skipping it on an instance without one;
// 2. with `--redis`: on a private redis-server, one process publishes batches flat out and this one
//    receives them through ioredis (socket, parser, sender-id check, topic test) and skips or reads
//    them: the cost every instance pays for each message of the cluster.
// `npm run build && node bench/cluster-bus-costs.js [--redis]`
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isOwnBatch, MessageBatchWriter, newSenderId, readBatch } from '../dist/cluster/message-batch.codec.js';

const BATCH = 64;
const ROUNDS = 4000;

function packet(index, payload) {
  return { cmd: 'publish', brokerId: 'a0f3c2de-5b1e-4c39-9d7a-2f6f1c0b9e11', brokerCounter: index + 1, topic: `bench/${index % 10}`, payload, qos: 1, retain: false, dup: false, messageId: undefined, clientId: `fiab12-p${index % 10}` };
}

function encodedBatch(size) {
  const writer = new MessageBatchWriter(newSenderId());
  for (let i = 0; i < BATCH; i++) writer.append(packet(i, Buffer.alloc(size, i)));
  return Buffer.from(writer.take());
}

function cpuMicros(run) {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

if (process.argv[2] === '--publisher') {
  // The publishing side: PUBLISH the same batch flat out, a few in flight, until told to stop.
  const Redis = loadIoredis();
  const connection = new Redis(process.argv[3], { enableAutoPipelining: true });
  const batch = encodedBatch(Number(process.argv[4]));
  let running = true;
  process.on('message', () => (running = false) || connection.disconnect() || process.exit(0));
  const pump = () => {
    if (!running) return;
    connection.publish('bus-costs', batch).then(pump, () => undefined);
  };
  for (let i = 0; i < 8; i++) pump();
} else {
  inProcess();
  if (process.argv.includes('--redis')) await overRedis();
}

function inProcess() {
  for (const size of [64, 1024]) {
    const packets = Array.from({ length: BATCH }, (_, i) => packet(i, Buffer.alloc(size, i)));
    const writer = new MessageBatchWriter(newSenderId());
    const encode = () => {
      for (let round = 0; round < ROUNDS; round++) {
        for (const p of packets) writer.append(p);
        writer.take();
      }
    };
    const batch = encodedBatch(size);
    const read = (wants) => () => {
      for (let round = 0; round < ROUNDS; round++) readBatch(batch, wants, () => undefined);
    };
    const messages = BATCH * ROUNDS;
    for (const warm of [encode, read(() => true), read(() => false)]) warm();
    const results = {
      encode: cpuMicros(encode) / messages,
      'read (a subscriber here)': cpuMicros(read(() => true)) / messages,
      'skip (no subscriber here)': cpuMicros(read(() => false)) / messages,
    };
    console.log(`in process, ${size} B payloads, batches of ${BATCH} (${batch.length} bytes): ${Object.entries(results).map(([k, v]) => `${k} ${v.toFixed(3)} µs/msg`).join(', ')}`);
  }
}

async function overRedis() {
  const { startRedisServer } = await import('./lib/redis-server.js');
  const Redis = loadIoredis();
  const own = newSenderId();
  for (const [size, wantsAll] of [
    [64, false],
    [64, true],
  ]) {
    const redis = await startRedisServer();
    const subscriber = new Redis(redis.url);
    await subscriber.subscribe('bus-costs');
    let messages = 0;
    subscriber.on('messageBuffer', (_channel, batch) => {
      if (isOwnBatch(batch, own)) return;
      readBatch(batch, () => wantsAll, () => undefined);
      messages += BATCH;
    });
    const publisher = fork(fileURLToPath(import.meta.url), ['--publisher', redis.url, String(size)]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const [startMessages, startCpu, startTime] = [messages, process.cpuUsage(), performance.now()];
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const cpu = process.cpuUsage(startCpu);
    const received = messages - startMessages;
    const seconds = (performance.now() - startTime) / 1000;
    console.log(
      `over Redis, ${size} B payloads, ${wantsAll ? 'read (a subscriber here)' : 'skip (no subscriber here)'}: ${Math.round(received / seconds).toLocaleString('en-US')} msgs/s received, ${((cpu.user + cpu.system) / received).toFixed(3)} µs CPU/msg in the receiving process`,
    );
    publisher.send('stop');
    await new Promise((resolve) => publisher.once('exit', resolve));
    subscriber.disconnect();
    await redis.stop();
  }
}

function loadIoredis() {
  const require = createRequire(import.meta.url);
  return createRequire(require.resolve('aedes-persistence-redis'))('ioredis');
}
