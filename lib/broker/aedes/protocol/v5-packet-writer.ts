import { topicAliasesOf, writeAliased, type WriteToStream } from './v5-topic-aliases.js';

/**
 * What the server writes to an MQTT 5 client, in mqtt-packet's `writeToStream` (Aedes calls it for
 * every packet; wrapped once per process):
 * - a PUBLISH to a client that opted in to topic aliases gets its alias (v5-topic-aliases.ts);
 * - a PUBLISH without properties is encoded here, in one buffer: mqtt-packet writes it in seven
 *   pieces, one of them the empty property list, and builds a properties writer (a closure) for it;
 * - a PUBACK/PUBREC/PUBREL/PUBCOMP with reason code 0 (or none) and no properties is the 3.1.1
 *   packet, byte for byte [MQTT-3.4.2-1]: mqtt-packet's v5 path would add the reason code and an
 *   empty property list (two more writes, two buffers) to each.
 * Everything else goes to mqtt-packet as it is. 3.1.1 packets cost one property read.
 */

const INSTALLED = Symbol('v5PacketWriter');
const V4 = Object.freeze({ protocolVersion: 4 });
/** Larger payloads are written beside the header rather than copied into it. */
const COPIED_PAYLOAD_BYTES = 2048;
const PUBLISH_HEADER = 0x30;
/** Comfortably below the largest remaining length (268,435,455); mqtt-packet refuses what is above. */
const MAX_PAYLOAD_BYTES = 0x0ff00000;

interface WrittenPacket {
  cmd: string;
  topic?: unknown;
  payload?: unknown;
  qos?: number;
  dup?: boolean;
  retain?: boolean;
  messageId?: number;
  reasonCode?: number;
  properties?: object;
}

interface Stream {
  write(chunk: Buffer): boolean;
  cork?(): void;
  uncork?(): void;
}

export function installV5PacketWriter(mqttPacket: { writeToStream: WriteToStream }): void {
  const marked = mqttPacket as typeof mqttPacket & { [INSTALLED]?: true };
  if (marked[INSTALLED]) return;
  marked[INSTALLED] = true;
  const writeToStream = mqttPacket.writeToStream;
  mqttPacket.writeToStream = function (packet, stream, options) {
    if ((options as { protocolVersion?: number } | undefined)?.protocolVersion !== 5) return writeToStream(packet, stream, options);
    const written = packet as WrittenPacket;
    switch (written.cmd) {
      case 'publish': {
        const aliases = topicAliasesOf(stream as object);
        if (aliases !== undefined) return writeAliased(aliases, written as never, stream, options as never, writeToStream);
        if (written.properties === undefined && isBarePublish(written)) return writeBarePublish(written, stream as Stream);
        break;
      }
      case 'puback':
      case 'pubrec':
      case 'pubrel':
      case 'pubcomp':
        if (!written.reasonCode && written.properties === undefined) return writeToStream(packet, stream, V4 as never);
        break;
    }
    return writeToStream(packet, stream, options);
  };
}

function isBarePublish(packet: WrittenPacket): packet is WrittenPacket & { topic: string; payload: Buffer } {
  const qos = packet.qos ?? 0;
  return (
    typeof packet.topic === 'string' &&
    Buffer.isBuffer(packet.payload) &&
    packet.payload.length < MAX_PAYLOAD_BYTES &&
    (qos === 0 || ((qos === 1 || qos === 2) && typeof packet.messageId === 'number' && packet.messageId > 0 && packet.messageId <= 0xffff))
  );
}

/** PUBLISH: fixed header, remaining length, topic, packet identifier (QoS 1/2), property length 0, payload [MQTT-3.3]. */
function writeBarePublish(packet: WrittenPacket & { topic: string; payload: Buffer }, stream: Stream): boolean {
  const { topic, payload } = packet;
  const qos = packet.qos ?? 0;
  const topicBytes = Buffer.byteLength(topic);
  const variableHeader = 2 + topicBytes + (qos > 0 ? 2 : 0) + 1;
  const remaining = variableHeader + payload.length;
  const lengthBytes = remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4;
  const headerBytes = 1 + lengthBytes + variableHeader;
  const copied = payload.length <= COPIED_PAYLOAD_BYTES;
  const buffer = Buffer.allocUnsafe(copied ? headerBytes + payload.length : headerBytes);
  buffer[0] = PUBLISH_HEADER | (packet.dup && qos > 0 ? 0x08 : 0) | (qos << 1) | (packet.retain ? 0x01 : 0);
  let offset = 1;
  let length = remaining;
  do {
    let byte = length % 0x80;
    length = Math.floor(length / 0x80);
    if (length > 0) byte |= 0x80;
    buffer[offset++] = byte;
  } while (length > 0);
  buffer.writeUInt16BE(topicBytes, offset);
  offset += 2;
  offset += buffer.write(topic, offset, 'utf8');
  if (qos > 0) {
    buffer.writeUInt16BE(packet.messageId!, offset);
    offset += 2;
  }
  buffer[offset++] = 0;
  if (copied) {
    payload.copy(buffer, offset);
    return stream.write(buffer);
  }
  // One piece for the transport (one WebSocket frame): the two writes are corked together.
  stream.cork?.();
  stream.write(buffer);
  const ok = stream.write(payload);
  stream.uncork?.();
  return ok;
}
