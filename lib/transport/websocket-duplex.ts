import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { encodeBinaryFrame, encodeControlFrame, type WritableChunk } from './binary-frame.js';
import { CloseCode, Opcode, WebSocketFrameReader, type FrameSink } from './websocket-frame-reader.js';

/** How long a peer has to close its side after our close frame before the socket is destroyed. */
const CLOSE_TIMEOUT_MS = 10_000;
const EMPTY = Buffer.alloc(0);
/** `_write`'s one chunk as `_writev` would get it; encoding is synchronous, so one shared array serves all connections. */
const oneChunk: WritableChunk[] = [{ chunk: EMPTY, encoding: 'buffer' }];

/** Connections with frames waiting for the end of this event-loop turn, and whether that flush is scheduled. */
const waiting: WebSocketDuplex[] = [];
let flushScheduled = false;

function flushWaiting(): void {
  flushScheduled = false;
  for (let i = 0; i < waiting.length; i++) waiting[i].flush();
  waiting.length = 0;
}

/** The duplex a socket belongs to: socket listeners are shared functions, not closures per connection. */
const OWNER = Symbol('mqttWebSocket');
type OwnedSocket = Socket & { [OWNER]: WebSocketDuplex };

function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[OWNER].reader.read(chunk);
}

function onSocketEnd(this: OwnedSocket): void {
  this[OWNER].onSocketEnd();
}

function onSocketClose(this: OwnedSocket): void {
  this[OWNER].onSocketClose();
}

function onSocketError(this: OwnedSocket, error: Error): void {
  this[OWNER].destroy(error);
}

function destroySocket(this: Socket): void {
  this.destroy();
}

/**
 * One MQTT-over-WebSocket connection after the handshake: the byte stream Aedes reads MQTT packets
 * from and writes them to, speaking RFC 6455 framing on the TCP (or TLS) socket itself.
 *
 * Reads: binary payloads are unmasked in place and pushed as they arrive (see WebSocketFrameReader).
 * Writes: mqtt-packet writes a packet in several small writes inside `cork()`/`uncork()`, and Node
 * hands them to `_writev` at once, so each packet becomes one binary frame, header and payload in
 * one buffer. Frames a connection gets in one event-loop turn then leave in one socket write.
 */
export class WebSocketDuplex extends Duplex implements FrameSink {
  readonly reader: WebSocketFrameReader;
  /** Frames encoded in this event-loop turn, not yet written: one, or several in an array; none between turns. */
  private pending: Buffer | Buffer[] | undefined;
  private pendingBytes = 0;
  private closeSent = false;

  constructor(
    private readonly socket: Socket,
    head: Buffer,
    maxPayload: number,
    private readonly connections: Set<WebSocketDuplex>,
  ) {
    super({ allowHalfOpen: false, decodeStrings: false, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
    this.reader = new WebSocketFrameReader(this, maxPayload);
    connections.add(this);
    (socket as OwnedSocket)[OWNER] = this;
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.on('data', onSocketData);
    // The HTTP server's sockets allow half-open connections, so the peer's FIN is only 'end'.
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
    socket.on('error', onSocketError);
    if (head.length > 0) this.reader.read(head);
    socket.resume();
  }

  /** Bytes written and not yet taken by the kernel: what a slow reader leaves waiting. */
  get bufferedAmount(): number {
    return this.socket.writableLength + this.pendingBytes;
  }

  onPayload(bytes: Buffer): void {
    if (!this.push(bytes)) this.socket.pause();
  }

  onPing(payload: Buffer): void {
    if (!this.closeSent) this.socket.write(encodeControlFrame(Opcode.Pong, payload));
  }

  /** The peer closes: answer with its code, as RFC 6455 §5.5.1 asks, and end the stream. */
  onCloseFrame(code: number): void {
    this.sendClose(code === CloseCode.NoStatus ? CloseCode.Normal : code);
    this.push(null);
  }

  onFrameError(code: number, reason: string): void {
    this.sendClose(code);
    // A text frame is the client's mistake, not an error of the connection.
    this.destroy(code === CloseCode.UnsupportedData ? undefined : new Error(`WebSocket: ${reason}`));
  }

  /**
   * The peer closed its side of TCP: nothing more comes, and nothing sent would be read. The
   * socket goes at once, and the stream with it on 'close', after whoever counts sockets saw it.
   */
  onSocketEnd(): void {
    this.closeSent = true;
    this.socket.destroy();
  }

  onSocketClose(): void {
    if (this.destroyed) return;
    this.push(null);
    this.destroy();
  }

  override _read(): void {
    if (this.socket.isPaused()) this.socket.resume();
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    oneChunk[0].chunk = chunk;
    oneChunk[0].encoding = encoding;
    const frame = encodeBinaryFrame(oneChunk);
    oneChunk[0].chunk = EMPTY;
    this.send(frame, callback);
  }

  override _writev(chunks: WritableChunk[], callback: (error?: Error | null) => void): void {
    this.send(encodeBinaryFrame(chunks), callback);
  }

  /**
   * While the socket keeps up, a frame waits for the end of the event-loop turn and completes at
   * once: every packet a connection gets in one turn (a burst read from several publishers, one
   * message to many subscribers) then leaves in one socket write, one system call, where a TCP
   * socket makes one per packet. Once the socket's buffer passes the high-water mark, a write
   * completes only when its frame reached the kernel, which is what makes Aedes wait for
   * 'drain' with a slow reader.
   */
  private send(frame: Buffer, callback: (error?: Error | null) => void): void {
    if (this.closeSent || !this.socket.writable) return callback();
    if (this.socket.writableLength + this.pendingBytes < this.writableHighWaterMark) {
      if (this.pending === undefined) {
        waiting.push(this);
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flushWaiting);
        }
      }
      const pending = this.pending;
      if (pending === undefined) this.pending = frame;
      else if (Array.isArray(pending)) pending.push(frame);
      else this.pending = [pending, frame];
      this.pendingBytes += frame.length;
      callback();
    } else {
      this.flush();
      this.socket.write(frame, callback);
    }
  }

  /** Writes the frames waiting for the end of the turn, in one socket write. */
  flush(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    const bytes = this.pendingBytes;
    this.pending = undefined;
    this.pendingBytes = 0;
    // No data frame may follow a close frame.
    if (!this.closeSent && this.socket.writable) this.socket.write(Array.isArray(pending) ? Buffer.concat(pending, bytes) : pending);
  }

  /** Sends what is pending, then a close frame, and ends the TCP stream; the peer has a while to close its side. */
  private sendClose(code: number): void {
    if (this.closeSent) return;
    this.flush();
    this.closeSent = true;
    if (!this.socket.writable) return;
    const payload = Buffer.allocUnsafe(2);
    payload.writeUInt16BE(code, 0);
    this.socket.end(encodeControlFrame(Opcode.Close, payload));
    this.socket.setTimeout(CLOSE_TIMEOUT_MS, destroySocket);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sendClose(CloseCode.Normal);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.connections.delete(this);
    if (error && !this.closeSent) {
      // What was written before the failure (a refusing CONNACK, say) still goes out first.
      this.flush();
      this.socket.destroy();
    } else {
      this.sendClose(CloseCode.Normal);
    }
    callback(error);
  }

  /** Ends the connection at once, without a close handshake (server shutdown). */
  terminate(): void {
    this.closeSent = true;
    this.socket.destroy();
  }
}
