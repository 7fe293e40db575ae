#!/usr/bin/env node
// The WebSocket write path alone (issue 16): mqtt-packet writes a 64 B QoS 0 PUBLISH into 100 of the
// library's WebSocket streams per event-loop turn, as a fan-out does, on a socket whose writes are
// dropped, so that no system call and no other process blurs it. Prints the CPU time per packet and
// the scavenges (run it with a small young generation, as below, to count allocation in scavenges).
//
//   node --max-semi-space-size=1 bench/write-path.js [<dist dir>]     (BENCH_BASE's dist/ for the commit before)
import net from 'node:net';
import { resolve } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import mqttPacket from 'mqtt-packet';

const dist = resolve(process.argv[2] ?? new URL('../dist', import.meta.url).pathname);
const load = (file) => import(pathToFileURL(resolve(dist, file)).href);
const { WebSocketDuplex } = await load('transport/websocket-duplex.js');
const { ConnectionTimers } = await load('transport/connection-timers.js');

const server = net.createServer((socket) => socket.resume());
await new Promise((done) => server.listen(0, '127.0.0.1', done));
const socket = net.connect(server.address().port, '127.0.0.1');
await new Promise((done) => socket.once('connect', done));
socket.setMaxListeners(0);
// Bytes written go nowhere: the figure is the library's and mqtt-packet's work, not the kernel's.
socket.write = () => true;
const timers = new ConnectionTimers({ pingInterval: 0, shortestDeadline: 60_000 });
const traffic = { bytesSent: 0, bytesReceived: 0, handshakesRefused: 0 };
const limits = { maxPayload: 1 << 20, maxPreConnectPayload: 1 << 20, connectTimeout: 60_000, closeTimeout: 1000 };
const streams = Array.from({ length: 100 }, () => {
  const stream = new WebSocketDuplex(socket, Buffer.alloc(0), limits, timers, traffic);
  stream.markConnected();
  return stream;
});
const packet = { cmd: 'publish', topic: 'bench/fanout', payload: Buffer.alloc(64, 1), qos: 0, retain: false, dup: false };
const options = { protocolVersion: 4 };
const turn = () => new Promise((done) => setImmediate(done));

for (let round = 0; round < 500; round++) {
  for (const stream of streams) mqttPacket.writeToStream(packet, stream, options);
  await turn();
}
let scavenges = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
}).observe({ entryTypes: ['gc'] });
const rounds = 3000;
const cpu = process.cpuUsage();
for (let round = 0; round < rounds; round++) {
  for (const stream of streams) mqttPacket.writeToStream(packet, stream, options);
  await turn();
}
const used = process.cpuUsage(cpu);
const packets = rounds * streams.length;
process.stdout.write(`${dist}: ${(((used.user + used.system) * 1000) / packets).toFixed(0)} ns CPU per packet, ${scavenges} scavenges for ${packets} packets\n`);
process.exit(0);
