import type { ArgumentsHost } from '@nestjs/common';
import type { MqttClientInfo, MqttPublishPacket } from './broker/mqtt-broker.js';
import type { TopicFilter } from './topic/index.js';
import type { MqttUpgradeRequest } from './interfaces/mqtt-upgrade-request.interface.js';
import type { MqttProtocolVersion, MqttPublishProperties } from './interfaces/mqtt5.interface.js';
import { MQTT_CONTEXT_TYPE } from './mqtt-ws.constants.js';

/** What a message without MQTT 5 properties reads: one shared, frozen object, so reading costs nothing. */
export const NO_PROPERTIES: Readonly<MqttPublishProperties> = Object.freeze({});
const NO_USER_PROPERTIES: Readonly<Record<string, string | string[]>> = Object.freeze({});

/**
 * What an MQTT handler knows about the message it runs for. It is the second handler argument,
 * so guards and interceptors reach it as `context.switchToRpc().getContext<MqttContext>()`
 * (and the decoded payload as `getData()`).
 */
export class MqttContext {
  private cachedParams: Record<string, string> | undefined;

  constructor(
    readonly packet: MqttPublishPacket,
    /** The publishing client's description; `null` for a message published by the server (or a will of a client of another instance). */
    readonly client: MqttClientInfo | null,
    private readonly filter: TopicFilter,
  ) {}

  get topic(): string {
    return this.packet.topic;
  }

  get clientId(): string | null {
    return this.client?.id ?? null;
  }

  /** The HTTP upgrade request of the publishing client's WebSocket (cookies, headers, query). */
  get request(): MqttUpgradeRequest | undefined {
    return this.client?.request;
  }

  /**
   * The MQTT version the message was published with: the publishing client's protocol level (3, 4
   * or 5); 5 when `client` is `null` (a message published by the server, which carries MQTT 5
   * properties, or a will published for a client of another instance).
   */
  get protocolVersion(): MqttProtocolVersion {
    return (this.client?.protocolVersion as MqttProtocolVersion | null | undefined) ?? 5;
  }

  /** The message's MQTT 5 properties; `{}` for a message without any (every MQTT 3.1.1 message). */
  get properties(): Readonly<MqttPublishProperties> {
    return this.packet.properties ?? NO_PROPERTIES;
  }

  /** The MQTT 5 user properties (a name sent several times has an array of its values); `{}` without any. */
  get userProperties(): Readonly<Record<string, string | string[]>> {
    return this.packet.properties?.userProperties ?? NO_USER_PROPERTIES;
  }

  /** The values of the handler filter's `:name` levels; computed on first use. */
  get params(): Record<string, string> {
    return (this.cachedParams ??= this.filter.extractParams(this.packet.topic));
  }

  /** The topic filter of the handler, as given to `@MqttSubscribe`. */
  get pattern(): string {
    return this.filter.pattern;
  }
}

/**
 * The `MqttContext` of an MQTT handler's execution context (in a guard or interceptor) or arguments
 * host (in an exception filter), or `undefined` in any other context.
 */
export function getMqttContext(context: ArgumentsHost): MqttContext | undefined {
  return context.getType<string>() === MQTT_CONTEXT_TYPE ? context.switchToRpc().getContext<MqttContext>() : undefined;
}
