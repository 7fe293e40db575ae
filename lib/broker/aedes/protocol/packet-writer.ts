import { holdPuback, holdsPubacks } from './puback-after-routing.js';
import { advertiseSharedSubscriptions } from './shared-subscriptions.js';
import { variableByteIntegerLength, writeVariableByteInteger } from './variable-byte-integer.js';
import { aliasOnly, chooseTopicAlias, topicAliasesOf, type AliasedPacket } from './v5-topic-aliases.js';

type WriteToStream = (packet: never, stream: never, options?: never) => boolean;

/**
 * What the server writes to its clients, in mqtt-packet's `writeToStream` (Aedes calls it for every
 * packet; wrapped once per process):
 * - a PUBLISH without properties is encoded here, in one buffer, for every protocol level:
 *   mqtt-packet writes it in five (3.1.1) or seven (MQTT 5) pieces and, for MQTT 5, builds a
 *   properties writer (a closure) for an empty property list; it is the packet every delivery writes;
 * - a PUBLISH to an MQTT 5 client that opted in to topic aliases gets its alias (v5-topic-aliases.ts);
 *   one with properties and an alias goes to mqtt-packet with its topic and properties swapped for
 *   the write and restored right after;
 * - an MQTT 5 CONNACK says Shared Subscription Available 1 where Aedes says 0 (shared-subscriptions.ts);
 * - a PUBACK/PUBREC/PUBREL/PUBCOMP with reason code 0 (or none) and no properties is written here
 *   in one four-byte buffer, the 3.1.1 packet byte for byte [MQTT-3.4.2-1]: mqtt-packet writes it in
 *   three pieces and, for MQTT 5, adds the reason code and an empty property list to each (a QoS 1
 *   message costs one at each end).
 * Everything else goes to mqtt-packet as it is.
 */

const INSTALLED = Symbol('packetWriter');
const NO_ALIAS = 0;
/** The first byte of each acknowledgement; PUBREL's carries its required flags 0b0010 [MQTT-3.6.1-1]. */
const ACK_HEADERS = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;
const ACK_BYTES = 4;
/** Larger payloads are written beside the header rather than copied into it. */
const COPIED_PAYLOAD_BYTES = 2048;
const PUBLISH_HEADER = 0x30;
/** The Topic Alias property: its identifier, then a two-byte integer. */
const TOPIC_ALIAS = 0x23;
const TOPIC_ALIAS_PROPERTY_BYTES = 3;
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

export function installPacketWriter(mqttPacket: { writeToStream: WriteToStream }): void {
  const marked = mqttPacket as typeof mqttPacket & { [INSTALLED]?: true };
  if (marked[INSTALLED]) return;
  marked[INSTALLED] = true;
  const writeToStream = mqttPacket.writeToStream;
  mqttPacket.writeToStream = function (packet, stream, options) {
    const written = packet as WrittenPacket;
    const v5 = (options as { protocolVersion?: number } | undefined)?.protocolVersion === 5;
    switch (written.cmd) {
      case 'publish': {
        // 3.1.1 has no empty topic (aliases are MQTT 5): mqtt-packet refuses it, and keeps doing so.
        if (!v5) return isBarePublish(written) && written.topic !== '' ? writeBarePublish(written, stream as Stream, NO_ALIAS, false) : writeToStream(packet, stream, options);
        const aliases = topicAliasesOf(stream as object);
        const alias = aliases === undefined ? 0 : chooseTopicAlias(aliases, written as AliasedPacket);
        if (written.properties === undefined && isBarePublish(written)) return writeBarePublish(written, stream as Stream, alias, true);
        if (alias !== 0) return writeWithAlias(written as AliasedPacket, alias, stream, options as never, writeToStream);
        break;
      }
      case 'puback':
      case 'pubrec':
      case 'pubrel':
      case 'pubcomp':
        if (!written.reasonCode && written.properties === undefined && isPacketIdentifier(written.messageId)) {
          if (written.cmd === 'puback' && holdsPubacks(stream as object)) {
            holdPuback(stream as object, written.messageId, () => writeHeldPuback(written.messageId as number, stream as Stream));
            return true;
          }
          return writeAck(ACK_HEADERS[written.cmd], written.messageId, stream as Stream);
        }
        break;
      case 'connack':
        if (v5) advertiseSharedSubscriptions(written as never, stream as object);
        break;
    }
    return writeToStream(packet, stream, options);
  };
}

