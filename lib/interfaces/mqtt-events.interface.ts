import type { IncomingMessage } from 'node:http';
import type { Client } from 'aedes';

export interface MqttClientEvent {
  clientId: string;
  client: Client;
  /** The HTTP upgrade request the connection came with. */
  request: IncomingMessage | undefined;
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
  'client.connected': MqttClientEvent;
  'client.disconnected': MqttClientEvent;
  'client.subscribed': MqttSubscribedEvent;
  'client.unsubscribed': MqttUnsubscribedEvent;
  'client.error': MqttClientErrorEvent;
}

export type MqttEventName = keyof MqttEventMap;
