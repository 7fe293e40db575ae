import type { MqttTcpListenerOptions, MqttWsModuleOptions } from './interfaces/mqtt-ws-options.interface.js';
import type { MqttRedisOptions } from './cluster/mqtt-redis-options.interface.js';
import { AEDES_COUNT_OPTIONS, DEFAULT_MAX_PAYLOAD, DEFAULT_PATH } from './mqtt-ws.constants.js';
import { validateRedisOption } from './cluster/redis-option.validator.js';
import { resolveMqttSecurityOptions, type ResolvedMqttSecurityOptions } from './security/mqtt-security-options.validator.js';
import { validateOperationsOptions } from './metrics/mqtt-operations-options.validator.js';
import { closestName } from './closest-name.js';

export type ResolvedMqttWsOptions = Omit<MqttWsModuleOptions, 'tcp'> &
  Required<Pick<MqttWsModuleOptions, 'path' | 'payloadFormat' | 'allowMissingSubprotocol' | 'maxPayload' | 'acknowledgeAfterRouting'>> &
  ResolvedMqttSecurityOptions & {
    /** The `tcp` listeners, always as a list (empty without the option). */
    tcp: readonly MqttTcpListenerOptions[];
  };

/**
 * Every option key the module knows. Typed against the options interface, so an option added there
 * does not compile until it is listed here too: one line per option.
 */
const OPTION_KEYS = keysOf<MqttWsModuleOptions>({
  path: true,
  port: true,
  host: true,
  tls: true,
  tcp: true,
  payloadFormat: true,
  allowMissingSubprotocol: true,
  acknowledgeAfterRouting: true,
  maxPayload: true,
  id: true,
  concurrency: true,
  heartbeatInterval: true,
  connectTimeout: true,
  queueLimit: true,
  keepaliveLimit: true,
  maxClientsIdLength: true,
  drainTimeout: true,
  maxTopicLevels: true,
  persistence: true,
  mq: true,
  redis: true,
  auth: true,
  allowedOrigins: true,
  maxConnections: true,
  maxConnectionsPerIp: true,
  maxPacketSize: true,
  maxTopicLength: true,
  maxBufferedBytes: true,
  maxInflightInbound: true,
  maxQueuedMessages: true,
  trustedProxies: true,
  maxPreConnectPayload: true,
  handshakeTimeout: true,
  closeTimeout: true,
  pingInterval: true,
  allowedHosts: true,
  metrics: true,
  sysInterval: true,
});

const REDIS_OPTION_KEYS = keysOf<MqttRedisOptions>({ url: true, keyPrefix: true, connectTimeout: true });
const TCP_OPTION_KEYS = keysOf<MqttTcpListenerOptions>({ port: true, host: true, tls: true });

