import { isUtf8 } from 'node:buffer';
import { CloseCode, isSendableCloseCode } from './close-codes.js';
import { keepBytes } from './shared-read-buffer.js';
import { unmask } from './unmask.js';

export { CloseCode };

/** RFC 6455 §5.2 opcodes. */
export const Opcode = { Continuation: 0x0, Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9, Pong: 0xa } as const;

/** What the reader hands on: a binary message's bytes, control frames, and the reason to stop. */
export interface FrameSink {
  /** Bytes of a binary message, unmasked, as they arrive: MQTT does not care where frames split its packets. The sink may keep them. */
  onPayload(bytes: Buffer): void;
  onPing(payload: Buffer): void;
  onPong(): void;
  onCloseFrame(code: number): void;
  /** The peer broke the protocol or a limit; nothing more is read. */
  onFrameError(code: number, reason: string): void;
}

const EMPTY = Buffer.alloc(0);
/** Lengths beyond 2^53 cannot be counted exactly; no MQTT message comes near. */
const MAX_SAFE_HIGH_WORD = 0x1fffff;

/**
 * Reads the frames a client sends (RFC 6455 §5) from the TCP byte stream. Payloads are unmasked
 * in place and handed on without waiting for the rest of the frame or message: no buffering. The payloads of the frames of one chunk are moved together in place,
 * over the frame headers between them, and handed on as one slice: a message in many small
 * fragments costs one object per TCP read, not one per fragment. Only a frame header cut between
 * two chunks, and a control frame's payload (at most 125 bytes), are ever copied. With `lentChunks`
 * (the socket reads into a shared buffer, shared-read-buffer.ts) a chunk is valid only during
 * `read()`: the payload of each chunk is then copied once, as it is handed on, and whatever is kept
 * for the next chunk is copied too.
 */
export class WebSocketFrameReader {
  private partialHeader: Buffer | undefined;
  private opcode = 0;
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  private mask = 0;
  /** How many payload bytes of the current frame were unmasked, modulo 4: where the mask resumes. */
  private maskOffset = 0;
  /** Bytes of the binary message being read, across its fragments. */
  private messageLength = 0;
  /** A binary message started and its final fragment has not come. */
  private fragmented = false;
  private control: Buffer | undefined;
  private failed = false;

  /**
   * @param maxMessage largest message (bytes, across its fragments): 1009 beyond.
   * @param byteBudget payload bytes the peer may send in all (before its CONNECT is accepted): 1008 beyond.
   */
  constructor(
    private readonly sink: FrameSink,
    private maxMessage: number,
    private byteBudget: number,
    private readonly lentChunks = false,
  ) {}

  /** New limits, from the next frame on (the CONNECT was accepted). */
  setLimits(maxMessage: number, byteBudget: number): void {
    this.maxMessage = maxMessage;
    this.byteBudget = byteBudget;
  }

  read(chunk: Buffer): void {
    if (this.failed) return;
    if (this.partialHeader !== undefined) {
      chunk = Buffer.concat([this.partialHeader, chunk]);
      this.partialHeader = undefined;
    }
    let offset = 0;
    const length = chunk.length;
    // The payload bytes of this chunk read so far lie, unmasked, in chunk[runStart, runEnd).
    let runStart = -1;
    let runEnd = 0;
    while (offset < length) {
      if (this.remaining === 0) {
        const headerLength = this.readHeader(chunk, offset);
        if (headerLength === 0) {
          if (this.failed) return;
          // Not enough bytes for the header yet; the run lies before it, so it stays intact.
          this.partialHeader = this.lentChunks ? keepBytes(chunk, offset) : chunk.subarray(offset);
          break;
        }
        offset += headerLength;
        if (this.remaining === 0) {
          if (this.opcode >= Opcode.Close) {
            if (runStart >= 0) this.handOn(chunk, runStart, runEnd);
            runStart = -1;
            this.onControlFrame(EMPTY);
          }
          if (this.failed) return;
          continue;
        }
      }
      const take = Math.min(this.remaining, length - offset);
      const bytes = chunk.subarray(offset, offset + take);
      unmask(bytes, this.mask, this.maskOffset);
      this.maskOffset = (this.maskOffset + take) & 3;
      this.remaining -= take;
      if (this.opcode < Opcode.Close) {
        if (runStart < 0) {
          runStart = offset;
          runEnd = offset + take;
        } else {
          // Over the frame header that separates it from the bytes before.
          chunk.copyWithin(runEnd, offset, offset + take);
          runEnd += take;
        }
        offset += take;
      } else {
        offset += take;
        this.control = this.control === undefined ? bytes : Buffer.concat([this.control, bytes]);
        if (this.remaining > 0 && this.lentChunks && this.control === bytes) this.control = keepBytes(bytes);
        if (this.remaining === 0) {
          if (runStart >= 0) this.handOn(chunk, runStart, runEnd);
          runStart = -1;
          const payload = this.control;
          this.control = undefined;
          this.onControlFrame(payload);
          if (this.failed) return;
        }
      }
    }
    if (runStart >= 0) this.handOn(chunk, runStart, runEnd);
  }

