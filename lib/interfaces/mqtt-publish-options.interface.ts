import type { MqttPublishProperties } from './mqtt5.interface.js';

/** The MQTT 5 properties a server publish may carry; MQTT 3.1.1 subscribers get the message without them. */
export type MqttOutgoingProperties = Omit<MqttPublishProperties, 'subscriptionIdentifier' | 'correlationData'> & {
  /** Binary data that ties a response to its request; a string is sent as its UTF-8 bytes. */
  correlationData?: Buffer | Uint8Array | string;
};

export interface MqttPublishOptions {
  /** Default 0. */
  qos?: 0 | 1 | 2;
  /** Default false. */
  retain?: boolean;
  /** MQTT 5 properties; checked before anything is sent (a wrong name or type rejects). */
  properties?: MqttOutgoingProperties;
}

/** `MqttService.request`: a publish with a response topic and correlation data, answered by a response. */
export interface MqttRequestOptions {
  /** Default 1. */
  qos?: 0 | 1 | 2;
  /** Milliseconds to wait for the response before rejecting with `MqttRequestTimeoutError`. Default 10000. */
  timeout?: number;
  /** More MQTT 5 properties for the request (user properties, content type…); `responseTopic` and `correlationData` are the service's. */
  properties?: Omit<MqttOutgoingProperties, 'responseTopic' | 'correlationData'>;
}
