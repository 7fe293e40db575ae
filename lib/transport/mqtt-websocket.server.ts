import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Aedes } from 'aedes';
import { WebSocketServer, type VerifyClientCallbackAsync, type WebSocket } from 'ws';
import type { ResolvedMqttWsOptions } from '../mqtt-ws-options.validator.js';
import { HandshakeGuard } from '../security/handshake-guard.js';
import { selectMqttSubprotocol } from './mqtt-subprotocol.js';
import { WebSocketDuplex } from './websocket-duplex.js';

/** Completes MQTT WebSocket handshakes and hands each connection to the broker as a byte stream. */
export class MqttWebSocketServer {
  private readonly server: WebSocketServer;
  private readonly guard: HandshakeGuard;

  constructor(
    private readonly broker: Aedes,
    private readonly options: ResolvedMqttWsOptions,
  ) {
    this.guard = new HandshakeGuard(options);
    this.server = new WebSocketServer({
      noServer: true,
      clientTracking: true,
      maxPayload: options.maxPayload,
      // MQTT payloads are usually small or already compressed; deflate costs CPU and memory per socket.
      perMessageDeflate: false,
      verifyClient: this.verifyClient,
      handleProtocols: (protocols) => selectMqttSubprotocol([...protocols].join(',')) || false,
    });
  }

  get connectionCount(): number {
    return this.server.clients.size;
  }

  /** Open connections per client address; empty unless `maxConnectionsPerIp` is set. */
  get connectionsPerAddress(): ReadonlyMap<string, number> {
    return this.guard.connectionsPerAddress.byAddress;
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.server.handleUpgrade(request, socket, head, this.onConnection);
  }

  /** Ends every connection at once; used on shutdown, where waiting for close handshakes would hang. */
  close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private readonly verifyClient: VerifyClientCallbackAsync = ({ req }, accept) => {
    const refusal = this.guard.refusal(req, this.server.clients.size);
    if (refusal) return accept(false, refusal.status, refusal.message);
    const protocol = selectMqttSubprotocol(req.headers['sec-websocket-protocol']);
    if (protocol === null || (protocol === false && !this.options.allowMissingSubprotocol)) {
      return accept(false, 400, "MQTT over WebSocket requires the 'mqtt' subprotocol");
    }
    // Last, as it counts the connection when it lets it through.
    const overLimit = this.guard.admit(req);
    if (overLimit) return accept(false, overLimit.status, overLimit.message);
    accept(true);
  };

  private readonly onConnection = (socket: WebSocket, request: IncomingMessage): void => {
    this.broker.handle(new WebSocketDuplex(socket), request);
  };
}
