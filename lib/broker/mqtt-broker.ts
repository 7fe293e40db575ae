import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PeerCertificate } from 'node:tls';
import type { MqttUpgradeRequest } from '../interfaces/mqtt-upgrade-request.interface.js';
import type { MqttPublishProperties, MqttReason, MqttReasonCode } from '../interfaces/mqtt5.interface.js';

/*
 * The broker as the rest of the library sees it. Nothing outside lib/broker/aedes/ knows which MQTT
 * broker implements it: these are the project's own types, written for MQTT 3.1.1 and open to the
 * fields MQTT 5 adds. The objects behind them are the broker's own (no copy per message): a
 * `MqttPublishPacket` is the packet the broker routes, typed by the fields this library reads.
 */

/** A PUBLISH as handlers, hooks and `MqttService` see it. */
export interface MqttPublishPacket {
  readonly cmd: 'publish';
  readonly topic: string;
  readonly payload: Buffer | string;
  qos: 0 | 1 | 2;
  readonly retain: boolean;
  dup: boolean;
  /** Set on QoS 1 and 2 packets once the broker numbered them for a connection. */
  messageId?: number;
  /** MQTT 5 properties; absent on messages from MQTT 3.1.1 clients, and never sent to them. */
  properties?: MqttPublishProperties;
}

/** One topic filter of a SUBSCRIBE, with the QoS asked for (then granted). */
export interface MqttSubscription {
  readonly topic: string;
  qos: 0 | 1 | 2;
}

/** The fields of a CONNECT that the hook chain decides on. */
export interface MqttConnectPacket {
  readonly clientId: string;
  readonly protocolVersion: number;
  readonly clean: boolean;
  readonly username?: string;
  readonly password?: Buffer;
}

