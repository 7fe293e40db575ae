import type { Client, ConnectPacket } from 'aedes';
import { refuseConnection } from './connection-refusal.js';
import { connectViolation, protocolLevelRefusal } from './connect-rules.js';
import { isWellFormedMqttString } from './mqtt-string.js';
import type { PacketBytes } from './packet-bytes.js';
import { takeOverSuback } from './subscription-grants.js';
import { rewriteSharedSubscriptions, rewriteSharedUnsubscriptions } from './shared-subscriptions.js';
import { topicFilterError } from '../../../topic/index.js';

/** The packet being parsed, as far as these checks read it. */
interface ParsedPacket {
  length: number;
  qos: number;
  dup: boolean;
  messageId?: number;
  subscriptions?: { topic: string }[];
  unsubscriptions?: string[];
}

/** The mqtt-packet 9 parser internals this shim overrides; checked at start-up by aedes-contract.ts. */
interface PacketParser {
  /** The parser's bytes (lean-packet-parser.ts gave it them); offset 0 is the packet's variable header. */
  _list: PacketBytes;
  _pos: number;
  packet: ParsedPacket;
  error: Error | null;
  /** Set by Aedes on the parser it creates for each client. */
  client?: Client;
  _emitError(error: Error): void;
  _parseString(): string | null;
  _parseConnect(): ConnectPacket | undefined;
  _parsePublish(): void;
  _parseSubscribe(): void;
  _parseUnsubscribe(): void;
}

type ParserMethods = Pick<PacketParser, '_parseString' | '_parseConnect' | '_parsePublish' | '_parseSubscribe' | '_parseUnsubscribe'>;
/** The parser methods this shim overrides; aedes-contract.ts checks each is on mqtt-packet's parser at start-up. */
export const STRICT_PARSER_OVERRIDES = ['_parseString', '_parseConnect', '_parsePublish', '_parseSubscribe', '_parseUnsubscribe'] as const;

let base: ParserMethods | undefined;

/**
 * Keeps the parse methods the overrides call: mqtt-packet's, and for strings and PUBLISH the lean
 * ones (lean-packet-parser.ts). Called at start-up with the parser prototype the contract check
 * verified, so nothing is looked up or checked per connection.
 */
export function bindStrictPacketParser(prototype: ParserMethods): void {
  const { _parseString, _parseConnect, _parsePublish, _parseSubscribe, _parseUnsubscribe } = prototype;
  base = { _parseString, _parseConnect, _parsePublish, _parseSubscribe, _parseUnsubscribe };
}

/**
 * Makes the mqtt-packet parser of one Aedes client reject what MQTT 3.1.1 calls malformed and
 * mqtt-packet lets through. A check that fails is a parse error, so the packet never reaches Aedes
 * and the client's connection closes [MQTT-4.8.0-1]. The checks run inside the parser because
 * only there are the packet's bytes still at hand, and because Aedes has no hook before it
 * handles a SUBSCRIBE or UNSUBSCRIBE. The overrides are own properties of this client's parser
 * (shared functions, no closures): MQTT.js in the same process, or another broker, is untouched.
 */
export function installStrictPacketParser(client: Client): void {
  const parser = (client as unknown as { _parser: PacketParser })._parser;
  parser._parseString = parseString;
  parser._parseConnect = parseConnect;
  parser._parsePublish = parsePublish;
  parser._parseSubscribe = parseSubscribe;
  parser._parseUnsubscribe = parseUnsubscribe;
}

/** Every UTF-8 string field of every packet: [MQTT-1.5.3-1], [MQTT-1.5.3-2]. */
function parseString(this: PacketParser): string | null {
  const prefixOffset = this._pos;
  const value = base!._parseString.call(this);
  // null makes the calling parse step fail with its own "Cannot parse ..." error.
  return value === null || isWellFormedMqttString(value, this._list, prefixOffset) ? value : null;
}

function parseConnect(this: PacketParser): ConnectPacket | undefined {
  const refusal = protocolLevelRefusal(this._list, this.packet.length);
  if (refusal !== undefined) {
    // Stop parsing without an 'error' event, which would destroy the socket before the CONNACK left.
    this.error = new Error('unacceptable protocol level');
    if (this.client) refuseConnection(this.client, refusal);
    return undefined;
  }
  const packet = base!._parseConnect.call(this);
  if (this.error || packet === undefined) return undefined;
  const violation = connectViolation(packet, this._pos, this.packet.length);
  if (violation !== undefined) {
    this._emitError(new Error(violation));
    return undefined;
  }
  return packet;
}

function parsePublish(this: PacketParser): void {
  const packet = this.packet;
  // [MQTT-3.3.1-2]
  if (packet.dup && packet.qos === 0) return this._emitError(new Error('PUBLISH with QoS 0 has the DUP flag set'));
  base!._parsePublish.call(this);
  // [MQTT-2.3.1-1]
  if (packet.messageId === 0 && this.error === null) this._emitError(new Error('PUBLISH packet identifier is 0'));
}

function parseSubscribe(this: PacketParser): void {
  base!._parseSubscribe.call(this);
  if (this.error === null) checkFilters(this, 'SUBSCRIBE', this.packet.subscriptions!, (subscription) => subscription.topic);
  // MQTT 5 `$share/{group}/{filter}` (shared-subscriptions.ts); nothing for 3.1.1 clients.
  const sharingError = this.error === null ? rewriteSharedSubscriptions(this.client, this.packet.subscriptions!) : undefined;
  if (sharingError !== undefined) return this._emitError(new Error(sharingError));
  // Aedes would answer with the requested QoS; subscription-grants.ts answers with the granted one.
  if (this.error === null) takeOverSuback(this.packet as Parameters<typeof takeOverSuback>[0]);
}

function parseUnsubscribe(this: PacketParser): void {
  base!._parseUnsubscribe.call(this);
  if (this.error === null) checkFilters(this, 'UNSUBSCRIBE', this.packet.unsubscriptions!, (filter) => filter);
  if (this.error === null) rewriteSharedUnsubscriptions(this.client, this.packet.unsubscriptions!);
}

/** [MQTT-2.3.1-1] a non-zero packet id; [MQTT-3.8.3-3], [MQTT-3.10.3-2] at least one filter, each valid. */
function checkFilters<T>(parser: PacketParser, name: string, entries: readonly T[], filterOf: (entry: T) => string): void {
  if (parser.packet.messageId === 0) return parser._emitError(new Error(`${name} packet identifier is 0`));
  if (entries.length === 0) return parser._emitError(new Error(`${name} without a topic filter`));
  for (let i = 0; i < entries.length; i++) {
    const error = topicFilterError(filterOf(entries[i]));
    if (error !== undefined) return parser._emitError(new Error(`${name}: ${error}`));
  }
}
