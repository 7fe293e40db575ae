import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { MqttTrafficTotals } from '../metrics/traffic-totals.js';
import { encodeBinaryFrame, encodeControlFrame, encodeGatheredFrame, type WritableChunk } from './binary-frame.js';
import { CloseCode, closeCodeOf, withCloseCode } from './close-codes.js';
import type { ConnectionTimers } from './connection-timers.js';
import type { TransportConnection } from './transport-connection.js';
import { Opcode, WebSocketFrameReader, type FrameSink } from './websocket-frame-reader.js';
import { readIntoSharedBuffer } from './shared-read-buffer.js';
import { flushAtTurnEnd } from './turn-flush.js';

/** What a connection may make the server hold, and for how long (docs/security.md, "Budgets"). */
export interface WebSocketLimits {
  /** Largest message once the CONNECT is accepted. */
  maxPayload: number;
  /** Bytes a peer may send, in all, before its CONNECT is accepted (so also its largest message then). */
  maxPreConnectPayload: number;
  /** ms from the upgrade to the accepted CONNECT. */
  connectTimeout: number;
  /** ms a peer has to close TCP after the close frames; then the socket is destroyed. */
  closeTimeout: number;
}

/** TCP keepalive probes start after this long without traffic: a peer gone without a FIN is found even with WebSocket pings off. */
const TCP_KEEPALIVE_DELAY_MS = 60_000;
/** Pings a peer may send while its previous pong cannot be written (it does not read); one more closes it with 1008. */
const MAX_PINGS_WHILE_NOT_READING = 64;
/** A timer that fires within this much before a connection's CONNECT deadline is taken as that deadline (Aedes' own `connectTimeout`). */
const DEADLINE_SLACK_MS = 100;
/** A control frame's payload is at most 125 bytes, two of them the code. */
const MAX_CLOSE_REASON = 123;
const EMPTY = Buffer.alloc(0);
const PING = encodeControlFrame(Opcode.Ping, EMPTY);
/** `_write`'s one chunk as `_writev` would get it; encoding is synchronous, so one shared array serves all connections. */
const oneChunk: WritableChunk[] = [{ chunk: EMPTY, encoding: 'buffer' }];

/** The duplex a socket belongs to: socket listeners are shared functions, not closures per connection. */
const OWNER = Symbol('mqttWebSocket');
type OwnedSocket = Socket & { [OWNER]: WebSocketDuplex };

