export const MQTT_BROKER = Symbol('MQTT_BROKER');
export const MQTT_WS_RESOLVED_OPTIONS = Symbol('MQTT_WS_RESOLVED_OPTIONS');

export const MQTT_SUBSCRIBE_METADATA = 'nestjs-mqtt-ws:subscribe';
export const MQTT_EVENT_METADATA = 'nestjs-mqtt-ws:event';
/** Our own key, so MQTT handler params never collide with HTTP route params on the same method. */
export const MQTT_PARAM_ARGS_METADATA = 'nestjs-mqtt-ws:param-args';

export const MQTT_CONTEXT_TYPE = 'mqtt';

/** The subprotocols MQTT over WebSocket defines (MQTT 3.1.1 section 6), in order of preference. */
export const MQTT_SUBPROTOCOLS: readonly string[] = ['mqtt', 'mqttv3.1'];

export const DEFAULT_PATH = '/mqtt';
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** Aedes options passed through as they are, each a non-negative integer. */
export const AEDES_COUNT_OPTIONS = [
  'concurrency',
  'heartbeatInterval',
  'connectTimeout',
  'queueLimit',
  'keepaliveLimit',
  'maxClientsIdLength',
  'drainTimeout',
] as const;