/** A held PUBACK, once its message is routed: dropped if the publisher has gone meanwhile (it resends the message). */
function writeHeldPuback(messageId: number, stream: Stream & { destroyed?: boolean; writableEnded?: boolean }): void {
  if (!stream.destroyed && !stream.writableEnded) writeAck(ACK_HEADERS.puback, messageId, stream);
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP with reason code 0 and no properties: four bytes, the same in 3.1.1 and MQTT 5 [MQTT-3.4.2-1]. */
function writeAck(header: number, messageId: number, stream: Stream): boolean {
  const bytes = Buffer.allocUnsafe(ACK_BYTES);
  bytes[0] = header;
  bytes[1] = ACK_BYTES - 2;
  bytes[2] = messageId >> 8;
  bytes[3] = messageId & 0xff;
  return stream.write(bytes);
}

function isPacketIdentifier(messageId: unknown): messageId is number {
  return typeof messageId === 'number' && Number.isInteger(messageId) && messageId > 0 && messageId <= 0xffff;
}

function isBarePublish(packet: WrittenPacket): packet is WrittenPacket & { topic: string; payload: Buffer } {
  const qos = packet.qos ?? 0;
  return (
    typeof packet.topic === 'string' &&
    Buffer.isBuffer(packet.payload) &&
    packet.payload.length < MAX_PAYLOAD_BYTES &&
    (qos === 0 || ((qos === 1 || qos === 2) && isPacketIdentifier(packet.messageId)))
  );
}

/**
 * PUBLISH: fixed header, remaining length, topic, packet identifier (QoS 1/2), for MQTT 5 the
 * properties (none, or the Topic Alias), payload [MQTT-3.3]. `alias` as `chooseTopicAlias` gives it.
 */
function writeBarePublish(packet: WrittenPacket & { topic: string; payload: Buffer }, stream: Stream, alias: number, v5: boolean): boolean {
  const { payload } = packet;
  const topic = alias < 0 ? '' : packet.topic;
  const qos = packet.qos ?? 0;
  const topicBytes = Buffer.byteLength(topic);
  const propertyBytes = alias === 0 ? 0 : TOPIC_ALIAS_PROPERTY_BYTES;
  const variableHeader = 2 + topicBytes + (qos > 0 ? 2 : 0) + (v5 ? 1 + propertyBytes : 0);
  const remaining = variableHeader + payload.length;
  const headerBytes = 1 + variableByteIntegerLength(remaining) + variableHeader;
  const copied = payload.length <= COPIED_PAYLOAD_BYTES;
  const buffer = Buffer.allocUnsafe(copied ? headerBytes + payload.length : headerBytes);
  buffer[0] = PUBLISH_HEADER | (packet.dup && qos > 0 ? 0x08 : 0) | (qos << 1) | (packet.retain ? 0x01 : 0);
  let offset = writeVariableByteInteger(buffer, 1, remaining);
  buffer.writeUInt16BE(topicBytes, offset);
  offset += 2;
  offset += buffer.write(topic, offset, 'utf8');
  if (qos > 0) {
    buffer.writeUInt16BE(packet.messageId!, offset);
    offset += 2;
  }
  if (v5) buffer[offset++] = propertyBytes;
  if (alias !== 0) {
    buffer[offset++] = TOPIC_ALIAS;
    buffer.writeUInt16BE(Math.abs(alias), offset);
    offset += 2;
  }
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

/** A PUBLISH with properties and an alias: mqtt-packet writes it with them, the packet is left as it was. */
function writeWithAlias(packet: AliasedPacket, alias: number, stream: never, options: never, writeToStream: WriteToStream): boolean {
  const topic = packet.topic;
  const properties = packet.properties;
  if (alias < 0) packet.topic = '';
  packet.properties = properties === undefined ? aliasOnly(Math.abs(alias)) : { ...properties, topicAlias: Math.abs(alias) };
  try {
    return writeToStream(packet as never, stream, options);
  } finally {
    packet.topic = topic;
    packet.properties = properties;
  }
}
