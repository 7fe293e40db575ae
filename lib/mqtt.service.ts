import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import type { MqttBroker, MqttPublishPacket } from './broker/mqtt-broker.js';
import { MqttRedisHealth } from './cluster/redis-health.js';
import type { MqttHealth } from './interfaces/mqtt-health.interface.js';
import type { MqttPublishOptions, MqttRequestOptions } from './interfaces/mqtt-publish-options.interface.js';
import { MqttReasonCode, type MqttReason } from './interfaces/mqtt5.interface.js';
import { MqttRequester } from './dispatch/mqtt-requester.js';
import { outgoingProperties } from './dispatch/publish-properties.js';
import { MQTT_BROKER } from './mqtt-ws.constants.js';
import { MqttWsListener } from './transport/mqtt-ws.listener.js';
import { topicNameError } from './topic/index.js';

/** Publishes from the server, and tells this instance's state. */
@Injectable()
export class MqttService implements BeforeApplicationShutdown {
  private requester: MqttRequester | undefined;

  constructor(
    @Inject(MQTT_BROKER) private readonly mqttBroker: MqttBroker,
    private readonly listener: MqttWsListener,
    private readonly redisHealth: MqttRedisHealth,
  ) {}

  /**
   * UNSUPPORTED escape hatch: the Aedes instance behind the module, typed `unknown` on purpose.
   * Nothing done to it is covered by the library's tests or its semver: its hooks are the
   * library's hook chain, its internals are patched (docs/design.md), and a minor release may
   * replace it (Aedes 2 for MQTT 5). Cast it at your own risk; prefer `publish`, `brokerId`,
   * `@OnMqttEvent()` and the `auth` policy.
   */
  get broker(): unknown {
    return this.mqttBroker.unsupportedInstance;
  }

  /** This instance's broker id (the `id` option, or a random UUID): distinct per instance of a cluster. */
  get brokerId(): string {
    return this.mqttBroker.id;
  }

  /**
   * Publishes a message as the server: subscribers receive it and in-process handlers run. It is not
   * subject to client authorization hooks. A Buffer is sent as it is, a string as UTF-8, anything
   * else as JSON. `options.properties` are MQTT 5 properties (user properties, content type, payload
   * format, response topic, correlation data, message expiry): MQTT 5 subscribers and handlers get
   * them, MQTT 3.1.1 subscribers get the message without them. A wrong option or property rejects,
   * naming the fix. Resolves once the broker routed (and for QoS 1/2, stored) the message and the
   * in-process handlers of its topic finished.
   */
  publish(topic: string, payload: Buffer | string | object, options: MqttPublishOptions = {}): Promise<void> {
    const packet = buildPacket(topic, payload, options, 'publish');
    if (typeof packet === 'string') return Promise.reject(new Error(packet));
    return this.send(packet);
  }

