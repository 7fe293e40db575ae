import type { PipeTransform, Type } from '@nestjs/common';
import { MQTT_PARAM_ARGS_METADATA } from '../mqtt-ws.constants.js';
import { MqttParamtype } from '../enums/mqtt-paramtype.enum.js';

type Pipe = Type<PipeTransform> | PipeTransform;

export interface MqttParamMetadata {
  index: number;
  data: string | undefined;
  pipes: Pipe[];
}

function createMqttParamDecorator(paramtype: MqttParamtype) {
  return (data?: string, ...pipes: Pipe[]): ParameterDecorator =>
    (target, key, index) => {
      const host = target.constructor;
      const args: Record<string, MqttParamMetadata> = Reflect.getMetadata(MQTT_PARAM_ARGS_METADATA, host, key!) ?? {};
      Reflect.defineMetadata(
        MQTT_PARAM_ARGS_METADATA,
        { ...args, [`${paramtype}:${index}`]: { index, data, pipes } },
        host,
        key!,
      );
    };
}

const payload = createMqttParamDecorator(MqttParamtype.PAYLOAD);
const params = createMqttParamDecorator(MqttParamtype.PARAMS);

/**
 * The decoded payload (see `payloadFormat`), or one property of it. Pipes given here run after the
 * global ones; a global `ValidationPipe` validates it against the parameter's DTO class.
 */
export function Payload(...pipes: Pipe[]): ParameterDecorator;
export function Payload(property: string, ...pipes: Pipe[]): ParameterDecorator;
export function Payload(propertyOrPipe?: string | Pipe, ...pipes: Pipe[]): ParameterDecorator {
  return typeof propertyOrPipe === 'string' || propertyOrPipe === undefined
    ? payload(propertyOrPipe, ...pipes)
    : payload(undefined, propertyOrPipe, ...pipes);
}

/** All named topic params (`{ deviceId: 'd1' }`), or the one named. */
export function Params(name?: string, ...pipes: Pipe[]): ParameterDecorator {
  return params(name, ...pipes);
}

/** The message's topic. */
export const Topic = (): ParameterDecorator => createMqttParamDecorator(MqttParamtype.TOPIC)();
/** The raw MQTT PUBLISH packet (topic, payload buffer, qos, retain, …). */
export const Packet = (): ParameterDecorator => createMqttParamDecorator(MqttParamtype.PACKET)();
/** The publishing client's id, or `null` for a message published by the server. */
export const ClientId = (): ParameterDecorator => createMqttParamDecorator(MqttParamtype.CLIENT_ID)();
/** The whole `MqttContext` of the message: topic, params, packet, client and its upgrade request. */
export const Ctx = (): ParameterDecorator => createMqttParamDecorator(MqttParamtype.CONTEXT)();