function onSocketData(this: OwnedSocket, chunk: Buffer): boolean {
  const connection = this[OWNER];
  connection.alive = true;
  connection.reader.read(chunk);
  return true;
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

/** The socket can take bytes again: the pong kept while the peer did not read goes out. */
function onSocketDrain(this: OwnedSocket): void {
  this[OWNER].writeDeferredPong();
}

/**
 * One MQTT-over-WebSocket connection after the handshake: the byte stream Aedes reads MQTT packets
 * from and writes them to, speaking RFC 6455 framing on the TCP (or TLS) socket itself.
 *
 * Reads: binary payloads are unmasked in place and pushed as they arrive (see WebSocketFrameReader).
 * Writes: mqtt-packet writes a packet in several small writes inside `cork()`/`uncork()`; the stream
 * keeps them and makes one binary frame of them at the uncork (`write`), header and payload in one
 * buffer, or Node hands them to `_writev` at once when they cannot be kept. Frames a connection gets
 * in one event-loop turn then leave in one socket write.
 */
export class WebSocketDuplex extends Duplex implements FrameSink, TransportConnection {
  readonly reader: WebSocketFrameReader;
  /** Frames encoded in this event-loop turn, not yet written: one, or several in an array; none between turns. */
  private pending: Buffer | Buffer[] | undefined;
  private pendingBytes = 0;
  private closeSent = false;
  /** The broker accepted this connection's CONNECT (`markConnected`). */
  private connected = false;
  /** `Date.now()` by which the CONNECT must be accepted, then the close handshake done; 0: none (read by the shared timer). */
  deadline: number;
  /** The peer sent something since the last ping round. */
  alive = true;
  /** The pong for the latest ping, kept while the socket cannot take it; earlier ones are dropped (RFC 6455 §5.5.3). */
  private deferredPong: Buffer | undefined;
  private pingsWhileNotReading = 0;
  /** What mqtt-packet wrote since it corked the stream, for one frame at its uncork (see `write`); none between packets. */
  private gathered: (Buffer | string)[] | undefined;
  private gatheredBytes = 0;
  /** Bytes the kept chunks may reach: the high-water mark less what was buffered when the first was kept. */
  private gatherRoom = 0;

  constructor(
    private readonly socket: Socket,
    head: Buffer,
    private readonly limits: WebSocketLimits,
    private readonly timers: ConnectionTimers<TransportConnection>,
    private readonly traffic: MqttTrafficTotals,
  ) {
    super({ allowHalfOpen: false, decodeStrings: false, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
    (socket as OwnedSocket)[OWNER] = this;
    const lentChunks = readIntoSharedBuffer(socket as OwnedSocket, onSocketData);
    this.reader = new WebSocketFrameReader(this, limits.maxPreConnectPayload, limits.maxPreConnectPayload, lentChunks);
    this.deadline = Date.now() + limits.connectTimeout;
    timers.add(this);
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, TCP_KEEPALIVE_DELAY_MS);
    if (!lentChunks) socket.on('data', onSocketData);
    // The HTTP server's sockets allow half-open connections, so the peer's FIN is only 'end'.
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
    socket.on('error', onSocketError);
    if (head.length > 0) this.reader.read(head);
    // Bytes the socket read before it was handed over, which its Readable side still holds.
    if (lentChunks) for (let chunk: Buffer | null; socket.readableLength > 0 && (chunk = socket.read() as Buffer | null) !== null; ) this.reader.read(chunk);
    socket.resume();
  }

  /** Bytes written and not yet taken by the kernel: what a slow reader leaves waiting. */
  get bufferedAmount(): number {
    return this.socket.writableLength + this.pendingBytes;
  }

  /** The broker accepted the CONNECT: the pre-CONNECT budget and deadline no longer apply. */
  markConnected(): void {
    if (this.connected) return;
    this.connected = true;
    this.reader.setLimits(this.limits.maxPayload, Infinity);
    if (!this.closeSent) this.deadline = 0;
  }

  onPayload(bytes: Buffer): void {
    this.traffic.bytesReceived += bytes.length;
    if (!this.push(bytes)) this.socket.pause();
  }

  onPing(payload: Buffer): void {
    if (this.closeSent) return;
    if (!this.socket.writableNeedDrain) {
      this.socket.write(encodeControlFrame(Opcode.Pong, payload));
      return;
    }
    // The peer does not read: keep one pong, for its latest ping, until the socket drains.
    if (++this.pingsWhileNotReading > MAX_PINGS_WHILE_NOT_READING) {
      this.destroy(withCloseCode(new Error('WebSocket: pings from a peer that does not read'), CloseCode.PolicyViolation));
      return;
    }
    if (this.deferredPong === undefined) this.socket.on('drain', onSocketDrain);
    this.deferredPong = encodeControlFrame(Opcode.Pong, payload);
  }

  onPong(): void {
    this.alive = true;
  }

  writeDeferredPong(): void {
    this.socket.off('drain', onSocketDrain);
    const pong = this.deferredPong;
    this.deferredPong = undefined;
    this.pingsWhileNotReading = 0;
    if (pong !== undefined && !this.closeSent) this.socket.write(pong);
  }

  /** The shared timer's ping round: a peer that sent nothing, not even a pong, since the last round is gone. */
  checkAlive(): void {
    if (this.closeSent) return;
    if (!this.alive) {
      // Nothing would read a close frame: the peer vanished without a FIN.
      this.closeSent = true;
      this.socket.destroy();
      return;
    }
    this.alive = false;
    if (!this.socket.writableNeedDrain) this.socket.write(PING);
  }

  /** The shared timer: the CONNECT was not accepted in time (1008), or the peer did not finish the close handshake. */
  expire(now: number): void {
    if (this.closeSent) {
      this.socket.destroy();
      return;
    }
    this.deadline = now;
    this.destroy(withCloseCode(new Error('WebSocket: no CONNECT accepted within connectTimeout'), CloseCode.PolicyViolation));
  }

  /** The peer closes: answer with its code, as RFC 6455 §5.5.1 asks, and end the stream. */
  onCloseFrame(code: number): void {
    this.sendClose(code === CloseCode.NoStatus ? CloseCode.Normal : code);
    this.push(null);
  }

  onFrameError(code: number, reason: string): void {
    this.sendClose(code, reason);
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
    this.timers.delete(this);
    if (this.deferredPong !== undefined) this.socket.off('drain', onSocketDrain);
    this.deferredPong = undefined;
    if (this.destroyed) return;
    this.push(null);
    this.destroy();
  }

  /**
   * mqtt-packet writes a packet in 5-6 small writes between `cork()` and an `uncork()` on the next
   * tick. Through Writable each would cost a buffered-write record and a pass through `_writev`; a
   * plain write in that window (no callback, a Buffer or UTF-8 string, nothing buffered in Writable
   * yet, room under the high-water mark) is only kept here, and the uncork sends what was kept as one
   * frame. Writable's answer would have been `true` for each, and is. Anything else goes through
   * Writable as before, after what was kept, so the order of the bytes never changes.
   */
  override write(chunk: unknown, encoding?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void): boolean {
    if (callback === undefined && (encoding === undefined || encoding === 'utf8')) {
      const length = typeof chunk === 'string' ? Buffer.byteLength(chunk) : Buffer.isBuffer(chunk) ? chunk.length : -1;
      // The stream's state is checked at a packet's first write; its next writes only count bytes.
      const kept = this.gathered;
      if (length >= 0 && (kept === undefined ? this.mayKeep(length) : this.gatheredBytes + length < this.gatherRoom)) {
        if (kept === undefined) this.gathered = [chunk as Buffer | string];
        else kept.push(chunk as Buffer | string);
        this.gatheredBytes += length;
        return true;
      }
    }
    this.releaseGathered();
    return super.write(chunk, encoding as BufferEncoding, callback);
  }

  /** Corked, nothing in Writable's buffer nor awaited 'drain', still writable, and room under the high-water mark. */
  private mayKeep(length: number): boolean {
    if (this.writableCorked === 0 || this.writableLength !== 0 || this.writableNeedDrain || !this.writable) return false;
    this.gatherRoom = this.writableHighWaterMark - this.bufferedAmount;
    return length < this.gatherRoom;
  }

  override uncork(): void {
    if (this.writableCorked === 1) this.sendGathered();
    super.uncork();
  }

  /** The kept chunks as one frame, now: the uncork that ends their packet (or `end()`'s). */
  private sendGathered(): void {
    const chunks = this.gathered;
    if (chunks === undefined) return;
    const bytes = this.gatheredBytes;
    this.gathered = undefined;
    this.gatheredBytes = 0;
    if (!this.destroyed) this.send(encodeGatheredFrame(chunks, bytes), noop);
  }

  /** Hands the kept chunks to Writable, ahead of a write that does not qualify, so that they stay first. */
  private releaseGathered(): void {
    const chunks = this.gathered;
    if (chunks === undefined) return;
    this.gathered = undefined;
    this.gatheredBytes = 0;
    for (const chunk of chunks) super.write(chunk);
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
    // A server frame is unmasked: its second byte is the payload length, or 126/127 for a longer header.
    if (this.closeSent || !this.socket.writable) return callback();
    this.traffic.bytesSent += frame.length - (frame[1] === 126 ? 4 : frame[1] === 127 ? 10 : 2);
    if (this.socket.writableLength + this.pendingBytes < this.writableHighWaterMark) {
      if (this.pending === undefined) flushAtTurnEnd(this);
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

  /**
   * Sends what is pending, then a close frame, and ends the TCP stream after it, so the peer reads
   * the frame before the FIN. The peer has `closeTimeout` (absolute) to close its side.
   */
  private sendClose(code: number, reason?: string): void {
    if (this.closeSent) return;
    this.flush();
    this.closeSent = true;
    this.deadline = Date.now() + this.limits.closeTimeout;
    if (!this.socket.writable) return;
    this.socket.end(encodeControlFrame(Opcode.Close, closePayload(code, reason)));
  }

  /** Server shutdown: 1001 (going away) after what is pending; the socket goes once the peer closes, or at `closeTimeout`. */
  goAway(): void {
    this.sendClose(CloseCode.GoingAway);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sendClose(CloseCode.Normal);
    callback();
  }

  /**
   * The stream ends (Aedes destroys it on a parse error, a refusal or a timeout): what was written
   * before (a refusing CONNACK, say) goes out, then a close frame with the error's `closeCode`
   * (close-codes.ts), 1002 for an error without one, 1008 when the CONNECT deadline passed, 1000
   * for a clean end.
   */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.closeSent) {
      const lateConnect = !this.connected && this.deadline !== 0 && Date.now() + DEADLINE_SLACK_MS >= this.deadline;
      this.sendClose(closeCodeOf(error, lateConnect ? CloseCode.PolicyViolation : CloseCode.ProtocolError), error?.message);
    }
    callback(error);
  }

  /** Ends the connection at once, without a close handshake (the shutdown deadline passed). */
  terminate(): void {
    this.closeSent = true;
    this.socket.destroy();
  }
}

function noop(): void {}

/** A close frame's payload: the code, then the reason (RFC 6455 §5.5.1), as printable ASCII so that a cut cannot break UTF-8. */
function closePayload(code: number, reason: string | undefined): Buffer {
  const text = reason === undefined ? '' : reason.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_CLOSE_REASON);
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  payload.write(text, 2, 'latin1');
  return payload;
}
