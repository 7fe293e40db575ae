import type { Client } from 'aedes';
import { PacketBytes } from './packet-bytes.js';

/**
 * The steps every packet takes through an Aedes client's mqtt-packet parser, done here without what
 * mqtt-packet spends on each: its bytes are a BufferList that slices a Buffer per number read
 * (packet-bytes.ts), and every step calls `debug(...)`, whose rest parameter is an array allocated
 * even when debugging is off: some 24 calls per PUBLISH. Together they were two fifths of what a
 * QoS 1 message allocated in the broker (docs/design.md, reach-in 25; `bench/latency-tail.js --allocations`).
 *
 * Taken over: the parse loop, the fixed header [MQTT-2.2], the Remaining Length [MQTT-2.2.3], the
 * dispatch by packet type, the hand-over of each packet, two-byte integers and packet identifiers,
 * UTF-8 strings, and for 3.1.1 the PUBLISH and the PUBACK/PUBREC/PUBREL/PUBCOMP. The other packets
 * (CONNECT, SUBSCRIBE, ...) and everything MQTT 5 adds (properties, reason codes) stay mqtt-packet's,
 * which call the steps above through `this`. The overrides are own properties of each client's parser
 * (shared functions, no closures), like strict-packet-parser.ts, which checks on top of these.
 */

/** The mqtt-packet 9 parser internals these steps read and write; checked at start-up by aedes-contract.ts. */
interface ParsedPacket {
  cmd: string | null;
  retain: boolean;
  qos: number;
  dup: boolean;
  length: number;
  topic: string | null;
  payload: Buffer | null;
  messageId?: number;
}

interface LeanParser {
  _list: PacketBytes;
  _pos: number;
  _stateCounter: number;
  packet: ParsedPacket;
  error: Error | null;
  settings: { protocolVersion?: number };
  emit(event: 'packet', packet: ParsedPacket): boolean;
  _emitError(error: Error): void;
  _parseLength(): boolean;
  _parseNum(): number;
  _parseMessageId(): boolean;
  _parseString(): string | null;
  _parseConnect(): unknown;
  _parseConnack(): unknown;
  _parsePublish(): void;
  _parseConfirmation(): unknown;
  _parseSubscribe(): void;
  _parseSuback(): unknown;
  _parseUnsubscribe(): void;
  _parseUnsuback(): unknown;
  _parseDisconnect(): unknown;
  _parseAuth(): unknown;
}

/** mqtt-packet's own steps that these hand MQTT 5 to, and its packet class. */
export interface MqttPacketParserParts {
  prototype: { _parsePublish(): void; _parseConfirmation(): unknown };
  Packet: new () => ParsedPacket;
}

/** The parser's state list, in mqtt-packet's order; aedes-contract.ts checks the parser still has it. */
export const PARSER_STATES = ['_parseHeader', '_parseLength', '_parsePayload', '_newPacket'] as const;
/** The parser methods this file overrides. */
export const LEAN_PARSER_OVERRIDES = [
  'parse',
  ...PARSER_STATES,
  '_parseNum',
  '_parseMessageId',
  '_parseString',
  '_parsePublish',
  '_parseConfirmation',
] as const;

/** Packet types by the high nibble of the first byte [MQTT-2.2.1]; mqtt-packet's names, which Aedes dispatches on. */
const PACKET_TYPES = [
  'reserved', 'connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp',
  'subscribe', 'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect', 'auth',
] as const;
/** The flags each type's fixed header must carry [MQTT-2.2.2-1]; PUBLISH's are its own, the reserved type fails later. */
const REQUIRED_FLAGS: readonly (number | undefined)[] = [undefined, 0, 0, undefined, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];
const RETAIN = 0x01;
const DUP = 0x08;
const MAX_LENGTH_BYTES = 4;

let mqttPacket: MqttPacketParserParts | undefined;

/** Keeps mqtt-packet's packet class and its MQTT 5 steps, verified by the contract check at start-up. */
export function bindLeanPacketParser(parts: MqttPacketParserParts): void {
  mqttPacket = parts;
}

/** This file's steps that others build on: strict-packet-parser.ts (strings, PUBLISH) and packet-size.limit.ts (length). */
export const leanParseSteps = {
  _parseLength: parseLength,
  _parseString: parseString,
  _parsePublish: parsePublish,
};

/**
 * Right after `Aedes#handle` made the client: its parser reads on a later turn, so it holds no bytes yet
 * (any it did hold would be carried over).
 */
export function installLeanPacketParser(client: Client): void {
  const parser = (client as unknown as { _parser: LeanParser & Record<string, unknown> })._parser;
  const received = parser._list;
  parser._list = new PacketBytes();
  if (received.length > 0) parser._list.append(received.slice(0, received.length));
  parser.parse = parse;
  parser._parseHeader = parseHeader;
  parser._parseLength = parseLength;
  parser._parsePayload = parsePayload;
  parser._newPacket = newPacket;
  parser._parseNum = parseNum;
  parser._parseMessageId = parseMessageId;
  parser._parseString = parseString;
  parser._parsePublish = parsePublish;
  parser._parseConfirmation = parseConfirmation;
}

