import type { MqttUpgradeRequest } from '../interfaces/mqtt-upgrade-request.interface.js';
import type { Duplex } from 'node:stream';
import { Logger } from '@nestjs/common';
import type { Aedes, Client } from 'aedes';
import { ConnackReturnCode, refuseConnection } from '../protocol/connection-refusal.js';
import { describeClient } from './describe-client.js';
import { TrustedProxies } from './trusted-proxies.js';

const logger = new Logger('MqttWsModule');

/** What each waiting message costs beyond its bytes: the stream's entry and the packet's buffers. */
const PER_MESSAGE_OVERHEAD = 128;

const MAX_PACKET_SIZE = Symbol('maxPacketSize');
const MAX_BUFFERED_BYTES = Symbol('maxBufferedBytes');
const SATURATED_WRITES = Symbol('saturatedWrites');
const WAITING_FOR_DRAIN = Symbol('waitingForDrain');

export interface MqttBrokerLimits {
  maxPacketSize: number;
  maxTopicLength: number;
  maxClientIdLength: number;
  maxBufferedBytes: number;
  trustedProxies: readonly string[];
}

/** mqtt-packet 9 parser internals that the packet size check overrides. */
interface LengthParser {
  packet: { length: number };
  _parseLength(): boolean;
  _emitError(error: Error): void;
  [MAX_PACKET_SIZE]: number;
}

type DrainCallback = (error: Error | null, client: Client) => void;

interface BoundedClient {
  conn: Duplex & { bufferedAmount?: number };
  _drainTimer: NodeJS.Timeout | null;
  waitForDrain(callback: DrainCallback): void;
  [MAX_BUFFERED_BYTES]: number;
  [SATURATED_WRITES]: number;
  [WAITING_FOR_DRAIN]: boolean;
}

let baseParseLength: (() => boolean) | undefined;
let baseWaitForDrain: ((callback: DrainCallback) => void) | undefined;

/**
 * Limits that Aedes does not have, on the broker's hooks (each hook checks, then calls the one
 * there before): packet size, topic length, MQTT 3.1.1 client id length, the bytes waiting for a
 * client that does not read, and the client address behind trusted proxies. Per-client state is
 * kept in own symbol properties, and the overrides are shared functions, not closures.
 */
export function installMqttBrokerLimits(broker: Aedes, limits: MqttBrokerLimits): void {
  const proxies = new TrustedProxies(limits.trustedProxies);
  const handle = broker.handle;
  broker.handle = (connection, request) => {
    if (request) (request as MqttUpgradeRequest & { connDetails?: unknown }).connDetails = proxies.connectionDetails(request);
    const client = handle(connection, request);
    limitPacketSize(client, limits.maxPacketSize);
    if (limits.maxBufferedBytes > 0) limitBufferedBytes(client, limits.maxBufferedBytes);
    return client;
  };

  const preConnect = broker.preConnect;
  broker.preConnect = (client, packet, callback) => {
    // Aedes checks `maxClientsIdLength` for MQTT 3.1 only.
    if (packet.clientId.length <= limits.maxClientIdLength) return preConnect(client, packet, callback);
    logger.warn(`Refused connection of ${describeClient(client)}: client id longer than ${limits.maxClientIdLength}`);
    refuseConnection(client, ConnackReturnCode.IdentifierRejected);
    callback(null, false);
  };

  const authorizePublish = broker.authorizePublish;
  broker.authorizePublish = (client, packet, callback) => {
    if (packet.topic.length <= limits.maxTopicLength) return authorizePublish(client, packet, callback);
    if (client) logger.warn(`Refused a message from ${describeClient(client)}: topic longer than ${limits.maxTopicLength}; disconnecting`);
    callback(new Error(`topic longer than ${limits.maxTopicLength}`));
  };

  const authorizeSubscribe = broker.authorizeSubscribe;
  broker.authorizeSubscribe = (client, subscription, callback) => {
    if (subscription.topic.length <= limits.maxTopicLength) return authorizeSubscribe(client, subscription, callback);
    logger.debug(`Refused a subscription of ${describeClient(client)}: topic filter longer than ${limits.maxTopicLength}`);
    callback(null, null);
  };
}

function limitPacketSize(client: Client, maxPacketSize: number): void {
  const parser = (client as unknown as { _parser: LengthParser })._parser;
  baseParseLength ??= Object.getPrototypeOf(parser)._parseLength;
  if (typeof baseParseLength !== 'function') throw new Error('nestjs-mqtt-ws: the installed mqtt-packet parser has no _parseLength()');
  parser[MAX_PACKET_SIZE] = maxPacketSize;
  parser._parseLength = parseBoundedLength;
}

/** Refuses a packet by its announced length, before its bytes are buffered. */
function parseBoundedLength(this: LengthParser): boolean {
  if (!baseParseLength!.call(this)) return false;
  if (this.packet.length <= this[MAX_PACKET_SIZE]) return true;
  this._emitError(new Error(`packet of ${this.packet.length} bytes is larger than maxPacketSize (${this[MAX_PACKET_SIZE]})`));
  return false;
}

function limitBufferedBytes(client: Client, maxBufferedBytes: number): void {
  const bounded = client as unknown as BoundedClient;
  baseWaitForDrain ??= bounded.waitForDrain;
  bounded[MAX_BUFFERED_BYTES] = maxBufferedBytes;
  bounded[SATURATED_WRITES] = 0;
  bounded[WAITING_FOR_DRAIN] = false;
  bounded.waitForDrain = waitForDrainBounded;
}

/**
 * Aedes calls this when a write found the client's stream full, and holds the delivery until the
 * stream drains. Deliveries share the broker's emitter, whose concurrency is global, so one
 * client that stops reading would stall every other. Instead the delivery completes at once and
 * the bytes wait in the client's stream, up to `maxBufferedBytes`; past it the client is
 * disconnected, its persistent session and unacknowledged messages kept by Aedes. Aedes' own
 * drain timer still runs, so a client that reads too slowly for `drainTimeout` goes too.
 */
function waitForDrainBounded(this: BoundedClient, callback: DrainCallback): void {
  const conn = this.conn;
  const writes = ++this[SATURATED_WRITES];
  const waiting = conn.writableLength + (conn.bufferedAmount ?? 0) + writes * PER_MESSAGE_OVERHEAD;
  if (waiting > this[MAX_BUFFERED_BYTES]) {
    const error = new Error(`slow consumer: more than ${this[MAX_BUFFERED_BYTES]} bytes waiting to be sent`);
    if (!conn.destroyed) {
      logger.warn(`Disconnected ${describeClient(this as unknown as Client)}: it does not read (${waiting} bytes waiting, "maxBufferedBytes")`);
      conn.destroy(error);
    }
    setImmediate(callback, error, this as unknown as Client);
    return;
  }
  if (!this[WAITING_FOR_DRAIN]) {
    this[WAITING_FOR_DRAIN] = true;
    baseWaitForDrain!.call(this, drained);
  }
  setImmediate(callback, null, this as unknown as Client);
}

/** Called by Aedes on drain (with the client), or as a plain 'drain' listener when `drainTimeout` is 0 (on the stream). */
function drained(this: unknown, _error?: Error | null, client?: Client): void {
  const bounded = (client ?? (this as { client?: Client }).client) as unknown as BoundedClient | undefined;
  if (!bounded) return;
  bounded[WAITING_FOR_DRAIN] = false;
  bounded[SATURATED_WRITES] = 0;
}
