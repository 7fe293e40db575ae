import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { MqttBroker } from '../broker/mqtt-broker.js';
import type { ResolvedMqttWsOptions } from '../mqtt-ws-options.validator.js';
import { HandshakeGuard } from '../security/handshake-guard.js';
import type { MqttTrafficTotals } from '../metrics/traffic-totals.js';
import { DEFAULT_CONNECT_TIMEOUT } from '../security/mqtt-security-options.validator.js';
import { ConnectionTimers } from './connection-timers.js';
import { MqttTcpConnection } from './mqtt-tcp.connection.js';
import type { TransportConnection } from './transport-connection.js';
import { selectMqttSubprotocol } from './mqtt-subprotocol.js';
import { keepUpgradeRequest } from './upgrade-request.js';
import { WebSocketDuplex, type WebSocketLimits } from './websocket-duplex.js';
import { acceptHandshake, handshakeRequestRefusal, refuseHandshake, type HandshakeRefusal } from './websocket-handshake.js';

const SHUTTING_DOWN: HandshakeRefusal = { status: 503, message: 'The MQTT server is shutting down' };
const SUBPROTOCOL_REQUIRED: HandshakeRefusal = { status: 400, message: "MQTT over WebSocket requires the 'mqtt' subprotocol" };

/**
 * Completes MQTT WebSocket handshakes and hands each connection to the broker as a byte stream.
 * No compression is offered: MQTT payloads are small or already compressed, and deflate costs CPU
 * and memory per socket. It also holds what every listener shares (the TCP ones of mqtt-tcp.server.ts
 * use them): the one count and timer of all connections, the per-address guard, and shutdown.
 */
export class MqttWebSocketServer {
  readonly guard: HandshakeGuard;
  private readonly limits: WebSocketLimits;
  readonly timers: ConnectionTimers<TransportConnection>;
  private closing = false;
  /** MQTT bytes of every listener, WebSocket and TCP (the TCP servers add theirs). */
  readonly traffic: MqttTrafficTotals = { bytesReceived: 0, bytesSent: 0, handshakesRefused: 0 };

  constructor(
    private readonly broker: MqttBroker,
    private readonly options: ResolvedMqttWsOptions,
  ) {
    this.guard = new HandshakeGuard(options);
    this.limits = {
      maxPayload: options.maxPayload,
      maxPreConnectPayload: options.maxPreConnectPayload,
      connectTimeout: options.connectTimeout || DEFAULT_CONNECT_TIMEOUT,
      closeTimeout: options.closeTimeout,
    };
    this.timers = new ConnectionTimers({
      pingInterval: options.pingInterval,
      shortestDeadline: Math.min(options.handshakeTimeout, this.limits.connectTimeout, options.closeTimeout),
    });
    // The one place the transport hears from the broker (with its `off` in `close`): the
    // pre-CONNECT budget and deadline end when the broker accepts the CONNECT.
    broker.on('connectionAccepted', markConnected);
  }

  /** ms from a connection's start to its accepted CONNECT. */
  get connectTimeout(): number {
    return this.limits.connectTimeout;
  }

  /** Connections in every state, of every listener: handshakes in progress (dedicated port), before CONNECT, connected, closing. */
  get connectionCount(): number {
    return this.timers.size;
  }

  /** What the connections hold, for tests and monitoring. */
  get stats(): MqttTransportStats {
    let bufferedBytes = 0;
    let readableBytes = 0;
    for (const connection of this.timers.connections) {
      bufferedBytes += connection.bufferedAmount;
      readableBytes += connection.readableLength;
    }
    const { bytesReceived, bytesSent, handshakesRefused } = this.traffic;
    const { handshakes, connections } = this.timers;
    return { handshakes: handshakes.size, connections: connections.size, bufferedBytes, readableBytes, bytesReceived, bytesSent, handshakesRefused };
  }

