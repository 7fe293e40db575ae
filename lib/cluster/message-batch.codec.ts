import { randomBytes } from 'node:crypto';

/**
 * The bytes of one batch of messages on the cluster's bus: what one instance sends to the others in
 * one Redis PUBLISH. Written for the packets a broker routes: the fields every PUBLISH has (topic,
 * payload, qos, retain, dup, messageId, brokerId, brokerCounter, clientId) in a fixed layout, and
 * ANY other own enumerable field (MQTT 5 properties, fields other parts of the library add) in a
 * generic tagged encoding, so that the packet an instance receives has the fields it was emitted with.
 *
 * Batch:  version (1) · sender id (16) · header broker id (string) · records…
 * Record: length (u32, of what follows) · flags (u32) · topic (string) · fixed fields · extras
 * string: byte length (u32) · UTF-8.  A record's topic comes first, so that a receiver that has no
 * subscriber for the topic skips the record without decoding the rest.
 */

export const BATCH_VERSION = 0xb1;
export const SENDER_ID_BYTES = 16;
const HEADER_FIXED = 1 + SENDER_ID_BYTES;

// Record flags.
const QOS_MASK = 0b11;
const RETAIN = 1 << 2;
const DUP = 1 << 3;
const CMD_PUBLISH = 1 << 4;
const BROKER_ID_OF_HEADER = 1 << 5;
const BROKER_ID = 1 << 6;
const BROKER_COUNTER = 1 << 7;
const CLIENT_ID = 1 << 8;
const MESSAGE_ID_UNDEFINED = 1 << 9;
const MESSAGE_ID = 1 << 10;
const PAYLOAD_BUFFER = 1 << 11;
const PAYLOAD_STRING = 1 << 12;
const EXTRAS = 1 << 13;
const HAS_QOS = 1 << 14;
const HAS_RETAIN_DUP = 1 << 15;
const TOPIC_NOT_STRING = 1 << 16;

// Generic value tags.
const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_NUMBER = 4;
const T_STRING = 5;
const T_BUFFER = 6;
const T_ARRAY = 7;
const T_OBJECT = 8;
const T_BIGINT = 9;
const T_DATE = 10;

/** Deeper than this, a field's value is refused (a cycle, most likely). */
const MAX_DEPTH = 32;
const ARENA_BYTES = 1 << 20;
/** Up to this many characters, an ASCII string is copied by a loop rather than Buffer#write. */
const SMALL_COPY = 64;

/** A packet as the bus carries it: a plain object whose own enumerable fields travel. */
export type BusPacket = Record<string, unknown>;

/** A new random sender id: each emitter has its own, to recognise its own batches. */
export function newSenderId(): Buffer {
  return randomBytes(SENDER_ID_BYTES);
}

/**
 * Appends packets to the batch under way, in an arena that batches are cut from without a copy
 * (as Node's own Buffer pool does): a sent batch keeps its arena alive until Redis has written it.
 */
export class MessageBatchWriter {
  private arena = Buffer.allocUnsafe(ARENA_BYTES);
  private start = 0;
  private offset = 0;
  private headerBrokerId: string | undefined;
  /** Packets in the batch under way. */
  count = 0;

  constructor(private readonly senderId: Buffer) {}

  /** Bytes of the batch under way. */
  get size(): number {
    return this.offset - this.start;
  }

  /** Encodes `packet` at the end of the batch. Throws (leaving the batch as it was) when a field cannot be encoded. */
  append(packet: BusPacket): void {
    const mark = this.offset - this.start;
    try {
      if (this.count === 0) this.writeHeader(packet.brokerId);
      this.writeRecord(packet);
    } catch (error) {
      this.offset = this.start + mark;
      if (this.count === 0) this.headerBrokerId = undefined;
      throw error;
    }
    this.count++;
  }

  /** The batch under way, for sending; the next `append` starts a new one. */
  take(): Buffer {
    const batch = this.arena.subarray(this.start, this.offset);
    this.start = this.offset;
    this.count = 0;
    this.headerBrokerId = undefined;
    // An arena grown for a large message goes with its batch, rather than staying for good.
    if (this.arena.length > ARENA_BYTES) {
      this.arena = Buffer.allocUnsafe(ARENA_BYTES);
      this.start = this.offset = 0;
    }
    return batch;
  }

  private writeHeader(brokerId: unknown): void {
    this.headerBrokerId = typeof brokerId === 'string' ? brokerId : '';
    this.ensure(HEADER_FIXED + 4 + this.headerBrokerId.length * 3);
    this.arena[this.offset] = BATCH_VERSION;
    this.senderId.copy(this.arena, this.offset + 1);
    this.offset += HEADER_FIXED;
    this.writeString(this.headerBrokerId);
  }

