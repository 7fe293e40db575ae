import { SetMetadata } from '@nestjs/common';
import { MQTT_EVENT_METADATA } from '../mqtt-ws.constants.js';
import type { MqttEventName } from '../interfaces/mqtt-events.interface.js';

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
