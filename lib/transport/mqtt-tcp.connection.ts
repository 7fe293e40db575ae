import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { MqttTrafficTotals } from '../metrics/traffic-totals.js';
import type { WritableChunk } from './binary-frame.js';
import type { ConnectionTimers } from './connection-timers.js';
import { keepBytes, readIntoSharedBuffer } from './shared-read-buffer.js';
import type { TransportConnection } from './transport-connection.js';
import { flushAtTurnEnd } from './turn-flush.js';

/** What a TCP connection may make the server hold, and for how long (docs/security.md, "Budgets"). */
export interface TcpConnectionLimits {
  /** Bytes a peer may send, in all, before its CONNECT is accepted. */
  maxPreConnectPayload: number;
  /** ms from the TCP (or TLS) accept to the accepted CONNECT. */
  connectTimeout: number;
  /** ms a peer has to close TCP after the server's FIN; then the socket is destroyed. */
  closeTimeout: number;
}

/** As for WebSocket: a peer gone without a FIN is found by the kernel's probes after this long idle. */
const TCP_KEEPALIVE_DELAY_MS = 60_000;
const HIGH_WATER_MARK = 64 * 1024;

/** The connection a socket belongs to: socket listeners are shared functions, not closures per connection. */
const OWNER = Symbol('mqttTcpConnection');
type OwnedSocket = Socket & { [OWNER]: MqttTcpConnection };

function onSocketData(this: OwnedSocket, chunk: Buffer): boolean {
  this[OWNER].onData(chunk);
  return true;
}

function onSocketEnd(this: OwnedSocket): void {
  // The peer closed its side: nothing more comes, and MQTT has no half-closed state.
  this.destroy();
}

function onSocketClose(this: OwnedSocket): void {
  this[OWNER].onSocketClose();
}

function onSocketError(this: OwnedSocket, error: Error): void {
  this[OWNER].destroy(error);
}

/**
 * One MQTT connection on a TCP or TLS socket: the stream the broker reads packets from and writes
 * them to. MQTT's bytes pass as they are, but through this stream, so that TCP gets the budgets of
 * WebSocket in the transport, where the bytes are: `maxPreConnectPayload` bytes in all before the
 * CONNECT is accepted (counted per read, so a peer that announces a large packet is cut once it
 * has sent that many, however it splits them), the absolute CONNECT deadline on the shared timer,
 * one count with every other connection. Writes: mqtt-packet writes a packet in several pieces
 * inside `cork()`, which Node hands to `_writev` together: one buffer per packet; the packets a
 * connection gets in one event-loop turn then leave in one system call, as on WebSocket.
 */
export class MqttTcpConnection extends Duplex implements TransportConnection {
  /** `Date.now()` by which the CONNECT must be accepted, then the close done; 0: none (read by the shared timer). */
  deadline: number;
  /** Bytes the peer may still send before its CONNECT is accepted. */
  private preConnectBudget: number;
  private connected = false;
  private closing = false;
  /** Packets encoded in this event-loop turn, not yet written: one, or several in an array; none between turns. */
  private pending: Buffer | Buffer[] | undefined;
  private pendingBytes = 0;
  /** The socket reads into the process' shared buffer (shared-read-buffer.ts): what is pushed is a copy. */
  private readonly lentReads: boolean;

