import { assignMetadata, type PipeTransform, type Type } from '@nestjs/common';
import { MQTT_PARAM_ARGS_METADATA } from '../mqtt-ws.constants.js';
import { MqttParamtype } from '../enums/mqtt-paramtype.enum.js';
import type { MqttPublishProperties } from '../interfaces/mqtt5.interface.js';

/** A pipe instance, or a pipe class that the app's injector builds with its dependencies. */
export type MqttParamPipe = Type<PipeTransform> | PipeTransform;

/**
 * Writes under Nest's route-arguments key in Nest's own entry format (`'<type>:<index>'`), so that
 * the scanner registers class pipes and `ExternalContextCreator` reads the entries as it reads those
 * of @nestjs/microservices.
 */
function createMqttParamDecorator(paramtype: MqttParamtype) {
  return (data?: string, ...pipes: MqttParamPipe[]): ParameterDecorator =>
    (target, key, index) => {
      const host = target.constructor;
      const args = Reflect.getMetadata(MQTT_PARAM_ARGS_METADATA, host, key!) ?? {};
      Reflect.defineMetadata(MQTT_PARAM_ARGS_METADATA, assignMetadata(args, paramtype, index, { data, pipes }), host, key!);
    };
}

const payload = createMqttParamDecorator(MqttParamtype.PAYLOAD);
const params = createMqttParamDecorator(MqttParamtype.PARAMS);
const properties = createMqttParamDecorator(MqttParamtype.PROPERTIES);
const userProperties = createMqttParamDecorator(MqttParamtype.USER_PROPERTIES);

/**
 * The decoded payload (see `payloadFormat`), or one property of it. Pipes given here, as classes
 * (built by the app's injector) or instances, run after the global, class and method pipes; a
 * global `ValidationPipe` validates the payload against the parameter's DTO class.
 */
export function Payload(...pipes: MqttParamPipe[]): ParameterDecorator;
export function Payload(property: string, ...pipes: MqttParamPipe[]): ParameterDecorator;
export function Payload(propertyOrPipe?: string | MqttParamPipe, ...pipes: MqttParamPipe[]): ParameterDecorator {
  return typeof propertyOrPipe === 'string' || propertyOrPipe === undefined
    ? payload(propertyOrPipe, ...pipes)
    : payload(undefined, propertyOrPipe, ...pipes);
}

/**
 * All named topic levels (`{ deviceId: 'd1' }`), or the one named. A name that a filter of the
 * handler does not declare fails at start-up.
 */
export function Params(...pipes: MqttParamPipe[]): ParameterDecorator;
export function Params(name: string, ...pipes: MqttParamPipe[]): ParameterDecorator;
export function Params(nameOrPipe?: string | MqttParamPipe, ...pipes: MqttParamPipe[]): ParameterDecorator {
  return typeof nameOrPipe === 'string' || nameOrPipe === undefined
    ? params(nameOrPipe, ...pipes)
    : params(undefined, nameOrPipe, ...pipes);
}

/** The message's topic. */
export const Topic = (): ParameterDecorator => createMqttParamDecorator(MqttParamtype.TOPIC)();
/** The raw MQTT PUBLISH packet (topic, payload buffer, qos, retain, …). */
export const Packet = (): ParameterDecorator => createMqttParamDecorator(MqttParamtype.PACKET)();
/** The publishing client's id, or `null` for a message published by the server. */
export const ClientId = (): ParameterDecorator => createMqttParamDecorator(MqttParamtype.CLIENT_ID)();
/** The whole `MqttContext` of the message: topic, params, packet, client and its upgrade request. */
export const Ctx = (): ParameterDecorator => createMqttParamDecorator(MqttParamtype.CONTEXT)();

/**
 * The MQTT 5 properties of the message (`MqttPublishProperties`), or the one named
 * (`@Properties('contentType')`). A message from an MQTT 3.1.1 client has none: `{}` (or `undefined`
 * for a named one). A name that is not an MQTT 5 PUBLISH property fails at start-up.
 */
export function Properties(...pipes: MqttParamPipe[]): ParameterDecorator;
export function Properties(name: keyof MqttPublishProperties, ...pipes: MqttParamPipe[]): ParameterDecorator;
export function Properties(nameOrPipe?: string | MqttParamPipe, ...pipes: MqttParamPipe[]): ParameterDecorator {
  return typeof nameOrPipe === 'string' || nameOrPipe === undefined
    ? properties(nameOrPipe, ...pipes)
    : properties(undefined, nameOrPipe, ...pipes);
}

/**
 * The MQTT 5 user properties of the message (`{ name: value }`, a name sent several times gives an
 * array of its values in order), or the value of the one named (`undefined` when absent).
 */
export function UserProperties(...pipes: MqttParamPipe[]): ParameterDecorator;
export function UserProperties(name: string, ...pipes: MqttParamPipe[]): ParameterDecorator;
export function UserProperties(nameOrPipe?: string | MqttParamPipe, ...pipes: MqttParamPipe[]): ParameterDecorator {
  return typeof nameOrPipe === 'string' || nameOrPipe === undefined
    ? userProperties(nameOrPipe, ...pipes)
    : userProperties(undefined, nameOrPipe, ...pipes);
}