  private handOn(chunk: Buffer, start: number, end: number): void {
    this.sink.onPayload(this.lentChunks ? keepBytes(chunk, start, end) : chunk.subarray(start, end));
  }

  /** Reads one frame header at `offset` and returns its length, or 0 when it is incomplete or invalid. */
  private readHeader(chunk: Buffer, offset: number): number {
    const available = chunk.length - offset;
    if (available < 2) return 0;
    const first = chunk[offset];
    const second = chunk[offset + 1];
    if ((first & 0x70) !== 0) return this.fail(CloseCode.ProtocolError, 'reserved bits set without a negotiated extension');
    // A client MUST mask every frame it sends (RFC 6455 §5.1).
    if ((second & 0x80) === 0) return this.fail(CloseCode.ProtocolError, 'unmasked frame from a client');
    const shortLength = second & 0x7f;
    const headerLength = shortLength === 126 ? 8 : shortLength === 127 ? 14 : 6;
    if (available < headerLength) return 0;
    let length = shortLength;
    if (shortLength === 126) {
      length = chunk.readUInt16BE(offset + 2);
    } else if (shortLength === 127) {
      const high = chunk.readUInt32BE(offset + 2);
      if (high > MAX_SAFE_HIGH_WORD) return this.fail(CloseCode.TooBig, 'frame too large');
      length = high * 0x100000000 + chunk.readUInt32BE(offset + 6);
    }
    const final = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    if (!this.checkOpcode(opcode, final, length)) return 0;
    this.opcode = opcode;
    this.remaining = length;
    this.mask = chunk.readUInt32BE(offset + headerLength - 4);
    this.maskOffset = 0;
    return headerLength;
  }

  private checkOpcode(opcode: number, final: boolean, length: number): boolean {
    if (opcode >= Opcode.Close) {
      if (opcode > Opcode.Pong) return this.fail(CloseCode.ProtocolError, `unknown opcode ${opcode}`) !== 0;
      if (!final || length > 125) return this.fail(CloseCode.ProtocolError, 'control frames are short and never fragmented') !== 0;
      return true;
    }
    if (opcode === Opcode.Text) return this.fail(CloseCode.UnsupportedData, 'MQTT needs binary frames') !== 0;
    if (opcode === Opcode.Binary) {
      if (this.fragmented) return this.fail(CloseCode.ProtocolError, 'a new message inside a fragmented one') !== 0;
      this.messageLength = 0;
    } else if (opcode === Opcode.Continuation) {
      if (!this.fragmented) return this.fail(CloseCode.ProtocolError, 'continuation without a message') !== 0;
    } else {
      return this.fail(CloseCode.ProtocolError, `unknown opcode ${opcode}`) !== 0;
    }
    this.messageLength += length;
    if (this.messageLength > this.maxMessage) return this.fail(CloseCode.TooBig, `message larger than ${this.maxMessage} bytes`) !== 0;
    this.byteBudget -= length;
    if (this.byteBudget < 0) return this.fail(CloseCode.PolicyViolation, 'more bytes before the CONNECT was accepted than maxPreConnectPayload') !== 0;
    this.fragmented = !final;
    return true;
  }

  private onControlFrame(payload: Buffer): void {
    if (this.opcode === Opcode.Ping) return this.sink.onPing(payload);
    if (this.opcode === Opcode.Pong) return this.sink.onPong();
    if (payload.length === 0) {
      this.failed = true;
      return this.sink.onCloseFrame(CloseCode.NoStatus);
    }
    const code = payload.length >= 2 ? payload.readUInt16BE(0) : 0;
    if (!isSendableCloseCode(code)) {
      this.fail(CloseCode.ProtocolError, 'invalid close code');
      return;
    }
    if (!isUtf8(payload.subarray(2))) {
      this.fail(CloseCode.InvalidPayload, 'close reason is not UTF-8');
      return;
    }
    this.failed = true;
    this.sink.onCloseFrame(code);
  }

  private fail(code: number, reason: string): 0 {
    this.failed = true;
    this.partialHeader = undefined;
    this.control = undefined;
    this.sink.onFrameError(code, reason);
    return 0;
  }
}
