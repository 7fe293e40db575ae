import { Duplex } from 'node:stream';
import type { WebSocket, RawData } from 'ws';

const BINARY = { binary: true, compress: false } as const;
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
  constructor(private readonly socket: WebSocket) {
    super({ allowHalfOpen: false, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
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

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    if (chunks.length === 1) return this.send(chunks[0].chunk, callback);
    let length = 0;
    for (let i = 0; i < chunks.length; i++) length += chunks[i].chunk.length;
    const frame = Buffer.allocUnsafe(length);
    let offset = 0;
    for (let i = 0; i < chunks.length; i++) offset += chunks[i].chunk.copy(frame, offset);
    this.send(frame, callback);
  }

  /**
   * Completes a write at once while the socket keeps up, so writes of the next tick can join the
   * next frame; once the socket's own buffer passes the high-water mark, completes it only when
   * that frame reached the socket, which is what makes Aedes wait for 'drain' with a slow reader.
   */
  private send(frame: Buffer, callback: (error?: Error | null) => void): void {
    if (this.socket.readyState !== this.socket.OPEN) return callback();
    if (this.socket.bufferedAmount < this.writableHighWaterMark) {
      this.socket.send(frame, BINARY);
      callback();
    } else {
      this.socket.send(frame, BINARY, callback);
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
