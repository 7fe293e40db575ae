import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { WebSocket, RawData } from 'ws';
import { encodeBinaryFrame, type WritableChunk } from './binary-frame.js';

const BINARY = { binary: true, compress: false } as const;
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
   * never interleave: each is one write, and `ws` (compression off) writes its own control frames
   * the same way. Completes a write at once while the socket keeps up, so writes of the next tick
   * can join the next frame; once the socket's buffer passes the high-water mark, completes it
   * only when the frame reached the kernel, which is what makes Aedes wait for 'drain' with a
   * slow reader.
   */
  private send(frame: Buffer, callback: (error?: Error | null) => void): void {
    if (this.socket.readyState !== this.socket.OPEN) return callback();
    const raw = this.raw;
    if (raw === undefined) {
      this.socket.send(frame.subarray(frame[1] === 127 ? 10 : frame[1] === 126 ? 4 : 2), BINARY, callback);
      return;
    }
    if (this.socket.bufferedAmount < this.writableHighWaterMark) {
      raw.write(frame);
      callback();
    } else {
      raw.write(frame, callback);
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.close(1000);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.off('message', this.onMessage);
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      if (error) this.socket.terminate();
      else this.socket.close(1000);
    }
    callback(error);
  }
}