  constructor(
    private readonly socket: Socket,
    private readonly limits: TcpConnectionLimits,
    private readonly timers: ConnectionTimers<TransportConnection>,
    private readonly traffic: MqttTrafficTotals,
  ) {
    super({ allowHalfOpen: false, decodeStrings: false, readableHighWaterMark: HIGH_WATER_MARK, writableHighWaterMark: HIGH_WATER_MARK });
    this.preConnectBudget = limits.maxPreConnectPayload;
    this.deadline = Date.now() + limits.connectTimeout;
    timers.add(this);
    (socket as OwnedSocket)[OWNER] = this;
    this.lentReads = readIntoSharedBuffer(socket as OwnedSocket, onSocketData);
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, TCP_KEEPALIVE_DELAY_MS);
    if (!this.lentReads) socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
    socket.on('error', onSocketError);
  }

  get bufferedAmount(): number {
    return this.socket.writableLength + this.pendingBytes;
  }

  onData(chunk: Buffer): void {
    if (this.destroyed) return;
    if (!this.connected && (this.preConnectBudget -= chunk.length) < 0) {
      // Nothing to tell a peer that sends this much unauthenticated: its socket goes at once.
      this.destroy(new Error(`MQTT: more than ${this.limits.maxPreConnectPayload} bytes (maxPreConnectPayload) before the CONNECT was accepted`));
      this.socket.destroy();
      return;
    }
    this.traffic.bytesReceived += chunk.length;
    if (!this.push(this.lentReads ? keepBytes(chunk) : chunk)) this.socket.pause();
  }

  markConnected(): void {
    if (this.connected) return;
    this.connected = true;
    if (!this.closing) this.deadline = 0;
  }

  /** TCP has no pings of its own to send: MQTT keepalive and TCP keepalive find dead peers. */
  checkAlive(): void {}

  /** The shared timer: the CONNECT was not accepted in time, or the peer did not close after the server's FIN. */
  expire(now: number): void {
    if (this.closing) {
      this.socket.destroy();
      return;
    }
    this.destroy(new Error('MQTT: no CONNECT accepted within connectTimeout'));
    this.socket.destroy();
  }

  goAway(): void {
    this.close();
  }

  terminate(): void {
    this.closing = true;
    this.pending = undefined;
    this.pendingBytes = 0;
    this.socket.destroy();
  }

  onSocketClose(): void {
    this.timers.delete(this);
    if (this.destroyed) return;
    this.push(null);
    this.destroy();
  }

  override _read(): void {
    if (this.socket.isPaused()) this.socket.resume();
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk, callback);
  }

  /** The pieces of one packet (topic strings written straight in, `decodeStrings: false`), as one buffer. */
  override _writev(chunks: WritableChunk[], callback: (error?: Error | null) => void): void {
    let length = 0;
    for (let i = 0; i < chunks.length; i++) {
      const { chunk, encoding } = chunks[i];
      length += typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding as BufferEncoding) : chunk.length;
    }
    const bytes = Buffer.allocUnsafe(length);
    let offset = 0;
    for (let i = 0; i < chunks.length; i++) {
      const { chunk, encoding } = chunks[i];
      if (typeof chunk === 'string') offset += bytes.write(chunk, offset, encoding as BufferEncoding);
      else offset += chunk.copy(bytes, offset);
    }
    this.send(bytes, callback);
  }

  /**
   * While the socket keeps up, a packet waits for the end of the event-loop turn and its write
   * completes at once: the packets of one turn leave together. Past the high-water mark a write
   * completes when its bytes reached the kernel, so `write()` returns false and the broker waits
   * for 'drain' (then `maxBufferedBytes` and `drainTimeout` apply, as on WebSocket).
   */
  private send(bytes: Buffer, callback: (error?: Error | null) => void): void {
    if (this.closing || !this.socket.writable) return callback();
    this.traffic.bytesSent += bytes.length;
    if (this.socket.writableLength + this.pendingBytes < HIGH_WATER_MARK) {
      const pending = this.pending;
      if (pending === undefined) {
        this.pending = bytes;
        flushAtTurnEnd(this);
      } else if (Array.isArray(pending)) pending.push(bytes);
      else this.pending = [pending, bytes];
      this.pendingBytes += bytes.length;
      callback();
    } else {
      this.flush();
      this.socket.write(bytes, callback);
    }
  }

  /** Writes the packets waiting for the end of the turn: several in one `writev`, without copying them together. */
  flush(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    this.pendingBytes = 0;
    if (!this.socket.writable) return;
    if (!Array.isArray(pending)) {
      this.socket.write(pending);
      return;
    }
    this.socket.cork();
    for (let i = 0; i < pending.length; i++) this.socket.write(pending[i]);
    this.socket.uncork();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.close();
    callback();
  }

  /**
   * The broker ends the stream (a refusing CONNACK, a protocol error, a timeout): what was written
   * before goes out, then the FIN. MQTT 3.1.1 has nothing to send on a protocol error.
   */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.close();
    callback(error);
  }

  /** Ends the socket after what is pending; the peer has `closeTimeout` (absolute) to close its side. */
  private close(): void {
    if (this.closing) return;
    this.flush();
    this.closing = true;
    this.deadline = Date.now() + this.limits.closeTimeout;
    if (this.socket.writable) this.socket.end();
    else this.socket.destroy();
  }
}
