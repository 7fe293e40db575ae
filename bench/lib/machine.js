import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { redisServerVersion } from './redis-server.js';

export function describeMachine(rootDir) {
  const version = (name) => {
    try {
      return JSON.parse(readFileSync(join(rootDir, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  const mosquitto = spawnSync('mosquitto', ['-h'], { encoding: 'utf8' });
  const processors = cpus();
  return {
    cpu: processors[0]?.model ?? 'unknown',
    cores: processors.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    versions: {
      aedes: version('aedes'),
      ws: version('ws'),
      'mqtt-packet': version('mqtt-packet'),
      '@nestjs/core': version('@nestjs/core'),
      '@nestjs/microservices': version('@nestjs/microservices'),
      mosquitto: mosquitto.error ? null : (/mosquitto version (\S+)/.exec(mosquitto.stdout)?.[1] ?? null),
      'aedes-persistence-redis': version('aedes-persistence-redis'),
      'redis-server': redisServerVersion(),
    },
  };
}
