import { Inject, Injectable } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import type { MqttBroker } from './broker/mqtt-broker.js';
import { MqttRedisHealth } from './cluster/redis-health.js';
import type { MqttHealth } from './interfaces/mqtt-health.interface.js';
import type { MqttPublishOptions } from './interfaces/mqtt-publish-options.interface.js';
import { MQTT_BROKER } from './mqtt-ws.constants.js';
import { MqttWsListener } from './transport/mqtt-ws.listener.js';

/** Publishes from the server, and tells this instance's state. */
@Injectable()
export class MqttService {
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
   * else as JSON. Resolves once the broker routed (and for QoS 1/2, stored) the message and the
   * in-process handlers of its topic finished.
   */
  publish(topic: string, payload: Buffer | string | object, options: MqttPublishOptions = {}): Promise<void> {
    const error = validatePublishTopic(topic);
    if (error) return Promise.reject(new Error(`MqttService.publish: ${error}`));
    const qos = options.qos ?? 0;
    if (qos !== 0 && qos !== 1 && qos !== 2) {
      return Promise.reject(new Error(`MqttService.publish: qos must be 0, 1 or 2, got ${String(qos)}`));
    }
    const packet = {
      cmd: 'publish' as const,
      topic,
      payload: encodePayload(payload),
      qos,
      retain: options.retain ?? false,
      dup: false,
    };
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

function encodePayload(payload: Buffer | string | object): Buffer {
  if (Buffer.isBuffer(payload)) return payload;
  if (typeof payload === 'string') return Buffer.from(payload);
  if (payload instanceof Uint8Array) return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return Buffer.from(JSON.stringify(payload) ?? 'null');
}

function validatePublishTopic(topic: unknown): string | undefined {
  if (typeof topic !== 'string' || topic.length === 0) return 'the topic must be a non-empty string';
  if (topic.includes('+') || topic.includes('#')) return `the topic must not contain wildcards, got "${topic}"`;
  if (topic.includes('\u0000')) return 'the topic must not contain the null character';
  if (Buffer.byteLength(topic) > 65535) return 'the topic must be at most 65535 bytes';
  return undefined;
}
