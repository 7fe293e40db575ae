import type { MqttUpgradeRequest } from './mqtt-upgrade-request.interface.js';
import type { MqttClientInfo, MqttWill } from '../broker/mqtt-broker.js';
import type { MqttRedisStatusEvent } from './mqtt-health.interface.js';

export interface MqttClientEvent {
  clientId: string;
  /** The client's description (`MqttClientInfo`): the same object for the whole connection, and the one `getMqttPrincipal` takes. */
  client: MqttClientInfo;
  /**
   * The HTTP upgrade request the connection came with (`client.request`). Every connection of the
   * module's WebSocket endpoint has one; it is `undefined` only for a connection handed to the
   * broker without one, which the module itself never does.
   */
  request: MqttUpgradeRequest | undefined;
}

export type { MqttClientInfo, MqttWill };

export interface MqttClientConnectedEvent extends MqttClientEvent {
  /** The client's last will, or `null` if it registered none. */
  will: MqttWill | null;
}

export interface MqttSubscribedEvent extends MqttClientEvent {
  subscriptions: { topic: string; qos: number }[];
}

export interface MqttUnsubscribedEvent extends MqttClientEvent {
  topics: string[];
}

export interface MqttClientErrorEvent extends MqttClientEvent {
  error: Error;
}

/** Broker lifecycle events that `@OnMqttEvent()` methods receive, with the argument each gets. */
export interface MqttEventMap {
  'client.connected': MqttClientConnectedEvent;
  'client.disconnected': MqttClientEvent;
  'client.subscribed': MqttSubscribedEvent;
  'client.unsubscribed': MqttUnsubscribedEvent;
  'client.error': MqttClientErrorEvent;
  /** This instance lost Redis (option `redis`); once per outage, not per reconnection attempt. */
  'redis.down': MqttRedisStatusEvent;
  /** Redis is back after a `redis.down`. */
  'redis.up': MqttRedisStatusEvent;
}

export type MqttEventName = keyof MqttEventMap;
