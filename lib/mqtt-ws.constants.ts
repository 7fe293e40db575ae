import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';

export const MQTT_BROKER = Symbol('MQTT_BROKER');
export const MQTT_WS_RESOLVED_OPTIONS = Symbol('MQTT_WS_RESOLVED_OPTIONS');

export const MQTT_SUBSCRIBE_METADATA = 'nestjs-mqtt-ws:subscribe';
export const MQTT_EVENT_METADATA = 'nestjs-mqtt-ws:event';
/**
 * Nest's route-arguments key, as @nestjs/microservices and @nestjs/websockets use it: Nest's scanner
 * reads the pipes given as classes there (`@Payload(MyPipe)`) and registers them as injectables, so
 * they are built by the injector; under a key of our own the pipes context silently drops them.
 */
export const MQTT_PARAM_ARGS_METADATA = ROUTE_ARGS_METADATA;

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
