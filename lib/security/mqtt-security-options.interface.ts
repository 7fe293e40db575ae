import type { IncomingMessage } from 'node:http';
import type { MqttAuthOption } from './mqtt-auth-policy.interface.js';

/** `'*'`, a list of exact origins (`'https://app.example.com'`) and patterns, or a function of the origin. */
export type MqttOriginCheck = '*' | readonly (string | RegExp)[] | ((origin: string, request: IncomingMessage) => boolean);

/** The security options of `MqttWsModule`; docs/security.md explains each. */
export interface MqttSecurityOptions {
  /** Who may connect, publish, subscribe, receive: an injectable `MqttAuthPolicy`. Default: everyone, everything (but `$SYS/`). */
  auth?: MqttAuthOption;
  /**
   * Browser origins allowed to open the WebSocket; others get HTTP 403. Handshakes without an
   * `Origin` header (non-browser clients) are always allowed. Default: same origin only, to the
   * hosts of `allowedHosts`.
   */
  allowedOrigins?: MqttOriginCheck;
  /**
   * Without `allowedOrigins`, a browser handshake must be same-origin *and* sent to one of these host
   * names (`Host` header, no port; `'.example.com'` also matches its subdomains), or to an IP address
   * or `localhost`: a DNS-rebinding page cannot pass. Default: `[]` (IP addresses and `localhost` only).
   */
  allowedHosts?: readonly string[];
  /** Open MQTT connections at most; more handshakes get HTTP 503. 0 means no limit. Default 10000. */
  maxConnections?: number;
  /**
   * Open MQTT connections from one client address (behind `trustedProxies`) at most; more handshakes
   * from it get HTTP 429. 0 means no limit. Default 0: clients behind one NAT or proxy share an address.
   */
  maxConnectionsPerIp?: number;
  /** Largest MQTT packet (remaining length, bytes), however many frames carry it. Default: `maxPayload`. */
  maxPacketSize?: number;
  /** Longest topic a client may publish to or subscribe to, in characters. Default 1024. */
  maxTopicLength?: number;
  /**
   * Bytes a client that does not read may have waiting to be sent before it is disconnected (its
   * persistent session stays). Each waiting message also counts 128 bytes. 0 disables the limit
   * and a slow client holds deliveries to everyone until `drainTimeout`. Default 1 MiB.
   */
  maxBufferedBytes?: number;
  /** QoS 2 messages a client may have awaiting PUBREL; one more closes its connection. 0 means no limit. Aedes default 1000. */
  maxInflightInbound?: number;
  /**
   * Messages queued for one offline persistent session (clean session 0) since it went offline;
   * further ones are dropped until it reconnects, as Mosquitto's `max_queued_messages`. 0 means no
   * limit. With several instances, each counts what is published through it. Default 1000.
   */
  maxQueuedMessages?: number;
  /** IP addresses or CIDR ranges of reverse proxies whose `X-Forwarded-For` gives the client address. Default: none. */
  trustedProxies?: readonly string[];
  /**
   * Bytes a connection may send before its CONNECT is accepted, in all (so also its largest message
   * then); more closes it (1009 for one message, 1008 in all). Default 64 KiB, at most `maxPayload`.
   */
  maxPreConnectPayload?: number;
  /**
   * ms from a dedicated-port connection's first byte to its complete upgrade request; then the socket
   * is destroyed, however the bytes trickle in. Default 10000. (On the app's port, the app's HTTP
   * server's `headersTimeout` applies: see docs/security.md.)
   */
  handshakeTimeout?: number;
  /** ms a peer has, after the close frames, to close TCP; then the socket is destroyed. Also the longest shutdown waits for peers. Default 2000. */
  closeTimeout?: number;
  /** ms between WebSocket pings; a peer that sent nothing, not even a pong, between two is closed. 0: no pings. Default 30000. */
  pingInterval?: number;
}
