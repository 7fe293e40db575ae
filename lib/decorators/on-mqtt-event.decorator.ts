import { SetMetadata } from '@nestjs/common';
import { MQTT_EVENT_METADATA } from '../mqtt-ws.constants.js';
import type { MqttEventName } from '../interfaces/mqtt-events.interface.js';

/** Every key of `MqttEventMap`: the compiler fails here when one is added and not listed. */
const EVENT_NAMES: Record<MqttEventName, true> = {
  'client.connected': true,
  'client.disconnected': true,
  'client.subscribed': true,
  'client.unsubscribed': true,
  'client.error': true,
  'redis.down': true,
  'redis.up': true,
};

/** The names `@OnMqttEvent` accepts; any other fails at start-up. */
export const MQTT_EVENT_NAMES = Object.keys(EVENT_NAMES) as readonly MqttEventName[];

/**
 * Runs the method on a broker lifecycle event; it receives the event object of `MqttEventMap`.
 * A method may carry several `@OnMqttEvent` decorators.
 */
export function OnMqttEvent(event: MqttEventName): MethodDecorator {
  return (target, key, descriptor) => {
    const existing: MqttEventName[] = Reflect.getMetadata(MQTT_EVENT_METADATA, descriptor.value as object) ?? [];
    return SetMetadata(MQTT_EVENT_METADATA, [...existing, event])(target, key, descriptor);
  };
}
