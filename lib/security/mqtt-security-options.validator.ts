import type { MqttSecurityOptions } from './mqtt-security-options.interface.js';
import { TrustedProxies } from './trusted-proxies.js';

export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** Off: docs/security.md explains why no per-address limit fits by default. */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 0;
export const DEFAULT_MAX_TOPIC_LENGTH = 1024;
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
/** Mosquitto's default `max_queued_messages`. */
export const DEFAULT_MAX_QUEUED_MESSAGES = 1000;
/** A limit on MQTT 3.1.1 client ids, which Aedes limits only for MQTT 3.1. */
export const DEFAULT_MAX_CLIENT_ID_LENGTH = 256;
/** The largest legitimate CONNECT (256-character id, a token as password, a will) fits many times over. */
export const DEFAULT_MAX_PRE_CONNECT_PAYLOAD = 64 * 1024;
/** Mosquitto closes a handshake that trickles in after 10 s too. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
export const DEFAULT_CLOSE_TIMEOUT = 2_000;
/** As `ws`' heartbeat example and browsers' proxies expect; docs/security.md compares it with Mosquitto and Aedes. */
export const DEFAULT_PING_INTERVAL = 30_000;
/** Aedes' `connectTimeout` default: the transport's CONNECT deadline is the same option. */
export const DEFAULT_CONNECT_TIMEOUT = 30_000;

export type ResolvedMqttSecurityOptions = Required<
  Pick<
    MqttSecurityOptions,
    | 'maxConnections'
    | 'maxConnectionsPerIp'
    | 'maxTopicLength'
    | 'maxBufferedBytes'
    | 'maxQueuedMessages'
    | 'trustedProxies'
    | 'maxPreConnectPayload'
    | 'handshakeTimeout'
    | 'closeTimeout'
    | 'pingInterval'
  >
> & { maxPacketSize: number };

type Fail = (option: string, expected: string, value: unknown) => never;

/** The security part of `resolveMqttWsOptions`: defaults, and a named error for each bad value. */
export function resolveMqttSecurityOptions(options: MqttSecurityOptions & { maxPayload: number }, fail: Fail): ResolvedMqttSecurityOptions {
  const resolved = {
    maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    maxConnectionsPerIp: options.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP,
    maxPacketSize: options.maxPacketSize ?? options.maxPayload,
    maxTopicLength: options.maxTopicLength ?? DEFAULT_MAX_TOPIC_LENGTH,
    maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
    maxQueuedMessages: options.maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES,
    trustedProxies: options.trustedProxies ?? [],
    maxPreConnectPayload: options.maxPreConnectPayload ?? Math.min(DEFAULT_MAX_PRE_CONNECT_PAYLOAD, options.maxPayload),
    handshakeTimeout: options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
    closeTimeout: options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT,
    pingInterval: options.pingInterval ?? DEFAULT_PING_INTERVAL,
  };
  for (const option of ['maxConnections', 'maxConnectionsPerIp', 'maxBufferedBytes'] as const) {
    if (!Number.isInteger(resolved[option]) || resolved[option] < 0) fail(option, 'a non-negative integer', resolved[option]);
  }
  const preConnect = resolved.maxPreConnectPayload;
  if (!Number.isInteger(preConnect) || preConnect < 2 || preConnect > options.maxPayload) {
    fail('maxPreConnectPayload', `an integer from 2 to maxPayload (${options.maxPayload}) bytes`, preConnect);
  }
  for (const option of ['handshakeTimeout', 'closeTimeout'] as const) {
    if (!Number.isInteger(resolved[option]) || resolved[option] < 1) fail(option, 'a positive integer (ms)', resolved[option]);
  }
  if (!Number.isInteger(resolved.pingInterval) || resolved.pingInterval < 0) fail('pingInterval', 'a non-negative integer (ms; 0: no pings)', resolved.pingInterval);
  const queued = resolved.maxQueuedMessages;
  if (!Number.isInteger(queued) || queued < 0) fail('maxQueuedMessages', 'a non-negative integer', queued);
  if (!Number.isInteger(resolved.maxPacketSize) || resolved.maxPacketSize < 2 || resolved.maxPacketSize > 268_435_455) {
    fail('maxPacketSize', 'an integer from 2 to 268435455 (bytes)', resolved.maxPacketSize);
  }
  if (!Number.isInteger(resolved.maxTopicLength) || resolved.maxTopicLength < 1 || resolved.maxTopicLength > 65535) {
    fail('maxTopicLength', 'an integer from 1 to 65535', resolved.maxTopicLength);
  }
  const inflight = options.maxInflightInbound;
  if (inflight !== undefined && !(Number.isInteger(inflight) && inflight >= 0)) fail('maxInflightInbound', 'a non-negative integer', inflight);
  if (!Array.isArray(resolved.trustedProxies)) fail('trustedProxies', 'an array of IP addresses or CIDR ranges', resolved.trustedProxies);
  for (const entry of resolved.trustedProxies) {
    try {
      TrustedProxies.assertValid(entry);
    } catch {
      fail('trustedProxies', 'an array of IP addresses or CIDR ranges', entry);
    }
  }
  validateTls(options as { tls?: unknown; port?: number }, fail);
  validateOrigins(options.allowedOrigins, fail);
  validateHosts(options.allowedHosts, fail);
  validateAuth(options.auth, fail);
  return resolved;
}

function validateOrigins(origins: MqttSecurityOptions['allowedOrigins'], fail: Fail): void {
  if (origins === undefined || origins === '*' || typeof origins === 'function') return;
  const expected = "'*', a function, or an array of origins ('https://host[:port]') and RegExps";
  if (!Array.isArray(origins)) fail('allowedOrigins', expected, origins);
  for (const origin of origins as unknown[]) {
    if (origin instanceof RegExp) continue;
    if (typeof origin !== 'string' || !/^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/i.test(origin)) fail('allowedOrigins', expected, origin);
  }
}

function validateHosts(hosts: MqttSecurityOptions['allowedHosts'], fail: Fail): void {
  if (hosts === undefined) return;
  const expected = "an array of host names ('app.example.com', or '.example.com' with its subdomains; no scheme or port)";
  if (!Array.isArray(hosts)) fail('allowedHosts', expected, hosts);
  for (const host of hosts as unknown[]) {
    if (typeof host !== 'string' || !/^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(host)) fail('allowedHosts', expected, host);
  }
}

function validateTls({ tls, port }: { tls?: unknown; port?: number }, fail: Fail): void {
  if (tls === undefined) return;
  if (tls === null || typeof tls !== 'object' || Array.isArray(tls)) fail('tls', "Node's TLS server options ({ key, cert, ... })", tls);
  if (port === undefined) fail('tls', 'set together with "port" (on the app\'s own port, pass httpsOptions to NestFactory.create)', Object.keys(tls as object));
}

function validateAuth(auth: MqttSecurityOptions['auth'], fail: Fail): void {
  if (auth === undefined || typeof auth === 'function') return;
  const expected = 'a policy class, or { useClass }, { useExisting } or { useValue }';
  if (auth === null || typeof auth !== 'object') return fail('auth', expected, auth);
  if ('useClass' in auth && typeof auth.useClass === 'function') return;
  if ('useExisting' in auth && auth.useExisting !== undefined && auth.useExisting !== null) return;
  if ('useValue' in auth && auth.useValue !== null && typeof auth.useValue === 'object') return;
  fail('auth', expected, Object.keys(auth));
}
