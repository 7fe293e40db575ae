import { SetMetadata } from '@nestjs/common';
import { MQTT_SUBSCRIBE_METADATA } from '../mqtt-ws.constants.js';
import type { MqttSubscribeOptions } from '../interfaces/mqtt-subscribe-options.interface.js';

export interface MqttSubscribeMetadata {
  topics: string[];
  options: MqttSubscribeOptions;
}

/**
 * Runs the method for every message whose topic matches one of the filters. Filters use MQTT's `+`
 * and `#`, and `:name` for a single level whose value `@Params('name')` returns. A method may carry
 * several `@MqttSubscribe` decorators.
 */
export function MqttSubscribe(topics: string | string[], options: MqttSubscribeOptions = {}): MethodDecorator {
  const entry: MqttSubscribeMetadata = { topics: Array.isArray(topics) ? topics : [topics], options };
  return (target, key, descriptor) => {
    const existing: MqttSubscribeMetadata[] = Reflect.getMetadata(MQTT_SUBSCRIBE_METADATA, descriptor.value as object) ?? [];
    return SetMetadata(MQTT_SUBSCRIBE_METADATA, [...existing, entry])(target, key, descriptor);
  };
}