  private writeRecord(packet: BusPacket): void {
    this.ensure(8);
    // Relative to the batch: ensure() may move the batch to a new arena.
    const recordAt = this.offset - this.start;
    this.offset += 8;
    let flags = 0;
    let extras = 0;
    const { topic, payload, qos, retain, dup, messageId, brokerId, brokerCounter, clientId } = packet;
    // The topic is written even when it is not a string (then as an extra too), so that a receiver can always skip on it.
    this.writeString(typeof topic === 'string' ? topic : '');
    for (const key in packet) {
      if (!Object.prototype.hasOwnProperty.call(packet, key)) continue;
      switch (key) {
        case 'topic':
          if (typeof topic !== 'string') {
            flags |= TOPIC_NOT_STRING;
            extras++;
          }
          break;
        case 'cmd':
          if (packet.cmd === 'publish') flags |= CMD_PUBLISH;
          else extras++;
          break;
        case 'qos':
          if (qos === 0 || qos === 1 || qos === 2) flags |= HAS_QOS | qos;
          else extras++;
          break;
        case 'retain':
        case 'dup':
          // Both or neither in the fixed layout.
          if (typeof retain === 'boolean' && typeof dup === 'boolean' && Object.prototype.hasOwnProperty.call(packet, key === 'retain' ? 'dup' : 'retain')) {
            flags |= HAS_RETAIN_DUP | (retain ? RETAIN : 0) | (dup ? DUP : 0);
          } else extras++;
          break;
        case 'messageId':
          if (messageId === undefined) flags |= MESSAGE_ID_UNDEFINED;
          else if (Number.isInteger(messageId) && (messageId as number) >= 0 && (messageId as number) <= 0xffff) flags |= MESSAGE_ID;
          else extras++;
          break;
        case 'brokerId':
          if (typeof brokerId !== 'string') extras++;
          else flags |= brokerId === this.headerBrokerId ? BROKER_ID_OF_HEADER : BROKER_ID;
          break;
        case 'brokerCounter':
          if (typeof brokerCounter === 'number') flags |= BROKER_COUNTER;
          else extras++;
          break;
        case 'clientId':
          if (typeof clientId === 'string') flags |= CLIENT_ID;
          else extras++;
          break;
        case 'payload':
          if (Buffer.isBuffer(payload)) flags |= PAYLOAD_BUFFER;
          else if (typeof payload === 'string') flags |= PAYLOAD_STRING;
          else extras++;
          break;
        default:
          if (travels(packet[key])) extras++;
      }
    }
    if (flags & MESSAGE_ID) {
      this.ensure(2);
      this.arena.writeUInt16BE(messageId as number, this.offset);
      this.offset += 2;
    }
    if (flags & BROKER_ID) this.writeString(brokerId as string);
    if (flags & BROKER_COUNTER) {
      this.ensure(8);
      this.arena.writeDoubleLE(brokerCounter as number, this.offset);
      this.offset += 8;
    }
    if (flags & CLIENT_ID) this.writeString(clientId as string);
    if (flags & PAYLOAD_BUFFER) this.writeBytes(payload as Buffer);
    else if (flags & PAYLOAD_STRING) this.writeString(payload as string);
    if (extras > 0) {
      flags |= EXTRAS;
      this.writeExtras(packet, flags, extras);
    }
    const recordStart = this.start + recordAt;
    this.arena.writeUInt32LE(this.offset - recordStart - 4, recordStart);
    this.arena.writeUInt32LE(flags, recordStart + 4);
  }

  /** The fields the fixed layout did not take, as (name, value) pairs. */
  private writeExtras(packet: BusPacket, flags: number, extras: number): void {
    this.ensure(4);
    this.arena.writeUInt32LE(extras, this.offset);
    this.offset += 4;
    for (const key in packet) {
      if (!Object.prototype.hasOwnProperty.call(packet, key) || inFixedLayout(key, flags) || !travels(packet[key])) continue;
      this.writeString(key);
      this.writeValue(packet[key], 0);
    }
  }

