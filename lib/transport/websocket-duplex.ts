import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { WebSocket, RawData } from 'ws';
import { encodeBinaryFrame, type WritableChunk } from './binary-frame.js';

const BINARY = { binary: true, compress: false } as const;

/** Connections with frames waiting for the end of this event-loop turn, and whether that flush is scheduled. */
const waiting: WebSocketDuplex[] = [];
let flushScheduled = false;

function flushWaiting(): void {
  flushScheduled = false;
  for (let i = 0; i < waiting.length; i++) waiting[i].flush();
  waiting.length = 0;
}

const EMPTY = Buffer.alloc(0);
/** RFC 6455 close code 1003: the endpoint received a type of data it cannot accept. */
const UNSUPPORTED_DATA = 1003;

/**
 * The byte stream Aedes reads MQTT packets from and writes them to, over one WebSocket.
 *
 * mqtt-packet writes a packet in several small writes inside `cork()`/`uncork()`, and Node hands
 * all writes of a corked tick to `_writev` at once: sending them as one binary frame makes one
 * frame per packet (or per burst of packets), where a stream that sends each write as a frame
 * (`createWebSocketStream`) sends five for a QoS 0 PUBLISH. Reads go the other way with no
 * framing of their own: MQTT's parser does not care where frames split its packets.
 */
export class WebSocketDuplex extends Duplex {
  /** The TCP (or TLS) socket under the WebSocket; `ws` 8 keeps it as `_socket`. */
  private readonly raw: Socket | undefined;
  private readonly oneChunk: WritableChunk[] = [{ chunk: EMPTY, encoding: 'buffer' }];
  /** Frames encoded in this event-loop turn, not yet written; allocated on first use, so idle connections hold none. */
  private pending: Buffer[] | undefined;
  private pendingBytes = 0;
  constructor(private readonly socket: WebSocket) {
    // Strings (mqtt-packet writes topics as strings) are encoded straight into the frame.
    super({ allowHalfOpen: false, decodeStrings: false, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
    this.raw = (socket as unknown as { _socket?: Socket })._socket;
    socket.on('message', this.onMessage);
    socket.once('close', this.onClose);
    socket.on('error', this.onError);
  }

  private readonly onMessage = (data: RawData, isBinary: boolean): void => {
    if (!isBinary) {
      // MQTT over WebSocket MUST use binary frames (MQTT 3.1.1 section 6); a text frame ends the connection.
      this.socket.close(UNSUPPORTED_DATA, 'MQTT needs binary frames');
      this.destroy();
      return;
    }
    // `binaryType` is 'nodebuffer', so data is one Buffer.
    if (!this.push(data as Buffer)) this.socket.pause();
  };

  private readonly onClose = (): void => {
    this.push(null);
    if (!this.destroyed) this.destroy();
  };

  private readonly onError = (error: Error): void => {
    this.destroy(error);
  };

  override _read(): void {
    if (this.socket.isPaused) this.socket.resume();
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.oneChunk[0].chunk = chunk;
    this.oneChunk[0].encoding = encoding;
    this.send(encodeBinaryFrame(this.oneChunk), callback);
    this.oneChunk[0].chunk = EMPTY;
  }

  override _writev(chunks: WritableChunk[], callback: (error?: Error | null) => void): void {
    this.send(encodeBinaryFrame(chunks), callback);
  }

  /**
   * Writes a whole frame to the TCP socket under `ws`, as `ws` itself would, but without its
   * per-message work: the frame is already encoded, header and payload in one buffer. Frames
   * never interleave: each is whole, and `ws` (compression off) writes its own control frames
   * whole too.
   *
   * While the socket keeps up, a frame waits for the end of the event-loop turn and completes at
   * once: every packet a connection gets in one turn (a burst read from several publishers, one
   * message to many subscribers) then leaves in one socket write, one system call, where a TCP
   * socket makes one per packet. Once the socket's buffer passes the high-water mark, a write
   * completes only when its frame reached the kernel, which is what makes Aedes wait for
   * 'drain' with a slow reader.
   */
  private send(frame: Buffer, callback: (error?: Error | null) => void): void {
    if (this.socket.readyState !== this.socket.OPEN) return callback();
    const raw = this.raw;
    if (raw === undefined) {
      this.socket.send(frame.subarray(frame[1] === 127 ? 10 : frame[1] === 126 ? 4 : 2), BINARY, callback);
      return;
    }
    if (this.socket.bufferedAmount + this.pendingBytes < this.writableHighWaterMark) {
      if (this.pendingBytes === 0) {
        waiting.push(this);
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flushWaiting);
        }
      }
      (this.pending ??= []).push(frame);
      this.pendingBytes += frame.length;
      callback();
    } else {
      this.flush();
      raw.write(frame, callback);
    }
  }

  /** Writes the frames waiting for the end of the turn, in one socket write. */
  flush(): void {
    const pending = this.pending;
    if (this.pendingBytes === 0 || pending === undefined) return;
    const bytes = this.pendingBytes;
    this.pendingBytes = 0;
    // Once a close frame went out (ours or the answer to the peer's), no data frame may follow it.
    if (this.socket.readyState === this.socket.OPEN) {
      this.raw!.write(pending.length === 1 ? pending[0] : Buffer.concat(pending, bytes));
    }
    pending.length = 0;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flush();
    this.socket.close(1000);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.off('message', this.onMessage);
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      // What was written before the end (a refusing CONNACK, say) still goes out first.
      this.flush();
      if (error) this.socket.terminate();
      else this.socket.close(1000);
    }
    callback(error);
  }
}
