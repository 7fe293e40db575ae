import mqttPacket from 'mqtt-packet';

/**
 * MQTT packets built once with mqtt-packet and sent many times, so that the generator spends its CPU
 * on sockets and not on encoding. Over WebSocket each packet travels in its own masked binary frame.
 * The mask key is zero: the server unmasks every byte whatever the key, so its work is the same, and
 * the generator need not XOR each payload (RFC 6455 wants an unpredictable key against proxy cache
 * poisoning, which does not apply between two processes on loopback).
 */
export function frame(transport, packet) {
  if (transport !== 'ws') return packet;
  const length = packet.length;
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + 4);
  header[0] = 0x82; // FIN, binary
  if (lengthBytes === 0) header[1] = 0x80 | length;
  else if (lengthBytes === 2) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, packet]);
}

/** `protocolVersion` 5 encodes MQTT 5 packets (with an empty property list); 4 is MQTT 3.1.1. */
export function encode(transport, packet, protocolVersion = 4) {
  return frame(transport, mqttPacket.generate(packet, { protocolVersion }));
}

export function connectFrame(transport, clientId, keepalive = 0, protocolVersion = 4) {
  return encode(transport, { cmd: 'connect', protocolId: 'MQTT', protocolVersion, clean: true, clientId, keepalive }, protocolVersion);
}

export function subscribeFrame(transport, messageId, topic, qos, protocolVersion = 4) {
  return encode(transport, { cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] }, protocolVersion);
}

/**
 * `count` PUBLISH frames back to back in one buffer, written to the socket at once (as a busy client's
 * packets reach the broker anyway), with where each one's message id and payload start.
 */
export function publishBatch(transport, { topic, payload, qos, count = 1, protocolVersion = 4 }) {
  const packet = mqttPacket.generate({ cmd: 'publish', topic, payload, qos, messageId: qos > 0 ? 1 : undefined, retain: false, dup: false }, { protocolVersion });
  const one = frame(transport, packet);
  const frameHeader = one.length - packet.length;
  let lengthBytes = 1;
  while (packet[lengthBytes] & 0x80) lengthBytes++;
  const idOffset = frameHeader + 1 + lengthBytes + 2 + Buffer.byteLength(topic);
  // MQTT 5: a property length (0) comes before the payload.
  const payloadOffset = idOffset + (qos > 0 ? 2 : 0) + (protocolVersion === 5 ? 1 : 0);
  const buffer = Buffer.alloc(one.length * count);
  const idOffsets = [];
  const payloadOffsets = [];
  for (let i = 0; i < count; i++) {
    one.copy(buffer, i * one.length);
    idOffsets.push(i * one.length + idOffset);
    payloadOffsets.push(i * one.length + payloadOffset);
  }
  return { buffer, idOffsets, payloadOffsets, frameLength: one.length };
}