/** The last will a client registered in its CONNECT. */
export interface MqttWill {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/**
 * One connected MQTT client, as the library describes it to users: auth policies, handlers
 * (`MqttContext.client`) and `@OnMqttEvent()` payloads. The same object for the whole connection.
 */
export interface MqttClientInfo {
  /** The client identifier; the one the broker assigned when the CONNECT carried none. `null` before the CONNECT is read. */
  readonly id: string | null;
  /** 3 (MQTT 3.1) or 4 (MQTT 3.1.1); `null` before the CONNECT is read. */
  readonly protocolVersion: number | null;
  /** The CONNECT's user name, once the CONNECT was read; `undefined` when it carried none. */
  readonly username: string | undefined;
  /** Whether the session ends with the connection (CONNECT CleanSession 1). */
  readonly clean: boolean;
  /** The client's address: from `X-Forwarded-For` when the connection came through a trusted proxy. */
  readonly remoteAddress: string | undefined;
  /**
   * How the client reached the broker: `'websocket'` (ws:// or wss://), `'tcp'` (mqtt://), `'tls'`
   * (mqtts://); `'stream'` for a stream handed to the broker with no description, which this module never does.
   */
  readonly transport: MqttTransport;
  /**
   * The HTTP upgrade request of the WebSocket (headers, cookies, query). Every WebSocket connection
   * has one; MQTT over TCP or TLS has none (`undefined`), and no headers or cookies.
   */
  readonly request: MqttUpgradeRequest | undefined;
  /**
   * The client certificate the TLS handshake verified (`requestCert` with a `ca` that trusts it),
   * on `tls` connections and `wss://` on the dedicated port; `undefined` otherwise. A fresh object on each read.
   */
  readonly certificate: PeerCertificate | undefined;
  /** The will registered in the CONNECT, or `null`. */
  readonly will: MqttWill | null;
}

export type MqttTransport = 'websocket' | 'tcp' | 'tls' | 'stream';

/** A connection with no HTTP upgrade request: MQTT straight on a TCP or TLS socket (the `tcp` listeners). */
export interface MqttSocketConnection {
  readonly transport: 'tcp' | 'tls';
  /** The accepted socket: the client's address, and on TLS its certificate. */
  readonly socket: Socket;
}

/** A CONNACK return code of MQTT 3.1.1 (table 3.1) that refuses a connection. */
export type MqttRefusalCode = 1 | 2 | 3 | 4 | 5;

/**
 * A client as the hook chain holds it: its public description, and what a hook may do to the
 * connection. Internal to the library; users see it typed as `MqttClientInfo`.
 */
export interface MqttBrokerClient extends MqttClientInfo {
  /** Whether a QoS 1 or 2 subscription makes the broker queue messages for the client's session. */
  readonly queuesMessages: boolean;
  /**
   * Answers the CONNECT with a refusing CONNACK and closes the connection [MQTT-3.2.2-5]; nothing
   * the client sent after it is processed [MQTT-3.1.4-5]. A `preConnect` hook calls it, then
   * `callback(null, false)`. `code` is a 3.1.1 return code (1–5) or an MQTT 5 reason code (0x80 and
   * above): an MQTT 5 client gets the reason code (a return code mapped to its reason code) with
   * `reasonString`; a 3.1/3.1.1 client gets the return code (a reason code mapped to the nearest
   * return code, docs/mqtt5.md) and no string.
   */
  refuseConnect(code: MqttRefusalCode | MqttReasonCode, reasonString?: string): void;
}

/**
 * An `authenticate` refusal: the error passed to its callback carries the CONNACK code, a 3.1.1
 * return code or an MQTT 5 reason code (0x80 and above, mapped for 3.1.1 clients as `refuseConnect`
 * does), and for MQTT 5 clients an optional reason string.
 */
export interface MqttConnectRefusal extends Error {
  returnCode: MqttRefusalCode | MqttReasonCode;
  reasonString?: string;
}

export type MqttDone = (error?: Error | null) => void;
/** A message the broker's emitter hands to an in-process listener (`subscribe`). */
export type MqttMessageListener = (packet: MqttPublishPacket, done: () => void) => void;

/** Client lifecycle events, each with the client's description. */
export interface MqttBrokerEvents {
  /**
   * The CONNECT read on `stream` was accepted (authenticated), before the CONNACK is written: the
   * transport ends the stream's pre-CONNECT budget and deadline here.
   */
  connectionAccepted: [stream: Duplex];
  /** After the CONNACK that accepted the client went out. */
  clientConnected: [client: MqttBrokerClient];
  clientDisconnected: [client: MqttBrokerClient];
  /** Once every filter of a SUBSCRIBE is decided, with the QoS granted (0x80 filters left out). */
  subscribed: [subscriptions: readonly MqttSubscription[], client: MqttBrokerClient];
  unsubscribed: [filters: readonly string[], client: MqttBrokerClient];
  clientError: [client: MqttBrokerClient, error: Error];
  /** The broker's own failures (a persistence that cannot write); without a listener they end the process. */
  error: [error: Error];
}

/**
 * Which persistent sessions may queue a message for later delivery: given the subscriptions a
 * QoS 1/2 message is about to be queued for, returns those that may (the same array when all may).
 */
export type MqttOfflineQueueFilter = <T extends { readonly clientId: string }>(subscriptions: T[]) => T[];

/** The broker behind the WebSocket endpoint. */
export interface MqttBroker {
  readonly id: string;
  readonly closed: boolean;
  /** Clients whose CONNECT was accepted and that are still connected. */
  readonly connectedClients: number;
  /** Serves one MQTT connection on a byte stream: a WebSocket's, with its upgrade request, or a TCP/TLS socket's, described. */
  handle(stream: Duplex, origin?: MqttUpgradeRequest | MqttSocketConnection): void;
  /** Publishes as the server: routed, stored for QoS 1/2 sessions, `published` hooks run. */
  publish(packet: MqttPublishPacket, done: MqttDone): void;
  /** Listens on the broker's emitter (every instance of a cluster gets every message); `done` once it is in place. */
  subscribe(filter: string, listener: MqttMessageListener, done: MqttDone): void;
  /** A message on the emitter only: not stored, no hooks; for the instances of a cluster to tell each other things. */
  signal(topic: string, payload: Buffer): void;
  /** Calls `listener` with the id of each client that connects to another instance of the cluster (on the shared emitter). */
  onClientConnectedElsewhere(listener: (clientId: string) => void): void;
  /** Whether a client with this id is connected to this instance. */
  hasClient(clientId: string): boolean;
  /**
   * Ends the connection of a client of this instance, with a DISCONNECT carrying `reason` where the
   * protocol has one (MQTT 5); `false` when no client with this id is connected here.
   */
  disconnect(clientId: string, reason?: MqttReason): boolean;
  /** Bounds what is queued for offline sessions; set once, at start-up. */
  filterOfflineQueue(filter: MqttOfflineQueueFilter): void;
  on<E extends keyof MqttBrokerEvents>(event: E, listener: (...args: MqttBrokerEvents[E]) => void): this;
  once<E extends keyof MqttBrokerEvents>(event: E, listener: (...args: MqttBrokerEvents[E]) => void): this;
  off<E extends keyof MqttBrokerEvents>(event: E, listener: (...args: MqttBrokerEvents[E]) => void): this;
  prependListener<E extends keyof MqttBrokerEvents>(event: E, listener: (...args: MqttBrokerEvents[E]) => void): this;
  /**
   * The broker implementation's own object (today the Aedes instance), for `MqttService.broker`,
   * the unsupported escape hatch. Nothing in the library reads it.
   */
  readonly unsupportedInstance: unknown;
  /**
   * Server shutdown, first step: every MQTT 5 client gets DISCONNECT 0x8B (server shutting down)
   * [MQTT-3.14.2], before the transport closes the connections; 3.1.1 clients get nothing (MQTT
   * 3.1.1 has no server DISCONNECT). Nothing is closed here.
   */
  announceShutdown(): void;
  /** Closes the broker, then its persistence (once, however often it is called). */
  close(): Promise<void>;
}