  private writeValue(value: unknown, depth: number): void {
    if (depth > MAX_DEPTH) throw new TypeError(`a packet field nests deeper than ${MAX_DEPTH} levels (a cycle?) and cannot cross the cluster`);
    this.ensure(9);
    switch (typeof value) {
      case 'undefined':
        this.arena[this.offset++] = T_UNDEFINED;
        return;
      case 'boolean':
        this.arena[this.offset++] = value ? T_TRUE : T_FALSE;
        return;
      case 'number':
        this.arena[this.offset++] = T_NUMBER;
        this.arena.writeDoubleLE(value, this.offset);
        this.offset += 8;
        return;
      case 'string':
        this.arena[this.offset++] = T_STRING;
        this.writeString(value);
        return;
      case 'bigint':
        this.arena[this.offset++] = T_BIGINT;
        this.writeString(value.toString());
        return;
      case 'object':
        break;
      default:
        // A function or symbol in an array: undefined in its place, as JSON's null.
        this.arena[this.offset++] = T_UNDEFINED;
        return;
    }
    if (value === null) {
      this.arena[this.offset++] = T_NULL;
    } else if (value instanceof Uint8Array) {
      this.arena[this.offset++] = T_BUFFER;
      this.writeBytes(value);
    } else if (Array.isArray(value)) {
      this.arena[this.offset++] = T_ARRAY;
      this.arena.writeUInt32LE(value.length, this.offset);
      this.offset += 4;
      for (const item of value) this.writeValue(item, depth + 1);
    } else if (value instanceof Date) {
      this.arena[this.offset++] = T_DATE;
      this.arena.writeDoubleLE(value.getTime(), this.offset);
      this.offset += 8;
    } else {
      this.arena[this.offset++] = T_OBJECT;
      const countAt = this.offset - this.start;
      this.offset += 4;
      let count = 0;
      const object = value as Record<string, unknown>;
      for (const key in object) {
        if (!Object.prototype.hasOwnProperty.call(object, key)) continue;
        const field = object[key];
        if (!travels(field)) continue;
        this.writeString(key);
        this.writeValue(field, depth + 1);
        count++;
      }
      this.arena.writeUInt32LE(count, this.start + countAt);
    }
  }

  private writeString(value: string): void {
    const length = value.length;
    this.ensure(4 + length * 3);
    const arena = this.arena;
    const start = this.offset + 4;
    // Topics and ids are short and ASCII: copied char by char, cheaper than Buffer#write's set-up.
    let ascii = length <= SMALL_COPY;
    for (let i = 0; ascii && i < length; i++) {
      const code = value.charCodeAt(i);
      if (code >= 0x80) ascii = false;
      else arena[start + i] = code;
    }
    const bytes = ascii ? length : arena.write(value, start);
    arena.writeUInt32LE(bytes, this.offset);
    this.offset = start + bytes;
  }

  private writeBytes(value: Uint8Array): void {
    const length = value.length;
    this.ensure(4 + length);
    const arena = this.arena;
    arena.writeUInt32LE(length, this.offset);
    const start = this.offset + 4;
    // Native even for small payloads: a byte loop measured slower in the broker (payloads are views of parser buffers).
    arena.set(value, start);
    this.offset = start + length;
  }

  /** Room for `bytes` more; a new arena takes the batch under way along. */
  private ensure(bytes: number): void {
    if (this.offset + bytes <= this.arena.length) return;
    const used = this.offset - this.start;
    const arena = Buffer.allocUnsafe(Math.max(ARENA_BYTES, (used + bytes) * 2));
    this.arena.copy(arena, 0, this.start, this.offset);
    this.arena = arena;
    this.start = 0;
    this.offset = used;
  }
}

/** Functions and symbols do not cross processes: as in JSON, a field holding one is left out. */
function travels(value: unknown): boolean {
  return typeof value !== 'function' && typeof value !== 'symbol';
}

function inFixedLayout(key: string, flags: number): boolean {
  switch (key) {
    case 'topic':
      return (flags & TOPIC_NOT_STRING) === 0;
    case 'cmd':
      return (flags & CMD_PUBLISH) !== 0;
    case 'qos':
      return (flags & HAS_QOS) !== 0;
    case 'retain':
    case 'dup':
      return (flags & HAS_RETAIN_DUP) !== 0;
    case 'messageId':
      return (flags & (MESSAGE_ID | MESSAGE_ID_UNDEFINED)) !== 0;
    case 'brokerId':
      return (flags & (BROKER_ID | BROKER_ID_OF_HEADER)) !== 0;
    case 'brokerCounter':
      return (flags & BROKER_COUNTER) !== 0;
    case 'clientId':
      return (flags & CLIENT_ID) !== 0;
    case 'payload':
      return (flags & (PAYLOAD_BUFFER | PAYLOAD_STRING)) !== 0;
    default:
      return false;
  }
}

