import { isUtf8 } from 'node:buffer';
import type { MqttOutgoingProperties } from '../interfaces/mqtt-publish-options.interface.js';
import type { MqttPublishProperties } from '../interfaces/mqtt5.interface.js';
import { closestName } from '../closest-name.js';
import { topicNameError } from '../topic/index.js';

/** The properties `MqttService.publish` accepts, and the type each one must have. */
const OUTGOING: Record<keyof MqttOutgoingProperties, string> = {
  payloadFormatIndicator: 'a boolean (true: the payload is UTF-8 text)',
  messageExpiryInterval: 'an integer number of seconds from 0 to 4294967295',
  contentType: 'a string (a MIME type such as "application/json")',
  responseTopic: 'a topic name without wildcards',
  correlationData: 'a Buffer, Uint8Array or string',
  userProperties: 'an object of string values (or arrays of strings, for a name sent several times)',
};
const NAMES = Object.keys(OUTGOING);
const MAX_UINT32 = 0xffffffff;
/** UTF-8 strings of MQTT are at most 65535 bytes (section 1.5.4). */
const MAX_STRING_BYTES = 65535;

/**
 * Checks the MQTT 5 properties given to a server publish and returns a fresh object for the packet
 * (the caller's object is not kept, so changing it later changes nothing), or the mistake with its fix.
 */
export function outgoingProperties(given: unknown, payload: Buffer): MqttPublishProperties | string {
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    return `properties must be an object of MQTT 5 properties, got ${describe(given)}`;
  }
  const properties: MqttPublishProperties = {};
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined) continue;
    const error = setProperty(properties, name, value);
    if (error !== undefined) return error;
  }
  if (properties.payloadFormatIndicator === true && !isUtf8(payload)) {
    return 'properties.payloadFormatIndicator is true but the payload is not valid UTF-8 [MQTT-3.3.2-4]: leave it out for binary payloads';
  }
  return properties;
}

function setProperty(properties: MqttPublishProperties, name: string, value: unknown): string | undefined {
  switch (name) {
    case 'payloadFormatIndicator':
      if (typeof value !== 'boolean') return wrongType(name, value);
      properties.payloadFormatIndicator = value;
      return;
    case 'messageExpiryInterval':
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_UINT32) return wrongType(name, value);
      properties.messageExpiryInterval = value as number;
      return;
    case 'contentType':
      if (typeof value !== 'string' || !validString(value)) return wrongType(name, value);
      properties.contentType = value;
      return;
    case 'responseTopic': {
      if (typeof value !== 'string') return wrongType(name, value);
      const error = topicNameError(value);
      if (error !== undefined) return `properties.responseTopic ${JSON.stringify(value)} is not a topic name: ${error}`;
      properties.responseTopic = value;
      return;
    }
    case 'correlationData':
      if (typeof value === 'string') properties.correlationData = Buffer.from(value);
      else if (value instanceof Uint8Array) properties.correlationData = Buffer.from(value);
      else return wrongType(name, value);
      if (properties.correlationData.length > MAX_STRING_BYTES) return `properties.correlationData must be at most ${MAX_STRING_BYTES} bytes`;
      return;
    case 'userProperties':
      return setUserProperties(properties, value);
    case 'subscriptionIdentifier':
    case 'topicAlias':
      return `properties.${name} is set by the server for each subscriber and connection; leave it out of publish`;
    default: {
      const closest = closestName(name, NAMES);
      return (
        `unknown MQTT 5 property '${name}'` +
        (closest === undefined ? '' : `; did you mean '${closest}'?`) +
        ` The properties are ${NAMES.map((known) => `'${known}'`).join(', ')}.`
      );
    }
  }
}

function setUserProperties(properties: MqttPublishProperties, value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return wrongType('userProperties', value);
  const copy: Record<string, string | string[]> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (!validString(key)) return `properties.userProperties has a name that is not a valid MQTT string: ${JSON.stringify(key)}`;
    if (typeof entry === 'string' && validString(entry)) copy[key] = entry;
    else if (Array.isArray(entry) && entry.every((item) => typeof item === 'string' && validString(item))) copy[key] = [...entry];
    else {
      return (
        `properties.userProperties.${key} must be a string or an array of strings, got ${describe(entry)}` +
        (typeof entry === 'number' || typeof entry === 'boolean' ? `: write String(value) ('${String(entry)}')` : '')
      );
    }
  }
  properties.userProperties = copy;
  return undefined;
}

function validString(value: string): boolean {
  return !value.includes('\u0000') && Buffer.byteLength(value) <= MAX_STRING_BYTES;
}

function wrongType(name: string, value: unknown): string {
  return `properties.${name} must be ${OUTGOING[name as keyof MqttOutgoingProperties]}, got ${describe(value)}`;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
