#!/usr/bin/env node
// The WebSocket write path alone (issue 16): mqtt-packet writes a 64 B QoS 0 PUBLISH into 100 of the
// library's WebSocket streams per event-loop turn, as a fan-out does, on a socket whose writes are
// dropped, so that no system call and no other process blurs it. Prints the CPU time per packet and
// the scavenges (run it with a small young generation, as below, to count allocation in scavenges).
//
//   node --max-semi-space-size=1 bench/write-path.js [<dist dir>] [--streams=100] [--per-turn=1]
// (BENCH_BASE's dist/ for the commit before; `--streams=1 --per-turn=500`: a fan-in's one subscriber)
import net from 'node:net';
import { resolve } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import mqttPacket from 'mqtt-packet';

const args = process.argv.slice(2);
const option = (name, fallback) => Number(args.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const dist = resolve(args.find((arg) => !arg.startsWith('--')) ?? new URL('../dist', import.meta.url).pathname);
const streamCount = option('streams', 100);
const perTurn = option('per-turn', 1);
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
const streams = Array.from({ length: streamCount }, () => {
  const stream = new WebSocketDuplex(socket, Buffer.alloc(0), limits, timers, traffic);
  stream.markConnected();
  return stream;
});
const packet = { cmd: 'publish', topic: 'bench/fanout', payload: Buffer.alloc(64, 1), qos: 0, retain: false, dup: false };
const options = { protocolVersion: 4 };
const turn = () => new Promise((done) => setImmediate(done));

const oneTurn = () => {
  for (const stream of streams) for (let i = 0; i < perTurn; i++) mqttPacket.writeToStream(packet, stream, options);
  return turn();
};
const rounds = Math.ceil(300_000 / (streamCount * perTurn));
for (let round = 0; round < rounds / 6; round++) await oneTurn();
let scavenges = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
}).observe({ entryTypes: ['gc'] });
const cpu = process.cpuUsage();
for (let round = 0; round < rounds; round++) await oneTurn();
const used = process.cpuUsage(cpu);
const packets = rounds * streamCount * perTurn;
process.stdout.write(`${dist}: ${(((used.user + used.system) * 1000) / packets).toFixed(0)} ns CPU per packet, ${scavenges} scavenges for ${packets} packets\n`);
process.exit(0);