/** True when `batch` was sent by the emitter of `senderId`: its own batches come back from Redis, and are dropped unread. */
export function isOwnBatch(batch: Buffer, senderId: Buffer): boolean {
  return batch.length >= HEADER_FIXED && batch.compare(senderId, 0, SENDER_ID_BYTES, 1, HEADER_FIXED) === 0;
}

/**
 * Reads a batch: for each record, `wants(topic)` decides whether the rest is decoded and given to
 * `deliver`, in the batch's order. Payloads and other bytes are views into `batch`, not copies.
 * Throws on a batch that is not of this version or is cut short.
 */
export function readBatch(batch: Buffer, wants: (topic: string) => boolean, deliver: (packet: BusPacket) => void): void {
  if (batch.length < HEADER_FIXED || batch[0] !== BATCH_VERSION) {
    throw new Error(`a message batch of an unknown format (first byte ${batch[0]}): is every instance of the cluster on the same version?`);
  }
  const reader = new Reader(batch, HEADER_FIXED);
  const headerBrokerId = reader.string();
  while (reader.offset < batch.length) {
    const length = reader.u32();
    const end = reader.offset + length;
    if (end > batch.length) throw new Error('a message batch cut short');
    const flags = reader.u32();
    const topic = reader.string();
    if (wants(topic)) deliver(readRecord(reader, flags, topic, headerBrokerId));
    reader.offset = end;
  }
}

function readRecord(reader: Reader, flags: number, topic: string, headerBrokerId: string): BusPacket {
  const packet: BusPacket = {};
  if (flags & CMD_PUBLISH) packet.cmd = 'publish';
  packet.topic = topic;
  if (flags & HAS_QOS) packet.qos = flags & QOS_MASK;
  if (flags & HAS_RETAIN_DUP) {
    packet.retain = (flags & RETAIN) !== 0;
    packet.dup = (flags & DUP) !== 0;
  }
  if (flags & MESSAGE_ID_UNDEFINED) packet.messageId = undefined;
  else if (flags & MESSAGE_ID) packet.messageId = reader.u16BE();
  if (flags & BROKER_ID_OF_HEADER) packet.brokerId = headerBrokerId;
  else if (flags & BROKER_ID) packet.brokerId = reader.string();
  if (flags & BROKER_COUNTER) packet.brokerCounter = reader.f64();
  if (flags & CLIENT_ID) packet.clientId = reader.string();
  if (flags & PAYLOAD_BUFFER) packet.payload = reader.bytes();
  else if (flags & PAYLOAD_STRING) packet.payload = reader.string();
  // A topic that was not a string travelled as an extra: it replaces the placeholder.
  if (flags & EXTRAS) reader.fieldsInto(packet);
  return packet;
}

class Reader {
  constructor(
    private readonly buffer: Buffer,
    public offset: number,
  ) {}

  u16BE(): number {
    const value = this.buffer.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  u32(): number {
    const value = this.buffer.readUInt32LE(this.offset);
    this.offset += 4;
    return value;
  }

  f64(): number {
    const value = this.buffer.readDoubleLE(this.offset);
    this.offset += 8;
    return value;
  }

  string(): string {
    const length = this.u32();
    const end = this.offset + length;
    if (end > this.buffer.length) throw new Error('a message batch cut short');
    const value = this.buffer.toString('utf8', this.offset, end);
    this.offset = end;
    return value;
  }

  bytes(): Buffer {
    const length = this.u32();
    const end = this.offset + length;
    if (end > this.buffer.length) throw new Error('a message batch cut short');
    const value = this.buffer.subarray(this.offset, end);
    this.offset = end;
    return value;
  }

  /** A count, then that many name/value pairs, set on `target`. A field named '__proto__' stays a field, never the object's prototype. */
  fieldsInto(target: Record<string, unknown>): void {
    for (let count = this.u32(); count > 0; count--) {
      const key = this.string();
      const value = this.value();
      if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
      else target[key] = value;
    }
  }

  value(): unknown {
    const tag = this.buffer[this.offset++];
    switch (tag) {
      case T_UNDEFINED:
        return undefined;
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_NUMBER:
        return this.f64();
      case T_STRING:
        return this.string();
      case T_BUFFER:
        return this.bytes();
      case T_BIGINT:
        return BigInt(this.string());
      case T_DATE:
        return new Date(this.f64());
      case T_ARRAY: {
        const length = this.u32();
        const array = new Array<unknown>(length);
        for (let i = 0; i < length; i++) array[i] = this.value();
        return array;
      }
      case T_OBJECT: {
        const object: Record<string, unknown> = {};
        this.fieldsInto(object);
        return object;
      }
      default:
        throw new Error(`a message batch with an unknown value tag ${tag}`);
    }
  }
}
