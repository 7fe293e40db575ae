/** A chunk as Node's Writable hands it to `_writev`: a Buffer, or a string when `decodeStrings` is off. */
export interface WritableChunk {
  chunk: Buffer | string;
  encoding: BufferEncoding | 'buffer';
}

const FIN_BINARY = 0x82;

/**
 * One unmasked binary WebSocket frame (RFC 6455 §5.2; a server never masks) holding the chunks
 * back to back: the header and the payload in one allocation, so the socket gets a single write.
 */
export function encodeBinaryFrame(chunks: readonly WritableChunk[]): Buffer {
  let length = 0;
  for (let i = 0; i < chunks.length; i++) {
    const { chunk, encoding } = chunks[i];
    length += typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding as BufferEncoding) : chunk.length;
  }
  const frame = frameOf(length);
  let offset = frame.length - length;
  for (let i = 0; i < chunks.length; i++) {
    const { chunk, encoding } = chunks[i];
    offset += typeof chunk === 'string' ? frame.write(chunk, offset, encoding as BufferEncoding) : chunk.copy(frame, offset);
  }
  return frame;
}

/** The same frame from the chunks a corked connection gathered (strings are UTF-8), `length` bytes in all. */
export function encodeGatheredFrame(chunks: readonly (Buffer | string)[], length: number): Buffer {
  const frame = frameOf(length);
  let offset = frame.length - length;
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i];
    offset += typeof chunk === 'string' ? frame.write(chunk, offset, 'utf8') : chunk.copy(frame, offset);
  }
  return frame;
}

/** A frame of `length` payload bytes with its header written: the payload goes after the header, at `frame.length - length`. */
function frameOf(length: number): Buffer {
  const headerLength = length < 126 ? 2 : length <= 0xffff ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = FIN_BINARY;
  if (headerLength === 2) {
    frame[1] = length;
  } else if (headerLength === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  return frame;
}

/** A control frame (close, ping, pong: RFC 6455 §5.5), whose payload is at most 125 bytes. */
export function encodeControlFrame(opcode: number, payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(2 + payload.length);
  frame[0] = 0x80 | opcode;
  frame[1] = payload.length;
  payload.copy(frame, 2);
  return frame;
}
