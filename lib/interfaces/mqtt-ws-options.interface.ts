import type { MqttMetricsOptions } from '../metrics/mqtt-operations-options.interface.js';
import type { TlsOptions } from 'node:tls';
import type { MqttSecurityOptions } from '../security/mqtt-security-options.interface.js';
import type { PayloadFormat } from './payload-format.type.js';
import type { MqttRedisOptions } from '../cluster/mqtt-redis-options.interface.js';

/** A backend instance, or a function (sync or async) that builds one when the module starts. */
export type MqttBackendProvider<T> = T | (() => T | Promise<T>);

/**
 * A store with the interface of aedes-persistence (aedes-persistence-redis, -mongodb…), handed to
 * the broker as it is. Typed `object` so that the broker's own types stay out of this API.
 */
export type MqttPersistenceBackend = object;
/** A message emitter with the interface of mqemitter (mqemitter-redis…), handed to the broker as it is. */
export type MqttEmitterBackend = object;

/** A plain MQTT listener: MQTT over TCP (mqtt://), or over TLS (mqtts://) with `tls`. */
export interface MqttTcpListenerOptions {
  /** The port; 0 picks a free one (`MqttService.endpoints()` tells which). */
  port: number;
  /** Interface to listen on. Default: all interfaces, as `net.Server#listen`. */
  host?: string;
  /**
   * Serves MQTT over TLS: Node's TLS server options (`key`, `cert`, `ca`, `requestCert`,
   * `rejectUnauthorized`, `minVersion`…). A verified client certificate is `client.certificate`
   * in the auth policy.
   */
  tls?: TlsOptions;
}

/** The security options (`auth`, `allowedOrigins`, limits) are described in docs/security.md. */
export interface MqttWsModuleOptions extends MqttSecurityOptions {
  /** HTTP path of the MQTT WebSocket endpoint. Default `/mqtt`. */
  path?: string;
  /**
   * Serve MQTT on this dedicated port instead of the app's own HTTP server (0 picks a free one).
   * Without it, MQTT shares the app's port and is reachable once `app.listen()` resolves.
   */
  port?: number;
  /** Interface for the dedicated `port`. Default: all interfaces, as `net.Server#listen`. */
  host?: string;
  /**
   * Serves the dedicated `port` over TLS (wss://): Node's TLS server options (`key`, `cert`, `ca`,
   * `requestCert`, `rejectUnauthorized`…). A verified client certificate is
   * `request.socket.getPeerCertificate()` in the auth policy. Not used without `port`: on the app's
   * port, TLS is the app's (`httpsOptions`).
   */
  tls?: TlsOptions;
  /**
   * Also serves the broker as plain MQTT on these listeners (devices on 1883, TLS on 8883): the same
   * broker, auth policy, limits and handlers as the WebSocket endpoint. One listener or several.
   * Connections over TCP have no upgrade request (`request` is `undefined`); see docs/design.md, "Listeners".
   */
  tcp?: MqttTcpListenerOptions | readonly MqttTcpListenerOptions[];
  /** How handler payloads are decoded unless a handler says otherwise. Default `'json'`. */
  payloadFormat?: PayloadFormat;
  /**
   * Accept WebSocket handshakes that offer no subprotocol at all (some embedded clients omit it).
   * Handshakes that offer subprotocols but neither `mqtt` nor `mqttv3.1` are always refused. Default `true`.
   */
  allowMissingSubprotocol?: boolean;
  /**
   * Send the PUBACK of a client's QoS 1 message once it is routed (written to the online subscribers,
   * queued for the offline sessions), not before, in the order of the PUBLISHes. A PUBACK then means
   * "routed", and co-located clients are not woken twice per message; publishers that keep a window
   * of unacknowledged messages send less (measured: QoS 1 fan-in 9% lower, MQTT 5 fan-in 22% lower;
   * docs/design.md, reach-in 24). Default `false`: Aedes' order, PUBACK first.
   */
  acknowledgeAfterRouting?: boolean;
  /** Largest WebSocket message accepted, in bytes; a bigger one closes that connection (1009). Default 1 MiB. */
  maxPayload?: number;

  /** Broker id; distinct per instance in a cluster. Default: a random UUID. */
  id?: string;
  /** Max number of messages delivered concurrently by the broker's emitter. Aedes default 100. */
  concurrency?: number;
  /** Interval of the `$SYS/<id>/heartbeat` publication, ms. Aedes default 60000. */
  heartbeatInterval?: number;
  /** A connection that sends no CONNECT within this time is closed, ms. Aedes default 30000. */
  connectTimeout?: number;
  /** Max packets queued per client while it is being authenticated. Aedes default 42. */
  queueLimit?: number;
  /** Largest keepalive a client may ask for, in seconds; 0 means no limit. Aedes default 0. */
  keepaliveLimit?: number;
  /** Longest client id accepted. Aedes default 23 (the MQTT 3.1.1 minimum a server must accept). */
  maxClientsIdLength?: number;
  /** A subscriber whose socket stays full this long is disconnected, ms; 0 waits forever. Aedes default 60000. */
  drainTimeout?: number;
  /** Max levels in a topic or filter (1–100). Aedes default 100. */
  maxTopicLevels?: number;
  /** Aedes persistence (retained messages, sessions, QoS queues). Default: in memory. */
  persistence?: MqttBackendProvider<MqttPersistenceBackend>;
  /** Aedes message emitter (mqemitter). Default: in memory. */
  mq?: MqttBackendProvider<MqttEmitterBackend>;
  /**
   * Runs this instance as one broker of a cluster on Redis: builds `persistence` from
   * aedes-persistence-redis, which the app installs, and `mq` on the library's own message bus
   * (Redis pub/sub, batched). Not combined with
   * `persistence` or `mq`. See docs/cluster.md.
   */
  redis?: MqttRedisOptions;
  /**
   * Prometheus metrics through prom-client (an optional peer dependency the app installs):
   * `true` registers them in prom-client's default registry, `{ registry, prefix }` in another
   * or under a name prefix. Default off. See docs/operations.md.
   */
  metrics?: boolean | MqttMetricsOptions;
  /**
   * Seconds between two publications of the `$SYS/broker/…` statistics (retained), readable only by
   * clients the auth policy's `authorizeSubscribe` allows explicitly. Default 0: off.
   */
  sysInterval?: number;
}
