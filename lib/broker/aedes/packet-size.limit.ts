import type { Client } from 'aedes';

const MAX_PACKET_SIZE = Symbol('maxPacketSize');
/** The WebSocket close code the transport sends when a stream is destroyed with this error: 1009, message too big. */
const MESSAGE_TOO_BIG = 1009;

/** mqtt-packet 9 parser internals that the packet size check overrides. */
interface LengthParser {
  packet: { length: number };
  _parseLength(): boolean;
  _emitError(error: Error): void;
  [MAX_PACKET_SIZE]: number;
}

let baseParseLength: (() => boolean) | undefined;

/** Keeps the Remaining Length step it bounds (protocol/lean-packet-parser.ts). */
export function bindPacketSizeLimit(steps: { _parseLength(): boolean }): void {
  baseParseLength = steps._parseLength;
}

/**
 * Refuses a packet by the length its fixed header announces, before its bytes are buffered:
 * mqtt-packet would otherwise buffer up to 256 MiB per connection. Aedes has no option for it.
 */
export function limitPacketSize(client: Client, maxPacketSize: number): void {
  const parser = (client as unknown as { _parser: LengthParser })._parser;
  parser[MAX_PACKET_SIZE] = maxPacketSize;
  parser._parseLength = parseBoundedLength;
}

function parseBoundedLength(this: LengthParser): boolean {
  if (!baseParseLength!.call(this)) return false;
  if (this.packet.length <= this[MAX_PACKET_SIZE]) return true;
  const error = new Error(`packet of ${this.packet.length} bytes is larger than maxPacketSize (${this[MAX_PACKET_SIZE]})`);
  (error as Error & { closeCode?: number }).closeCode = MESSAGE_TOO_BIG;
  this._emitError(error);
  return false;
}