/** Fills in defaults and throws, naming the option, on anything the module cannot work with. */
export function resolveMqttWsOptions(options: MqttWsModuleOptions = {}): ResolvedMqttWsOptions {
  const fail = (option: string, expected: string, value: unknown): never => {
    throw new Error(`MqttWsModule: option "${option}" must be ${expected}, got ${JSON.stringify(value) ?? String(value)}`);
  };
  if (options === null || typeof options !== 'object') fail('options', 'an object', options);
  rejectUnknownKeys(options, OPTION_KEYS, '');
  if (options.redis !== null && typeof options.redis === 'object') rejectUnknownKeys(options.redis, REDIS_OPTION_KEYS, 'redis.');
  // The security defaults are added once maxPayload, on which one depends, is checked.
  const resolved = {
    ...options,
    path: options.path ?? DEFAULT_PATH,
    payloadFormat: options.payloadFormat ?? 'json',
    allowMissingSubprotocol: options.allowMissingSubprotocol ?? true,
    acknowledgeAfterRouting: options.acknowledgeAfterRouting ?? false,
    maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
    tcp: resolveTcpListeners(options.tcp, fail),
  } as ResolvedMqttWsOptions;
  if (typeof resolved.path !== 'string' || !resolved.path.startsWith('/') || /[?#\s]/.test(resolved.path)) {
    fail('path', "a URL path starting with '/' (no query, fragment or spaces)", resolved.path);
  }
  if (resolved.port !== undefined && !(Number.isInteger(resolved.port) && resolved.port >= 0 && resolved.port <= 65535)) {
    fail('port', 'an integer from 0 to 65535', resolved.port);
  }
  if (resolved.host !== undefined && (typeof resolved.host !== 'string' || resolved.host === '')) {
    fail('host', 'a non-empty string', resolved.host);
  }
  if (!['json', 'text', 'buffer'].includes(resolved.payloadFormat)) {
    fail('payloadFormat', "'json', 'text' or 'buffer'", resolved.payloadFormat);
  }
  if (typeof resolved.allowMissingSubprotocol !== 'boolean') {
    fail('allowMissingSubprotocol', 'a boolean', resolved.allowMissingSubprotocol);
  }
  if (typeof resolved.acknowledgeAfterRouting !== 'boolean') {
    fail('acknowledgeAfterRouting', 'a boolean', resolved.acknowledgeAfterRouting);
  }
  if (!Number.isInteger(resolved.maxPayload) || resolved.maxPayload < 2) {
    fail('maxPayload', 'an integer of at least 2 (bytes)', resolved.maxPayload);
  }
  Object.assign(resolved, resolveMqttSecurityOptions(resolved, fail));
  if (resolved.id !== undefined && (typeof resolved.id !== 'string' || resolved.id === '')) {
    fail('id', 'a non-empty string', resolved.id);
  }
  for (const option of AEDES_COUNT_OPTIONS) {
    const value = resolved[option];
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) fail(option, 'a non-negative integer', value);
  }
  if (resolved.concurrency === 0) fail('concurrency', 'at least 1', 0);
  if (resolved.maxClientsIdLength !== undefined && resolved.maxClientsIdLength < 23) {
    // [MQTT-3.1.3-5] a server must accept client ids of 1 to 23 characters.
    fail('maxClientsIdLength', 'at least 23 (MQTT 3.1.1 requires accepting ids of up to 23 characters)', resolved.maxClientsIdLength);
  }
  const levels = resolved.maxTopicLevels;
  if (levels !== undefined && !(Number.isInteger(levels) && levels >= 1 && levels <= 100)) {
    fail('maxTopicLevels', 'an integer from 1 to 100', levels);
  }
  validateRedisOption(resolved, fail);
  validateOperationsOptions(resolved, fail);
  for (const option of ['persistence', 'mq'] as const) {
    const value = resolved[option];
    if (value !== undefined && value !== null && typeof value !== 'object' && typeof value !== 'function') {
      fail(option, 'an instance or a function that returns one', value);
    }
  }
  return resolved;
}

/** The `tcp` option as a list, each listener checked: a mistake names it (`tcp[1].port`). */
function resolveTcpListeners(
  tcp: MqttWsModuleOptions['tcp'],
  fail: (option: string, expected: string, value: unknown) => never,
): readonly MqttTcpListenerOptions[] {
  if (tcp === undefined) return [];
  const single = !Array.isArray(tcp);
  const listeners = (single ? [tcp] : tcp) as unknown[];
  if (!single && listeners.length === 0) fail('tcp', 'a listener ({ port, host?, tls? }) or a non-empty array of them', tcp);
  const ports = new Set<string>();
  listeners.forEach((listener, index) => {
    const name = single ? 'tcp' : `tcp[${index}]`;
    if (listener === null || typeof listener !== 'object' || Array.isArray(listener)) fail(name, 'a listener: { port, host?, tls? }', listener);
    rejectUnknownKeys(listener as object, TCP_OPTION_KEYS, `${name}.`);
    const { port, host, tls } = listener as MqttTcpListenerOptions;
    if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) fail(`${name}.port`, 'an integer from 0 to 65535 (0 picks a free port)', port);
    if (host !== undefined && (typeof host !== 'string' || host === '')) fail(`${name}.host`, 'a non-empty string', host);
    if (tls !== undefined && (tls === null || typeof tls !== 'object' || Array.isArray(tls))) {
      fail(`${name}.tls`, "Node's TLS server options ({ key, cert, ... })", tls);
    }
    const bound = `${host ?? '*'}:${port}`;
    if (port !== 0 && ports.has(bound)) fail(`${name}.port`, 'a port no other listener of "tcp" uses', port);
    ports.add(bound);
  });
  return listeners as MqttTcpListenerOptions[];
}

function keysOf<T>(keys: { [K in keyof Required<T>]: true }): readonly string[] {
  return Object.keys(keys);
}

/** A typo (`pth`, `redis: { ulr }`) would otherwise be ignored and its default served silently. */
function rejectUnknownKeys(options: object, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const closest = closestName(key, known);
    const hint = closest === undefined ? '' : ` Did you mean "${prefix}${closest}"?`;
    throw new Error(
      `MqttWsModule: unknown option "${prefix}${key}".${hint} The ${prefix === '' ? '' : `"${prefix.slice(0, -1)}" `}options are: ${known.join(', ')}.`,
    );
  }
}

