import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, Server as TlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { MqttBroker } from '../broker/mqtt-broker.js';
import { MQTT_BROKER, MQTT_WS_RESOLVED_OPTIONS } from '../mqtt-ws.constants.js';
import type { ResolvedMqttWsOptions } from '../mqtt-ws-options.validator.js';
import { MqttExplorer } from '../mqtt.explorer.js';
import { MqttWebSocketServer, type MqttTransportStats } from './mqtt-websocket.server.js';
import { hostOf, MqttTcpServer } from './mqtt-tcp.server.js';
import { readsThroughSharedBuffer } from './shared-read-buffer.js';
import { UpgradeRouter } from './upgrade-router.js';

/**
 * Opens the MQTT endpoints once every handler is bound (bootstrap comes after all `onModuleInit`):
 * WebSocket on the app's HTTP server or a dedicated port, and the plain MQTT `tcp` listeners; on
 * shutdown ends every connection before the broker closes, so that `app.close()` does not wait on
 * open connections.
 */
@Injectable()
export class MqttWsListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('MqttWsModule');
  private readonly webSocketServer: MqttWebSocketServer;
  private router: UpgradeRouter | undefined;
  private dedicatedServer: Server | undefined;
  /** The app's HTTP server, when MQTT shares it. */
  private sharedServer: Server | undefined;
  private readonly tcpServers: MqttTcpServer[];
  private closing: Promise<void> | undefined;

  constructor(
    @Inject(MQTT_BROKER) private readonly broker: MqttBroker,
    @Inject(MQTT_WS_RESOLVED_OPTIONS) private readonly options: ResolvedMqttWsOptions,
    private readonly httpAdapterHost: HttpAdapterHost,
    private readonly explorer: MqttExplorer,
  ) {
    this.webSocketServer = new MqttWebSocketServer(broker, options);
    const { timers, guard, connectTimeout, traffic } = this.webSocketServer;
    this.tcpServers = options.tcp.map((listener) => new MqttTcpServer(listener, broker, options, timers, guard, connectTimeout, traffic));
  }

  /**
   * The URLs MQTT is served on now: the WebSocket endpoint (`ws://` or `wss://`, on the app's server
   * once `app.listen()` resolved, or the dedicated port), then each `tcp` listener (`mqtt://`,
   * `mqtts://`), with the address each one listens on.
   */
  get endpoints(): string[] {
    const urls: string[] = [];
    const webSocketServer = this.dedicatedServer ?? this.sharedServer;
    const address = webSocketServer?.listening ? (webSocketServer.address() as AddressInfo | string | null) : null;
    if (address !== null && typeof address === 'object') {
      const secure = this.dedicatedServer ? this.options.tls !== undefined : webSocketServer instanceof TlsServer;
      urls.push(`${secure ? 'wss' : 'ws'}://${hostOf(address)}:${address.port}${this.options.path}`);
    }
    for (const server of this.tcpServers) {
      const url = server.url;
      if (url !== null) urls.push(url);
    }
    return urls;
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
    const { messages, events } = this.explorer.boundHandlers;
    this.logger.log(`Bound ${messages} MQTT message handler${messages === 1 ? '' : 's'} (@MqttSubscribe) and ${events} event handler${events === 1 ? '' : 's'} (@OnMqttEvent)`);
    if (!readsThroughSharedBuffer()) {
      this.logger.warn(
        `Node.js ${process.version} has not the socket read hooks of net.connect({ onread }) where this module looks for them ` +
          "(docs/design.md, \"Reads into one shared buffer\"): connections read through 'data' events, one buffer per read. Everything works; " +
          'please report the Node.js version.',
      );
    }
    try {
      await Promise.all(this.tcpServers.map((server) => server.listen()));
      if (this.options.port !== undefined) await this.listenOnDedicatedPort();
      else this.attachToAppServer();
    } catch (error) {
      // Nest runs no shutdown hook when bootstrap fails (a port in use): what was opened goes now.
      await (this.closing ??= this.close());
      throw error;
    }
    for (const server of this.tcpServers) this.logger.log(`MQTT over ${server.transport === 'tls' ? 'TLS' : 'TCP'} on ${server.url}`);
  }

  private attachToAppServer(): void {
    const httpServer: Server | undefined = this.httpAdapterHost?.httpAdapter?.getHttpServer();
    if (!httpServer) {
      if (this.tcpServers.length === 0) this.logger.warn('There is no HTTP server to serve MQTT on (an application context?); set the "port" or "tcp" option.');
      return;
    }
    this.sharedServer = httpServer;
    this.router = new UpgradeRouter(httpServer, this.options.path, this.onUpgrade);
    this.router.attach();
    // The app's server listens after bootstrap, in `app.listen()`: its URL is known then.
    if (httpServer.listening) this.logSharedEndpoint();
    else httpServer.once('listening', this.logSharedEndpoint);
  }

  private readonly logSharedEndpoint = (): void => {
    const url = this.endpoints[0];
    if (url !== undefined && !url.startsWith('mqtt')) this.logger.log(`MQTT over WebSocket on ${url}`);
  };

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
    this.logger.log(`MQTT over WebSocket on ${this.endpoints[0]}`);
  }

  private async close(): Promise<void> {
    this.router?.detach();
    // MQTT 5 clients learn why before the close frame (DISCONNECT 0x8B); the broker's seam, no broker here.
    this.broker.announceShutdown();
    this.sharedServer?.off('listening', this.logSharedEndpoint);
    // No new TCP connections; those open are ended with the others, below.
    const tcpClosed = Promise.all(this.tcpServers.map((server) => server.close()));
    await this.webSocketServer.close();
    await tcpClosed;
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
