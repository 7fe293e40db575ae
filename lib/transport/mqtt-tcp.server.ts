import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { MqttTrafficTotals } from '../metrics/traffic-totals.js';
import type { MqttBroker } from '../broker/mqtt-broker.js';
import type { MqttTcpListenerOptions } from '../interfaces/mqtt-ws-options.interface.js';
import type { ResolvedMqttWsOptions } from '../mqtt-ws-options.validator.js';
import type { HandshakeGuard } from '../security/handshake-guard.js';
import type { ConnectionTimers } from './connection-timers.js';
import { MqttTcpConnection, type TcpConnectionLimits } from './mqtt-tcp.connection.js';
import type { TransportConnection } from './transport-connection.js';

/**
 * One plain MQTT listener (`tcp` option): MQTT over TCP (mqtt://), or over TLS (mqtts://) when it
 * has `tls`. Each accepted socket is counted with every other connection of the module (the one
 * `maxConnections`, `maxConnectionsPerIp` from the accept), and handed to the broker as a stream.
 */
export class MqttTcpServer {
  private readonly server: Server;
  private readonly limits: TcpConnectionLimits;
  private closing = false;

  constructor(
    private readonly listener: MqttTcpListenerOptions,
    private readonly broker: MqttBroker,
    private readonly options: ResolvedMqttWsOptions,
    private readonly timers: ConnectionTimers<TransportConnection>,
    private readonly guard: HandshakeGuard,
    connectTimeout: number,
    private readonly traffic: MqttTrafficTotals,
  ) {
    this.limits = { maxPreConnectPayload: options.maxPreConnectPayload, connectTimeout, closeTimeout: options.closeTimeout };
    const tls = listener.tls;
    this.server = tls
      ? createTlsServer({ ...tls, handshakeTimeout: Math.min(tls.handshakeTimeout ?? options.handshakeTimeout, options.handshakeTimeout) } as TlsOptions)
      : createServer();
    // Node's own cap, per listener: it also bounds TLS handshakes in progress, which are not counted below until they complete.
    if (options.maxConnections > 0) this.server.maxConnections = options.maxConnections;
    this.server.on(tls ? 'secureConnection' : 'connection', this.accept);
    // A failed TLS handshake (an untrusted client certificate, plain MQTT on the TLS port) is that client's.
    this.server.on('tlsClientError', destroySocket);
  }

  get transport(): 'tcp' | 'tls' {
    return this.listener.tls ? 'tls' : 'tcp';
  }

  /** `mqtt://` or `mqtts://` with the address listened on; `null` when not listening. */
  get url(): string | null {
    const address = this.server.address() as AddressInfo | null;
    return address === null ? null : `${this.transport === 'tls' ? 'mqtts' : 'mqtt'}://${hostOf(address)}:${address.port}`;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  listen(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.listener.port, this.listener.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops accepting; resolves once every socket of this listener closed (the connections are ended by their shared shutdown). */
  close(): Promise<void> {
    this.closing = true;
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private readonly accept = (socket: Socket): void => {
    const maxConnections = this.options.maxConnections;
    if (this.closing || (maxConnections > 0 && this.timers.size >= maxConnections) || !this.guard.admitSocket(socket)) {
      socket.destroy();
      return;
    }
    const connection = new MqttTcpConnection(socket, this.limits, this.timers, this.traffic);
    this.broker.handle(connection, { transport: this.transport, socket });
  };
}

function destroySocket(_error: Error, socket: Socket): void {
  socket.destroy();
}

/** The host part of a URL for a listening address: IPv6 in brackets. */
export function hostOf(address: AddressInfo): string {
  return address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
}
