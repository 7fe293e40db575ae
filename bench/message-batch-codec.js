#!/usr/bin/env node
// Issue 16: what the cluster's message bus costs per message in the process, without sockets or
// Redis: encoding a packet as Aedes emits it into a batch, reading it on an instance with a
// subscriber, and skipping it on an instance without one. CPU time of this process, µs per message.
// `npm run build && node bench/message-batch-codec.js`
import { MessageBatchWriter, newSenderId, readBatch } from '../dist/cluster/message-batch.codec.js';

const BATCH = 64;
const ROUNDS = 4000;

function packet(index, payload) {
  return { cmd: 'publish', brokerId: 'a0f3c2de-5b1e-4c39-9d7a-2f6f1c0b9e11', brokerCounter: index + 1, topic: `bench/${index % 10}`, payload, qos: 1, retain: false, dup: false, messageId: undefined, clientId: `fiab12-p${index % 10}` };
}

function cpuMicros(run) {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

for (const size of [64, 1024]) {
  const packets = Array.from({ length: BATCH }, (_, i) => packet(i, Buffer.alloc(size, i)));
  const writer = new MessageBatchWriter(newSenderId());
  const encode = () => {
    for (let round = 0; round < ROUNDS; round++) {
      for (const p of packets) writer.append(p);
      writer.take();
    }
  };
  for (const p of packets) writer.append(p);
  const batch = Buffer.from(writer.take());
  let delivered = 0;
  const read = (wants) => () => {
    for (let round = 0; round < ROUNDS; round++) readBatch(batch, wants, () => delivered++);
  };
  const messages = BATCH * ROUNDS;
  for (const warm of [encode, read(() => true), read(() => false)]) warm();
  const results = {
    encode: cpuMicros(encode) / messages,
    'read (a subscriber here)': cpuMicros(read(() => true)) / messages,
    'skip (no subscriber here)': cpuMicros(read(() => false)) / messages,
  };
  console.log(`${size} B payloads, batches of ${BATCH} (${batch.length} bytes):`, Object.entries(results).map(([k, v]) => `${k} ${v.toFixed(3)} µs/msg`).join(', '));
}
