import { isUtf8 } from 'node:buffer';
import { unmask } from './unmask.js';

/** RFC 6455 §5.2 opcodes. */
export const Opcode = { Continuation: 0x0, Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9, Pong: 0xa } as const;

/** RFC 6455 §7.4.1 close codes. */
export const CloseCode = {
  Normal: 1000,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  NoStatus: 1005,
  InvalidPayload: 1007,
  TooBig: 1009,
} as const;

/** What the reader hands on: a binary message's bytes, control frames, and the reason to stop. */
export interface FrameSink {
  /** Bytes of a binary message, unmasked, as they arrive: MQTT does not care where frames split its packets. */
  onPayload(bytes: Buffer): void;
  onPing(payload: Buffer): void;
  onCloseFrame(code: number): void;
  /** The peer broke the protocol or a limit; nothing more is read. */
  onFrameError(code: number, reason: string): void;
}

/** Lengths beyond 2^53 cannot be counted exactly; no MQTT message comes near. */
const MAX_SAFE_HIGH_WORD = 0x1fffff;

/**
 * Reads the frames a client sends (RFC 6455 §5) from the TCP byte stream. Payloads are unmasked
 * in place and handed on as slices of the chunk they came in, without waiting for the rest of the
 * frame or message: no buffering and no copy on the hot path. Only a frame header cut between two
 * chunks, and a control frame's payload (at most 125 bytes), are ever copied.
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

  constructor(
    private readonly sink: FrameSink,
    private readonly maxPayload: number,
  ) {}

  read(chunk: Buffer): void {
    if (this.failed) return;
    if (this.partialHeader !== undefined) {
      chunk = Buffer.concat([this.partialHeader, chunk]);
      this.partialHeader = undefined;
    }
    let offset = 0;
    const length = chunk.length;
    while (offset < length) {
      if (this.remaining === 0) {
        const headerLength = this.readHeader(chunk, offset);
        if (headerLength === 0) {
          // Not enough bytes for the header yet (or the reader failed).
          if (!this.failed) this.partialHeader = chunk.subarray(offset);
          return;
        }
        offset += headerLength;
        if (this.remaining === 0) {
          if (this.opcode >= Opcode.Close) this.onControlFrame(Buffer.alloc(0));
          if (this.failed) return;
          continue;
        }
      }
      const take = Math.min(this.remaining, length - offset);
      const bytes = chunk.subarray(offset, offset + take);
      unmask(bytes, this.mask, this.maskOffset);
      this.maskOffset = (this.maskOffset + take) & 3;
      this.remaining -= take;
      offset += take;
      if (this.opcode < Opcode.Close) {
        this.sink.onPayload(bytes);
      } else {
        this.control = this.control === undefined ? bytes : Buffer.concat([this.control, bytes]);
        if (this.remaining === 0) {
          const payload = this.control;
          this.control = undefined;
          this.onControlFrame(payload);
        }
      }
      if (this.failed) return;
    }
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
    if (this.messageLength > this.maxPayload) return this.fail(CloseCode.TooBig, `message larger than maxPayload (${this.maxPayload} bytes)`) !== 0;
    this.fragmented = !final;
    return true;
  }

  private onControlFrame(payload: Buffer): void {
    if (this.opcode === Opcode.Ping) return this.sink.onPing(payload);
    if (this.opcode === Opcode.Pong) return;
    if (payload.length === 0) {
      this.failed = true;
      return this.sink.onCloseFrame(CloseCode.NoStatus);
    }
    const code = payload.length >= 2 ? payload.readUInt16BE(0) : 0;
    if (!isValidCloseCode(code)) {
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

/** The codes a peer may send (RFC 6455 §7.4): 1004-1006 and 1015 are reserved for local use. */
function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}
