import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { MqttBroker } from '../broker/mqtt-broker.js';
import { MQTT_BROKER, MQTT_WS_RESOLVED_OPTIONS } from '../mqtt-ws.constants.js';
import type { ResolvedMqttWsOptions } from '../mqtt-ws-options.validator.js';
import { MqttWebSocketServer, type MqttTransportStats } from './mqtt-websocket.server.js';
import { UpgradeRouter } from './upgrade-router.js';

/**
 * Opens the MQTT endpoint once every handler is bound (bootstrap comes after all `onModuleInit`),
 * on the app's HTTP server or a dedicated port, and on shutdown ends every connection before the
 * broker closes, so that `app.close()` does not wait on open WebSockets.
 */
@Injectable()
export class MqttWsListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('MqttWsModule');
  private readonly webSocketServer: MqttWebSocketServer;
  private router: UpgradeRouter | undefined;
  private dedicatedServer: Server | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    @Inject(MQTT_BROKER) private readonly broker: MqttBroker,
    @Inject(MQTT_WS_RESOLVED_OPTIONS) private readonly options: ResolvedMqttWsOptions,
    private readonly httpAdapterHost: HttpAdapterHost,
  ) {
    this.webSocketServer = new MqttWebSocketServer(broker, options);
  }

  /** The dedicated server's address, or `null` when MQTT shares the app's HTTP server. */
  get address(): AddressInfo | null {
    return (this.dedicatedServer?.address() as AddressInfo | null) ?? null;
  }

  get connectionCount(): number {
    return this.webSocketServer.connectionCount;
  }

  /** Open connections per client address; empty unless `maxConnectionsPerIp` is set. */
  get connectionsPerAddress(): ReadonlyMap<string, number> {
    return this.webSocketServer.connectionsPerAddress;
  }

  /** What the endpoint's connections hold: handshakes, connections, bytes waiting each way. */
  get transportStats(): MqttTransportStats {
    return this.webSocketServer.stats;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.port !== undefined) return this.listenOnDedicatedPort();
    const httpServer: Server | undefined = this.httpAdapterHost?.httpAdapter?.getHttpServer();
    if (!httpServer) {
      this.logger.warn('There is no HTTP server to serve MQTT on (an application context?); set the "port" option.');
      return;
    }
    this.router = new UpgradeRouter(httpServer, this.options.path, this.onUpgrade);
    this.router.attach();
  }

  beforeApplicationShutdown(): Promise<void> {
    return (this.closing ??= this.close());
  }

  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.webSocketServer.handleUpgrade(request, socket, head);
  };

  private async listenOnDedicatedPort(): Promise<void> {
    const timeout = this.options.handshakeTimeout;
    // Node's own limits on the request head, which our handshake deadline makes absolute.
    const httpOptions = { headersTimeout: timeout, requestTimeout: timeout };
    const tls = this.options.tls;
    const server: Server = tls
      ? createTlsServer({ ...tls, ...httpOptions, handshakeTimeout: Math.min(tls.handshakeTimeout ?? timeout, timeout) }, answerPlainRequest)
      : createServer(httpOptions, answerPlainRequest);
    // Counted and timed from the first byte (after the TLS handshake, which has its own deadline).
    server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => this.webSocketServer.trackHandshake(socket));
    this.dedicatedServer = server;
    this.router = new UpgradeRouter(server, this.options.path, this.onUpgrade);
    this.router.attach();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { address, port } = server.address() as AddressInfo;
    this.logger.log(`MQTT over WebSocket on ${tls ? 'wss' : 'ws'}://${address}:${port}${this.options.path}`);
  }

  private async close(): Promise<void> {
    this.router?.detach();
    // MQTT 5 clients learn why before the close frame (DISCONNECT 0x8B); the broker's seam, no broker here.
    this.broker.announceShutdown();
    await this.webSocketServer.close();
    if (this.dedicatedServer?.listening) {
      const server = this.dedicatedServer;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.broker.close();
  }
}

function answerPlainRequest(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
  response.end('This port serves MQTT over WebSocket.\n');
}
