import type { ParamsFactory } from '@nestjs/core';
import { MqttParamtype } from './enums/mqtt-paramtype.enum.js';
import type { MqttPublishProperties } from './interfaces/mqtt5.interface.js';
import type { MqttContext } from './mqtt.context.js';

/** Maps each MQTT parameter decorator to its value; handler arguments are `[payload, MqttContext]`. */
export class MqttParamsFactory implements ParamsFactory {
  exchangeKeyForValue(type: number, data: unknown, args: [unknown, MqttContext]): unknown {
    const [payload, context] = args;
    const key = data as string | undefined;
    switch (type) {
      case MqttParamtype.PAYLOAD:
        if (key === undefined) return payload;
        // A property of a JSON document that is not an object (`42`, `"text"`, `null`) does not exist.
        return payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>)[key] : undefined;
      case MqttParamtype.PARAMS:
        return key ? context.params[key] : context.params;
      case MqttParamtype.TOPIC:
        return context.topic;
      case MqttParamtype.PACKET:
        return context.packet;
      case MqttParamtype.CLIENT_ID:
        return context.clientId;
      case MqttParamtype.CONTEXT:
        return context;
      case MqttParamtype.PROPERTIES:
        return key ? context.packet.properties?.[key as keyof MqttPublishProperties] : context.properties;
      case MqttParamtype.USER_PROPERTIES:
        return key ? context.packet.properties?.userProperties?.[key] : context.userProperties;
      default:
        return undefined;
    }
  }
}
