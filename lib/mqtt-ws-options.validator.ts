import type { MqttWsModuleOptions } from './interfaces/mqtt-ws-options.interface.js';
import { AEDES_COUNT_OPTIONS, DEFAULT_MAX_PAYLOAD, DEFAULT_PATH } from './mqtt-ws.constants.js';
import { validateRedisOption } from './cluster/redis-option.validator.js';
import { resolveMqttSecurityOptions, type ResolvedMqttSecurityOptions } from './security/mqtt-security-options.validator.js';

export type ResolvedMqttWsOptions = MqttWsModuleOptions &
  Required<Pick<MqttWsModuleOptions, 'path' | 'payloadFormat' | 'allowMissingSubprotocol' | 'maxPayload'>> &
  ResolvedMqttSecurityOptions;


/** Fills in defaults and throws, naming the option, on anything the module cannot work with. */
export function resolveMqttWsOptions(options: MqttWsModuleOptions = {}): ResolvedMqttWsOptions {
  const fail = (option: string, expected: string, value: unknown): never => {
    throw new Error(`MqttWsModule: option "${option}" must be ${expected}, got ${JSON.stringify(value) ?? String(value)}`);
  };
  if (options === null || typeof options !== 'object') fail('options', 'an object', options);
  // The security defaults are added once maxPayload, on which one depends, is checked.
  const resolved = {
    ...options,
    path: options.path ?? DEFAULT_PATH,
    payloadFormat: options.payloadFormat ?? 'json',
    allowMissingSubprotocol: options.allowMissingSubprotocol ?? true,
    maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
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
  for (const option of ['persistence', 'mq'] as const) {
    const value = resolved[option];
    if (value !== undefined && value !== null && typeof value !== 'object' && typeof value !== 'function') {
      fail(option, 'an instance or a function that returns one', value);
    }
  }
  return resolved;
}