  /**
   * A socket of the dedicated port, before its HTTP request is complete: counted against
   * `maxConnections` and `maxConnectionsPerIp`, and destroyed at `handshakeTimeout` however its bytes trickle in.
   */
  trackHandshake(socket: Socket): void {
    const maxConnections = this.options.maxConnections;
    if (this.closing || (maxConnections > 0 && this.timers.size >= maxConnections) || !this.guard.admitSocket(socket)) {
      this.traffic.handshakesRefused++;
      socket.destroy();
      return;
    }
    this.timers.addHandshake(socket, Date.now() + this.options.handshakeTimeout);
    (socket as HandshakeSocket)[TIMERS] = this.timers;
    socket.on('close', onHandshakeSocketClose);
  }

  /** Open connections per client address; empty unless `maxConnectionsPerIp` is set. */
  get connectionsPerAddress(): ReadonlyMap<string, number> {
    return this.guard.connectionsPerAddress.byAddress;
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // From here the connection is counted as upgraded, or refused.
    this.timers.deleteHandshake(socket as Socket);
    socket.off('close', onHandshakeSocketClose);
    // Errors of a socket that is being refused (a reset while the answer goes out) are that client's.
    socket.on('error', destroyOnError);
    const protocol = selectMqttSubprotocol(request.headers['sec-websocket-protocol']);
    const refusal =
      (this.closing ? SHUTTING_DOWN : undefined) ??
      handshakeRequestRefusal(request) ??
      this.guard.refusal(request, this.timers.size) ??
      (protocol === null || (protocol === false && !this.options.allowMissingSubprotocol) ? SUBPROTOCOL_REQUIRED : undefined);
    if (refusal) return this.refuse(socket, refusal);
    if (!socket.readable || !socket.writable) return void socket.destroy();
    // Last, as it counts the connection when it lets it through.
    const overLimit = this.guard.admit(request);
    if (overLimit) return this.refuse(socket, overLimit);
    socket.off('error', destroyOnError);
    acceptHandshake(socket, request, protocol || '');
    const connection = new WebSocketDuplex(socket as Socket, head, this.limits, this.timers, this.traffic);
    this.broker.handle(connection, keepUpgradeRequest(request));
  }

  private refuse(socket: Duplex, refusal: HandshakeRefusal): void {
    this.traffic.handshakesRefused++;
    refuseHandshake(socket, refusal);
  }

  /**
   * Shutdown: every connection gets a close frame 1001 (going away) after what was pending, and its
   * peer `closeTimeout` to close TCP; what is left then is destroyed. Handshakes in progress are dropped.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.broker.off('connectionAccepted', markConnected);
    for (const socket of this.timers.handshakes.keys()) socket.destroy();
    for (const connection of this.timers.connections) connection.goAway();
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([this.timers.idle(), new Promise<void>((resolve) => (deadline = setTimeout(resolve, this.options.closeTimeout)))]);
    clearTimeout(deadline);
    for (const connection of this.timers.connections) connection.terminate();
  }
}

/** What the connections of the MQTT endpoint hold. */
export interface MqttTransportStats {
  /** Dedicated-port sockets whose upgrade request is not complete. */
  handshakes: number;
  /** Upgraded WebSocket connections and TCP/TLS connections, in every state until their socket closes. */
  connections: number;
  /** Bytes written to connections and not yet taken by the kernel. */
  bufferedBytes: number;
  /** Bytes read from connections and not yet taken by the MQTT parser. */
  readableBytes: number;
  /** MQTT bytes read and written since start-up (binary frame payloads). */
  bytesReceived: number;
  bytesSent: number;
  /** Connections refused before they became MQTT connections: an HTTP refusal of the upgrade, or a socket over the limits at accept. */
  handshakesRefused: number;
}

/** The timers a dedicated-port socket is counted in until it upgrades: a shared listener, no closure kept per connection. */
const TIMERS = Symbol('mqttHandshakeTimers');
type HandshakeSocket = Socket & { [TIMERS]?: ConnectionTimers<TransportConnection> };

function onHandshakeSocketClose(this: HandshakeSocket): void {
  this[TIMERS]?.deleteHandshake(this);
}

function markConnected(stream: Duplex): void {
  if (stream instanceof WebSocketDuplex || stream instanceof MqttTcpConnection) stream.markConnected();
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}
