import { startRedisServer } from '/work/wt/bus/bench/lib/redis-server.js';
import { spawn } from 'node:child_process';
import mqtt from 'mqtt';
const redis = await startRedisServer();
const kids = [0,1].map(() => spawn(process.execPath, ['/work/wt/bus/bench/targets/nest-mqtt-ws.js', `--redis=${redis.url}`], { stdio: ['ignore','inherit','inherit','ipc'] }));
const ports = await Promise.all(kids.map(k => new Promise(r => k.on('message', m => m.method === 'ready' && r(m.args.port)))));
kids.forEach(k => k.on('exit', (c,s) => console.log('exit', c, s)));
const got = [0, 0];
const subs = [];
for (const i of [1]) {
  const sub = await mqtt.connectAsync(`ws://127.0.0.1:${ports[i]}/mqtt`);
  sub.on('message', () => got[i]++);
  await sub.subscribeAsync('bench/+', { qos: 0 });
}
const pubs = await Promise.all(Array.from({length: 10}, () => mqtt.connectAsync(`ws://127.0.0.1:${ports[0]}/mqtt`)));
const t0 = Date.now();
let sent = 0;
while (Date.now() - t0 < 3000) { await Promise.all(pubs.map((p, i) => p.publishAsync(`bench/${i}`, Buffer.alloc(64), { qos: Number(process.argv[2] ?? 0) }))); sent += 10; }
await new Promise(r => setTimeout(r, 1000));
console.log('sent', sent, 'got', got);
kids.forEach(k=>k.kill()); await redis.stop(); process.exit(0);
