import { RawMqttSocket } from '../../utils/raw-mqtt-socket.js';
import type { Random } from './random.js';

/** Valid MQTT 3.1.1 packets of every kind a client sends, the seeds the mutations start from. */
const TEMPLATES: Record<string, unknown>[] = [
  { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'fuzz', keepalive: 10 },
  { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: false, clientId: 'fuzz-w', keepalive: 0, username: 'u', password: Buffer.from('p'),
    will: { topic: 'fuzz/will', payload: Buffer.from('gone'), qos: 1, retain: false } },
  { cmd: 'publish', topic: 'fuzz/a', payload: Buffer.from('hello'), qos: 0, retain: false, dup: false },
  { cmd: 'publish', topic: 'fuzz/b/c', payload: Buffer.alloc(40, 7), qos: 1, messageId: 7, retain: true, dup: false },
  { cmd: 'publish', topic: 'fuzz/q2', payload: Buffer.from('two'), qos: 2, messageId: 9, retain: false, dup: false },
  { cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'fuzz/#', qos: 2 }, { topic: '+/x', qos: 0 }] },
  { cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['fuzz/#'] },
  { cmd: 'puback', messageId: 7 },
  { cmd: 'pubrec', messageId: 9 },
  { cmd: 'pubrel', messageId: 9 },
  { cmd: 'pubcomp', messageId: 9 },
  { cmd: 'pingreq' },
  { cmd: 'disconnect' },
];
const ENCODED = TEMPLATES.map((template) => RawMqttSocket.encode(template));
const VALID_CONNECT = ENCODED[0];

export interface FuzzFrame {
  data: Buffer | string;
  binary: boolean;
}

/** Frames of one hostile connection: mostly mutated valid packets, some random bytes and text frames. */
export function* fuzzFrames(random: Random, count: number): Generator<FuzzFrame> {
  // Half the connections start properly, so that the mutations reach the connected states too.
  if (random.next() < 0.5) yield { data: VALID_CONNECT, binary: true };
  for (let i = 0; i < count; i++) {
    const roll = random.next();
    if (roll < 0.05) yield { data: random.bytes(1 + random.int(64)).toString('latin1'), binary: false };
    else if (roll < 0.2) yield { data: random.bytes(1 + random.int(300)), binary: true };
    else yield { data: mutate(random, Buffer.from(random.pick(ENCODED))), binary: true };
  }
}

function mutate(random: Random, packet: Buffer): Buffer {
  switch (random.int(7)) {
    case 0: // flip bits
      for (let n = 1 + random.int(3); n > 0; n--) packet[random.int(packet.length)] ^= 1 << random.int(8);
      return packet;
    case 1: // replace a byte
      packet[random.int(packet.length)] = random.int(256);
      return packet;
    case 2: // truncate
      return packet.subarray(0, random.int(packet.length));
    case 3: // append garbage
      return Buffer.concat([packet, random.bytes(1 + random.int(32))]);
    case 4: // a wrong remaining length
      if (packet.length > 1) packet[1] = random.int(256);
      return packet;
    case 5: // two packets in one frame, the second mutated
      return Buffer.concat([packet, mutate(random, Buffer.from(random.pick(ENCODED)))]);
    default: // unchanged: valid packets in hostile order
      return packet;
  }
}