function parse(this: LeanParser, chunk: Buffer): number {
  if (this.error) {
    // What mqtt-packet does after an error: a fresh packet and fresh bytes.
    this.packet = new mqttPacket!.Packet();
    this.error = null;
    this._list = new PacketBytes();
    this._stateCounter = 0;
  }
  const bytes = this._list;
  bytes.append(chunk);
  while ((this.packet.length !== -1 || bytes.length > 0) && step(this) && this.error === null) {
    this._stateCounter = (this._stateCounter + 1) % PARSER_STATES.length;
  }
  return bytes.length;
}

function step(parser: LeanParser): boolean {
  switch (parser._stateCounter) {
    case 0:
      return parseHeader.call(parser);
    case 1:
      // The instance's: packet-size.limit.ts bounds it.
      return parser._parseLength();
    case 2:
      return parsePayload.call(parser);
    default:
      return newPacket.call(parser);
  }
}

function parseHeader(this: LeanParser): boolean {
  const first = this._list.readUInt8(0);
  const type = first >> 4;
  const flags = first & 0x0f;
  const required = REQUIRED_FLAGS[type];
  const packet = this.packet;
  packet.cmd = PACKET_TYPES[type];
  if (required !== undefined && flags !== required) {
    // [MQTT-2.2.2-2]
    this._emitError(new Error(`Invalid header flag bits, must be 0x${required.toString(16)} for ${packet.cmd} packet`));
    return false;
  }
  packet.retain = (flags & RETAIN) !== 0;
  packet.qos = (flags >> 1) & 0x03;
  if (packet.qos === 3) {
    // [MQTT-3.3.1-4]
    this._emitError(new Error('Packet must not have both QoS bits set to 1'));
    return false;
  }
  packet.dup = (flags & DUP) !== 0;
  this._list.consume(1);
  return true;
}

/** The Remaining Length, a Variable Byte Integer of at most four bytes [MQTT-1.5.5]: false until all of it is here. */
function parseLength(this: LeanParser): boolean {
  const bytes = this._list;
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < MAX_LENGTH_BYTES; i++) {
    if (i >= bytes.length) return false;
    const digit = bytes.readUInt8(i);
    value += (digit & 0x7f) * multiplier;
    if ((digit & 0x80) === 0) {
      this.packet.length = value;
      bytes.consume(i + 1);
      return true;
    }
    multiplier *= 0x80;
  }
  this._emitError(new Error('Invalid variable byte integer'));
  return false;
}

function parsePayload(this: LeanParser): boolean {
  const packet = this.packet;
  if (packet.length > this._list.length) return false;
  this._pos = 0;
  switch (packet.cmd) {
    case 'publish':
      this._parsePublish();
      break;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      this._parseConfirmation();
      break;
    case 'pingreq':
    case 'pingresp':
      break;
    case 'connect':
      this._parseConnect();
      break;
    case 'connack':
      this._parseConnack();
      break;
    case 'subscribe':
      this._parseSubscribe();
      break;
    case 'suback':
      this._parseSuback();
      break;
    case 'unsubscribe':
      this._parseUnsubscribe();
      break;
    case 'unsuback':
      this._parseUnsuback();
      break;
    case 'disconnect':
      this._parseDisconnect();
      break;
    case 'auth':
      this._parseAuth();
      break;
    default:
      this._emitError(new Error('Not supported'));
  }
  return true;
}

function newPacket(this: LeanParser): boolean {
  const packet = this.packet;
  this._list.consume(packet.length);
  this.emit('packet', packet);
  this.packet = new mqttPacket!.Packet();
  this._pos = 0;
  return true;
}

/** A two-byte integer of the packet being parsed [MQTT-1.5.2], or -1 if the packet ends first. */
function parseNum(this: LeanParser): number {
  if (this._pos + 2 > this.packet.length) return -1;
  const value = this._list.readUInt16BE(this._pos);
  this._pos += 2;
  return value;
}

/**
 * mqtt-packet compares `_parseNum`'s -1 with null here, so a packet too short for its identifier
 * went on with identifier -1; it is a malformed packet [MQTT-2.3.1-1].
 */
function parseMessageId(this: LeanParser): boolean {
  const id = this._parseNum();
  if (id === -1) {
    this._emitError(new Error('Cannot parse messageId'));
    return false;
  }
  this.packet.messageId = id;
  return true;
}

/** A UTF-8 string with its two-byte length [MQTT-1.5.3], or null if the packet ends first; checked by strict-packet-parser.ts. */
function parseString(this: LeanParser): string | null {
  const length = this._parseNum();
  if (length === -1) return null;
  const end = this._pos + length;
  if (end > this.packet.length) return null;
  const value = this._list.toString('utf8', this._pos, end);
  this._pos = end;
  return value;
}

/** [MQTT-3.3.2]: topic, packet identifier for QoS 1 and 2, payload. MQTT 5 (properties) is mqtt-packet's. */
function parsePublish(this: LeanParser): void {
  if (this.settings.protocolVersion === 5) return mqttPacket!.prototype._parsePublish.call(this);
  const packet = this.packet;
  packet.topic = this._parseString();
  if (packet.topic === null) return this._emitError(new Error('Cannot parse topic'));
  if (packet.qos > 0 && !this._parseMessageId()) return;
  packet.payload = this._list.slice(this._pos, packet.length);
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP: the packet identifier [MQTT-3.4.2]; MQTT 5's reason code and properties are mqtt-packet's. */
function parseConfirmation(this: LeanParser): unknown {
  if (this.settings.protocolVersion === 5) return mqttPacket!.prototype._parseConfirmation.call(this);
  this._parseMessageId();
  return true;
}
