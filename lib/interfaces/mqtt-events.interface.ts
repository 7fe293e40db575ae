import type { MqttUpgradeRequest } from './mqtt-upgrade-request.interface.js';
import type { Client } from 'aedes';
import type { MqttRedisStatusEvent } from './mqtt-health.interface.js';

export interface MqttClientEvent {
  clientId: string;
  client: Client;
  /** The HTTP upgrade request the connection came with. */
  request: MqttUpgradeRequest | undefined;
}

/** The last will a client registered in its CONNECT. */
export interface MqttWill {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

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