  /**
   * MQTT 5 request/response from the server: publishes `payload` on `topic` (encoded as `publish`
   * does, with the matching content type and payload format unless given) with this instance's
   * response topic (`nestjs-mqtt-ws/responses/<brokerId>`) and fresh correlation data, and resolves
   * with the first response that carries them, decoded by its format (JSON for a JSON content type,
   * a string for UTF-8 text, a Buffer otherwise). Rejects with `MqttResponseError` when the response
   * is an error response (user property `error`), with `MqttRequestTimeoutError` after
   * `options.timeout` ms (default 10000). The responder is an `@MqttSubscribe` handler of this app
   * (its return value is the response) or an MQTT 5 client subscribed to `topic`, which the auth
   * policy must let publish to the response topic.
   */
  async request<T = unknown>(topic: string, payload: Buffer | string | object, options: MqttRequestOptions = {}): Promise<T> {
    const { timeout = 10_000, qos = 1, properties = {}, ...rest } = options as MqttRequestOptions & Record<string, unknown>;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) throw new Error(`MqttService.request: unknown option '${unknown}'; the options are 'qos', 'timeout', 'properties'`);
    if (!Number.isInteger(timeout) || timeout <= 0) {
      throw new Error(`MqttService.request: timeout must be a positive integer number of milliseconds, got ${String(timeout)}`);
    }
    for (const owned of ['responseTopic', 'correlationData'] as const) {
      if (typeof properties === 'object' && properties !== null && owned in properties) throw new Error(`MqttService.request: properties.${owned} is set by request itself; use publish to set your own`);
    }
    const requester = (this.requester ??= new MqttRequester(this.mqttBroker));
    const placeholder = { ...formatOf(payload), ...properties, responseTopic: requester.responseTopic, correlationData: Buffer.alloc(0) };
    const packet = buildPacket(topic, payload, { qos, properties: placeholder }, 'request');
    if (typeof packet === 'string') throw new Error(packet);
    const { correlationData, response } = await requester.open(topic, timeout);
    packet.properties!.correlationData = correlationData;
    try {
      await this.send(packet);
    } catch (error) {
      requester.cancel(correlationData);
      throw error;
    }
    return response as Promise<T>;
  }

  /**
   * Ends a client's connection from the server. An MQTT 5 client gets a DISCONNECT with `reason`
   * (default 0x98 administrative action, and the reason string if given) before the connection
   * closes; an MQTT 3.1.1 client, which has no server DISCONNECT, is closed. `false` when no client
   * with this id is connected to this instance (in a cluster, call it on every instance).
   */
  disconnect(clientId: string, reason: MqttReasonCode | MqttReason = MqttReasonCode.AdministrativeAction): boolean {
    if (typeof clientId !== 'string' || clientId.length === 0) throw new Error('MqttService.disconnect: clientId must be a non-empty string');
    const given = typeof reason === 'number' ? { code: reason } : reason;
    if (given === null || typeof given !== 'object' || !DISCONNECT_REASON_CODES.has(given.code)) {
      throw new Error(
        `MqttService.disconnect: ${JSON.stringify(typeof reason === 'number' ? reason : given?.code)} is not a reason code a server ` +
          'DISCONNECT may carry (MQTT 5.0 section 3.14.2.1); use one of MqttReasonCode.AdministrativeAction, ' +
          'NotAuthorized, ServerShuttingDown, SessionTakenOver, QuotaExceeded, UseAnotherServer, ServerMoved…',
      );
    }
    if (given.reasonString !== undefined && typeof given.reasonString !== 'string') {
      throw new Error('MqttService.disconnect: reason.reasonString must be a string');
    }
    return this.mqttBroker.disconnect(clientId, given.reasonString === undefined ? { code: given.code } : { code: given.code, reasonString: given.reasonString });
  }

  /** Pending `request`s reject: no response can come once the broker closes. */
  beforeApplicationShutdown(): void {
    this.requester?.close();
  }

  private send(packet: MqttPublishPacket): Promise<void> {
    return new Promise((resolve, reject) => {
      this.mqttBroker.publish(packet, (err?: Error | null) => (err ? reject(err) : resolve()));
    });
  }

  /** The address of the dedicated `port`, or `null` when MQTT is served on the app's HTTP server. */
  dedicatedAddress(): AddressInfo | null {
    return this.listener.address;
  }

  /**
   * The URLs MQTT is served on, as listening now: `ws://…/mqtt` (`wss://` with TLS) on the app's
   * server once `app.listen()` resolved, or on the dedicated `port`; then `mqtt://…` and `mqtts://…`
   * for each `tcp` listener. The host is the address listened on (`0.0.0.0`, `[::]` for all interfaces).
   */
  endpoints(): string[] {
    return this.listener.endpoints;
  }

  /**
   * This instance's health as the module sees it, for the app's health endpoint: `redis` is `'down'`
   * while a connection to Redis is lost (the instance keeps serving its clients and waits for it),
   * `'up'` otherwise, `'disabled'` without the `redis` option. A fresh object on each call.
   */
  health(): MqttHealth {
    return this.redisHealth.snapshot();
  }

  /** Open MQTT WebSocket connections of this instance. */
  get connectionCount(): number {
    return this.listener.connectionCount;
  }
}

/** Reason codes a server's DISCONNECT may carry (MQTT 5.0 table 3-18 less the client-only ones). */
const DISCONNECT_REASON_CODES = new Set<number>([
  0x00, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b,
  0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
]);
const PUBLISH_OPTIONS = new Set(['qos', 'retain', 'properties']);

/** The PUBLISH packet of a server publish, or the mistake in its arguments with the fix. */
function buildPacket(topic: string, payload: Buffer | string | object, options: MqttPublishOptions, method: string): MqttPublishPacket | string {
  const topicError = validatePublishTopic(topic);
  if (topicError) return `MqttService.${method}: ${topicError}`;
  if (options === null || typeof options !== 'object') return `MqttService.${method}: options must be an object`;
  for (const key of Object.keys(options)) {
    if (!PUBLISH_OPTIONS.has(key)) return `MqttService.${method}: unknown option '${key}'; the options are 'qos', 'retain', 'properties'`;
  }
  const qos = options.qos ?? 0;
  if (qos !== 0 && qos !== 1 && qos !== 2) return `MqttService.${method}: qos must be 0, 1 or 2, got ${String(qos)}`;
  if (options.retain !== undefined && typeof options.retain !== 'boolean') {
    return `MqttService.${method}: retain must be true or false, got ${JSON.stringify(options.retain)}`;
  }
  const bytes = encodePayload(payload);
  const packet: MqttPublishPacket = { cmd: 'publish', topic, payload: bytes, qos, retain: options.retain ?? false, dup: false };
  if (options.properties !== undefined) {
    const properties = outgoingProperties(options.properties, bytes);
    if (typeof properties === 'string') return `MqttService.${method}: ${properties}`;
    packet.properties = properties;
  }
  return packet;
}

/** The content type and payload format of a request, as handlers' answers carry them (unless given). */
function formatOf(payload: Buffer | string | object): { contentType?: string; payloadFormatIndicator?: boolean } {
  if (Buffer.isBuffer(payload) || payload instanceof Uint8Array) return {};
  if (typeof payload === 'string') return { contentType: 'text/plain; charset=utf-8', payloadFormatIndicator: true };
  return { contentType: 'application/json', payloadFormatIndicator: true };
}

function encodePayload(payload: Buffer | string | object): Buffer {
  if (Buffer.isBuffer(payload)) return payload;
  if (typeof payload === 'string') return Buffer.from(payload);
  if (payload instanceof Uint8Array) return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return Buffer.from(JSON.stringify(payload) ?? 'null');
}

function validatePublishTopic(topic: unknown): string | undefined {
  return typeof topic === 'string' ? topicNameError(topic) : 'the topic must be a string';
}
