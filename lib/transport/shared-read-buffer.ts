import { Socket } from 'node:net';

/**
 * What a socket's reads are handed to: `bytes` is lent, valid only until this returns (the next
 * read of any socket overwrites it). Returning false stops reading until `socket.resume()`.
 */
export type LentBytesReader<S extends Socket> = (this: S, bytes: Buffer) => boolean;

/**
 * Node's own hooks for `net.connect({ onread })`, found on a socket by their descriptions: a
 * socket whose `kBuffer` is set gets its reads in that buffer, through `kBufferCb`, and never
 * pushes them through its Readable side (lib/internal/stream_base_commons.js, `onStreamRead`).
 * Accepted sockets have them too, set to null; `onread` itself is only an option of `connect()`.
 */
interface ReadHooks {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

/** libuv's suggested read size, as Node uses: one read takes at most this much. */
const READ_BUFFER_SIZE = 64 * 1024;

let hooks: ReadHooks | null | undefined;
let sharedBuffer: Buffer | undefined;

/**
 * Reads a plain TCP socket into one buffer shared by every socket of the process, instead of an
 * ArrayBuffer per read: the reads of a connection then cost the young generation no backing store
 * to allocate and sweep, and no pass through the socket's Readable (`push`, 'data', a tick per
 * read). Safe because a read is handed to its callback before the next read of any socket starts,
 * and the callback copies what it keeps. Returns false, leaving the socket as it was, when the
 * socket is not a plain TCP socket (TLS decrypts into buffers of its own) or this Node has not the
 * hooks (`readsThroughSharedBuffer()` says which, at start-up); the caller then listens for 'data'.
 */
export function readIntoSharedBuffer<S extends Socket>(socket: S, reader: LentBytesReader<S>): boolean {
  const found = readHooks();
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (buffer: Buffer) => void; constructor: { name: string } } })._handle;
  if (found === null || handle?.useUserBuffer === undefined || handle.constructor.name !== 'TCP' || (socket as { encrypted?: boolean }).encrypted) return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  if (fields[found.buffer] !== null || fields[found.generator] !== null) return false;
  const buffer = (sharedBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER_SIZE));
  fields[found.buffer] = buffer;
  fields[found.callback] = lengthCallbackOf(reader);
  handle.useUserBuffer(buffer);
  return true;
}

/** Node's callback gets the length and the whole buffer; one adapter per reader, not one per socket. */
const lengthCallbacks = new Map<LentBytesReader<Socket>, (this: Socket, length: number, into: Buffer) => boolean>();

function lengthCallbackOf<S extends Socket>(reader: LentBytesReader<S>): (this: Socket, length: number, into: Buffer) => boolean {
  const known = reader as unknown as LentBytesReader<Socket>;
  let callback = lengthCallbacks.get(known);
  if (callback === undefined) {
    callback = function (this: Socket, length: number, into: Buffer): boolean {
      return known.call(this, into.subarray(0, length));
    };
    lengthCallbacks.set(known, callback);
  }
  return callback;
}

/** A copy of lent bytes (`source[start, end)`), to keep: from Node's shared pool when small, so no ArrayBuffer of its own. */
export function keepBytes(source: Buffer, start = 0, end = source.length): Buffer {
  const kept = Buffer.allocUnsafe(end - start);
  source.copy(kept, 0, start, end);
  return kept;
}

/** Whether this Node has the hooks the shared read buffer needs; checked once at start-up, so a Node that dropped them is named in the log. */
export function readsThroughSharedBuffer(): boolean {
  return readHooks() !== null;
}

function readHooks(): ReadHooks | null {
  if (hooks !== undefined) return hooks;
  const probe = new Socket();
  const symbols = Object.getOwnPropertySymbols(probe);
  const named = (description: string) => symbols.find((symbol) => symbol.description === description && (probe as unknown as Record<symbol, unknown>)[symbol] === null);
  const buffer = named('kBuffer');
  const callback = named('kBufferCb');
  const generator = named('kBufferGen');
  const resumes = /\[kBuffer\][\s\S]*tryReadStart/.test(Socket.prototype.resume.toString());
  hooks = buffer && callback && generator && resumes ? { buffer, callback, generator } : null;
  probe.destroy();
  return hooks;
}
