// The floor of any MQTT broker written for Node on this machine: a bare relay on plain TCP that
// parses just enough MQTT 3.1.1 to answer CONNECT, SUBSCRIBE and PINGREQ, acknowledges QoS 1
// publishes and forwards every PUBLISH to every subscriber. No topic matching, sessions or
// persistence: what is left is Node itself (the event loop, sockets, the GC), so the latency
// scenarios can tell what a Node process costs from what a broker in it costs.
import { createServer } from 'node:net';
import { listenOnLoopback, serveTarget } from './host.js';

const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const PINGRESP = Buffer.from([0xd0, 0x00]);
const subscribers = new Set();

function onPacket(socket, state, first, body) {
  switch (first >> 4) {
    case 1:
      socket.write(CONNACK);
      return;
    case 3: {
      const qos = (first >> 1) & 3;
      const topicEnd = 2 + body.readUInt16BE(0);
      for (const subscriber of subscribers) {
        const granted = Math.min(qos, subscriber.qos);
        subscriber.socket.write(granted === qos ? frame(first, body, subscriber) : frame((first & 0xf9) | (granted << 1), withoutId(body, topicEnd, qos), subscriber));
      }
      if (qos === 1) socket.write(Buffer.from([0x40, 0x02, body[topicEnd], body[topicEnd + 1]]));
      return;
    }
    case 8: {
      const id = body.readUInt16BE(0);
      const granted = [];
      let at = 2;
      while (at < body.length) {
        at += 2 + body.readUInt16BE(at);
        granted.push(Math.min(1, body[at++]));
      }
      state.subscriber = { socket, qos: granted[0] ?? 0, nextId: 0 };
      subscribers.add(state.subscriber);
      socket.write(Buffer.from([0x90, 2 + granted.length, id >> 8, id & 0xff, ...granted]));
      return;
    }
    case 12:
      socket.write(PINGRESP);
      return;
    case 14:
      socket.end();
      return;
    default:
  }
}

/** The PUBLISH for one subscriber: its own packet id at QoS 1. */
function frame(first, body, subscriber) {
  const header = [first];
  let length = body.length;
  do {
    header.push((length & 0x7f) | (length > 0x7f ? 0x80 : 0));
    length >>= 7;
  } while (length > 0);
  const packet = Buffer.concat([Buffer.from(header), body]);
  if ((first >> 1) & 3) {
    subscriber.nextId = subscriber.nextId === 65535 ? 1 : subscriber.nextId + 1;
    packet.writeUInt16BE(subscriber.nextId, header.length + 2 + body.readUInt16BE(0));
  }
  return packet;
}

function withoutId(body, topicEnd, qos) {
  return qos === 0 ? body : Buffer.concat([body.subarray(0, topicEnd), body.subarray(topicEnd + 2)]);
}

const server = createServer({ noDelay: true }, (socket) => {
  const state = { pending: Buffer.alloc(0), subscriber: null };
  socket.on('data', (chunk) => {
    let data = state.pending.length ? Buffer.concat([state.pending, chunk]) : chunk;
    for (;;) {
      if (data.length < 2) break;
      let length = 0;
      let multiplier = 1;
      let at = 1;
      let byte;
      do {
        if (at >= data.length) break;
        byte = data[at++];
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
      } while (byte & 0x80);
      if (byte & 0x80 || at + length > data.length) break;
      onPacket(socket, state, data[0], data.subarray(at, at + length));
      data = data.subarray(at + length);
    }
    state.pending = data;
  });
  const forget = () => state.subscriber && subscribers.delete(state.subscriber);
  socket.on('close', forget);
  socket.on('error', forget);
});
const port = await listenOnLoopback(server);
serveTarget({ port, info: { transport: 'tcp' } });
