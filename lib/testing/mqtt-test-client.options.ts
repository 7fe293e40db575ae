import type { IClientOptions } from 'mqtt';

/** How `MqttTestClient.connect` reaches the app. Everything is optional. */
export interface MqttTestClientOptions {
  /**
   * `'ws'`: the WebSocket endpoint (the app's port or the dedicated one); `'tcp'`: the first `tcp`
   * listener (mqtt:// or mqtts://). Default: `'ws'` when the app serves it, else `'tcp'`.
   */
  transport?: 'ws' | 'tcp';
  /** 4 (MQTT 3.1.1, the default) or 5 (MQTT 5, once the broker speaks it). */
  protocolVersion?: 4 | 5;
  clientId?: string;
  username?: string;
  password?: string | Buffer;
  /** CONNECT CleanSession / Clean Start. Default `true`. */
  clean?: boolean;
  /** ms to wait for the CONNACK. Default 5000. */
  connectTimeout?: number;
  /** Any other MQTT.js option (`ca`, `rejectUnauthorized`, `will`, `properties`…), applied last. */
  mqtt?: IClientOptions;
}

export interface MqttTestPublishOptions {
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

export interface MqttTestSubscribeOptions {
  qos?: 0 | 1 | 2;
}

export interface MqttTestNextMessageOptions {
  /** ms to wait for a message before rejecting. Default 5000. */
  timeout?: number;
}
