import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { MqttBroker } from '../broker/mqtt-broker.js';
import type { ResolvedMqttWsOptions } from '../mqtt-ws-options.validator.js';
import { HandshakeGuard } from '../security/handshake-guard.js';
import { selectMqttSubprotocol } from './mqtt-subprotocol.js';
import { keepUpgradeRequest } from './upgrade-request.js';
import { WebSocketDuplex } from './websocket-duplex.js';
import { acceptHandshake, handshakeRequestRefusal, refuseHandshake, type HandshakeRefusal } from './websocket-handshake.js';

const SHUTTING_DOWN: HandshakeRefusal = { status: 503, message: 'The MQTT server is shutting down' };
const SUBPROTOCOL_REQUIRED: HandshakeRefusal = { status: 400, message: "MQTT over WebSocket requires the 'mqtt' subprotocol" };

/**
 * Completes MQTT WebSocket handshakes and hands each connection to the broker as a byte stream.
 * No compression is offered: MQTT payloads are small or already compressed, and deflate costs CPU
 * and memory per socket.
 */
export class MqttWebSocketServer {
  private readonly guard: HandshakeGuard;
  private readonly connections = new Set<WebSocketDuplex>();
  private closing = false;

  constructor(
    private readonly broker: MqttBroker,
    private readonly options: ResolvedMqttWsOptions,
  ) {
    this.guard = new HandshakeGuard(options);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Open connections per client address; empty unless `maxConnectionsPerIp` is set. */
  get connectionsPerAddress(): ReadonlyMap<string, number> {
    return this.guard.connectionsPerAddress.byAddress;
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Errors of a socket that is being refused (a reset while the answer goes out) are that client's.
    socket.on('error', destroyOnError);
    const protocol = selectMqttSubprotocol(request.headers['sec-websocket-protocol']);
    const refusal =
      (this.closing ? SHUTTING_DOWN : undefined) ??
      handshakeRequestRefusal(request) ??
      this.guard.refusal(request, this.connections.size) ??
      (protocol === null || (protocol === false && !this.options.allowMissingSubprotocol) ? SUBPROTOCOL_REQUIRED : undefined);
    if (refusal) return refuseHandshake(socket, refusal);
    if (!socket.readable || !socket.writable) return void socket.destroy();
    // Last, as it counts the connection when it lets it through.
    const overLimit = this.guard.admit(request);
    if (overLimit) return refuseHandshake(socket, overLimit);
    socket.off('error', destroyOnError);
    acceptHandshake(socket, request, protocol || '');
    const connection = new WebSocketDuplex(socket as Socket, head, this.options.maxPayload, this.connections);
    this.broker.handle(connection, keepUpgradeRequest(request));
  }

  /** Ends every connection at once; used on shutdown, where waiting for close handshakes would hang. */
  async close(): Promise<void> {
    this.closing = true;
    for (const connection of this.connections) connection.terminate();
    this.connections.clear();
  }
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}
