/**
 * The decorator mistakes a handler can hold, caught while the explorer binds it so the app refuses
 * to start with the fix in the message, instead of a handler that silently gets `undefined`.
 */
import type { Logger } from '@nestjs/common';
import { CUSTOM_ROUTE_ARGS_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE, type ModulesContainer } from '@nestjs/core';
import { ContextUtils } from '@nestjs/core/helpers/context-utils.js';
import { MQTT_EVENT_NAMES } from './decorators/on-mqtt-event.decorator.js';
import { MqttParamtype } from './enums/mqtt-paramtype.enum.js';
import type { MqttEventName } from './interfaces/mqtt-events.interface.js';
import type { MqttPublishProperties } from './interfaces/mqtt5.interface.js';
import type { MqttSubscribeOptions } from './interfaces/mqtt-subscribe-options.interface.js';
import type { PayloadFormat } from './interfaces/payload-format.type.js';
import { MQTT_PARAM_ARGS_METADATA } from './mqtt-ws.constants.js';
import type { TopicFilter } from './topic/index.js';
import { closestName } from './closest-name.js';

/** Other Nest transports that read a method's parameter decorators from the same metadata key. */
const OTHER_HANDLER_MARKS: readonly (readonly [key: string, what: string])[] = [
  [METHOD_METADATA, 'an HTTP route (@Get, @Post, …)'],
  ['microservices:pattern', 'a microservice handler (@MessagePattern, @EventPattern)'],
  ['websockets:message_mapping', 'a WebSocket gateway handler (@SubscribeMessage)'],
];

/** Our parameter types; Nest's HTTP ones (`@Req()`, `@Query()`, …) mean nothing to an MQTT handler. */
const MQTT_PARAM_TYPES = new Set<number>(Object.values(MqttParamtype).filter((value) => typeof value === 'number'));
const MQTT_DECORATORS =
  "@Payload(), @Params('name'), @Topic(), @ClientId(), @Packet(), @Properties(), @UserProperties() or @Ctx()";

/** The MQTT 5 PUBLISH properties a handler can read by name with `@Properties('name')`. */
export const PUBLISH_PROPERTY_NAMES: readonly (keyof MqttPublishProperties)[] = [
  'payloadFormatIndicator',
  'messageExpiryInterval',
  'contentType',
  'responseTopic',
  'correlationData',
  'userProperties',
  'subscriptionIdentifier',
];

interface ParamEntry {
  index: number;
  data?: unknown;
}

const contextUtils = new ContextUtils();

/**
 * Checks an `@MqttSubscribe` method against its filters and tells whether it reads the payload (a
 * handler that does not is not made to pay for decoding it). Reads the parameter metadata where
 * `ExternalContextCreator` reads it, so both see the same entries.
 */
export function checkMessageHandler(
  instance: object,
  methodName: string,
  handlerName: string,
  filters: readonly TopicFilter[],
  payloadFormats: readonly PayloadFormat[],
): { takesPayload: boolean } {
  const method = (instance as Record<string, Function>)[methodName];
  for (const [key, what] of OTHER_HANDLER_MARKS) {
    if (Reflect.getMetadata(key, method) !== undefined) {
      throw new Error(
        `MqttWsModule: ${handlerName} is both an MQTT handler (@MqttSubscribe) and ${what}. Both read the ` +
          'parameter decorators of the method, so each would get the arguments meant for the other. ' +
          'Put the shared work in a method without decorators and call it from two handlers.',
      );
    }
  }
  const entries: Record<string, ParamEntry> = contextUtils.reflectCallbackMetadata(instance, methodName, MQTT_PARAM_ARGS_METADATA) ?? {};
  const byIndex = new Map<number, string>();
  let takesPayload = false;
  for (const [key, entry] of Object.entries(entries)) {
    const type = key.split(':')[0];
    byIndex.set(entry.index, type);
    if (key.includes(CUSTOM_ROUTE_ARGS_METADATA)) {
      // A custom decorator may read `switchToRpc().getData()`, the decoded payload.
      takesPayload = true;
      continue;
    }
    if (!MQTT_PARAM_TYPES.has(Number(type))) {
      throw new Error(
        `MqttWsModule: parameter ${entry.index} of ${handlerName} has a decorator that is not an MQTT one ` +
          `(Nest's route parameter type ${type}, such as @Req() or @Query()). Use ${MQTT_DECORATORS}.`,
      );
    }
    if (Number(type) === MqttParamtype.PAYLOAD) {
      takesPayload = true;
      checkPayloadProperty(entry, handlerName, payloadFormats);
    }
    if (Number(type) === MqttParamtype.PARAMS) checkParamsEntry(entry, handlerName, filters);
    if (Number(type) === MqttParamtype.PROPERTIES) checkPropertiesEntry(entry, handlerName);
    if (Number(type) === MqttParamtype.USER_PROPERTIES) checkUserPropertiesEntry(entry, handlerName);
  }
  const paramtypes: unknown[] | undefined = contextUtils.reflectCallbackParamtypes(instance, methodName);
  const parameterCount = Math.max(paramtypes?.length ?? 0, method.length);
  for (let index = 0; index < parameterCount; index++) {
    if (!byIndex.has(index)) {
      throw new Error(
        `MqttWsModule: parameter ${index} of ${handlerName} has no decorator. An MQTT handler receives only ` +
          `what its parameters ask for: decorate it with ${MQTT_DECORATORS} (or a createParamDecorator one).`,
      );
    }
  }
  return { takesPayload };
}

/** `@Payload('property')` reads a property of a JSON document; of a string or Buffer it is `undefined`. */
function checkPayloadProperty(entry: ParamEntry, handlerName: string, payloadFormats: readonly PayloadFormat[]): void {
  const format = payloadFormats.find((candidate) => candidate !== 'json');
  if (entry.data === undefined || format === undefined) return;
  throw new Error(
    `MqttWsModule: @Payload('${String(entry.data)}') on parameter ${entry.index} of ${handlerName} reads a property of a ` +
      `JSON payload, but the handler decodes payloads as '${format}'. Use @Payload() for the whole ${format}, or ` +
      "payloadFormat: 'json'.",
  );
}

/** `@Properties('name')` must name an MQTT 5 PUBLISH property, or it would always be `undefined`. */
function checkPropertiesEntry(entry: ParamEntry, handlerName: string): void {
  const name = entry.data;
  if (name === undefined || (PUBLISH_PROPERTY_NAMES as readonly unknown[]).includes(name)) return;
  const closest = typeof name === 'string' ? closestName(name, PUBLISH_PROPERTY_NAMES) : undefined;
  throw new Error(
    `MqttWsModule: @Properties(${JSON.stringify(name)}) on parameter ${entry.index} of ${handlerName}: there is no such ` +
      'MQTT 5 PUBLISH property' +
      (closest === undefined ? '' : `; did you mean @Properties('${closest}')?`) +
      ` The properties are ${PUBLISH_PROPERTY_NAMES.map((known) => `'${known}'`).join(', ')}` +
      " (for a user property, use @UserProperties('name')).",
  );
}

/** `@UserProperties('name')` takes a non-empty name; the names themselves are the application's. */
function checkUserPropertiesEntry(entry: ParamEntry, handlerName: string): void {
  if (entry.data === undefined || (typeof entry.data === 'string' && entry.data.length > 0)) return;
  throw new Error(
    `MqttWsModule: @UserProperties(${JSON.stringify(entry.data)}) on parameter ${entry.index} of ${handlerName}: the name ` +
      "must be a non-empty string (@UserProperties('tenant')), or nothing for all user properties.",
  );
}

const SUBSCRIBE_OPTIONS: Record<keyof MqttSubscribeOptions, true> = { payloadFormat: true, scope: true };
const PAYLOAD_FORMATS: readonly PayloadFormat[] = ['json', 'text', 'buffer'];

/** The options of one `@MqttSubscribe`: no unknown key (a typo would be ignored), a known payload format. */
export function checkSubscribeOptions(options: unknown, handlerName: string): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(`MqttWsModule: @MqttSubscribe on ${handlerName}: the options must be an object, got ${JSON.stringify(options)}`);
  }
  const known = Object.keys(SUBSCRIBE_OPTIONS);
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const closest = closestName(key, known);
    throw new Error(
      `MqttWsModule: @MqttSubscribe on ${handlerName}: unknown option '${key}'` +
        (closest === undefined ? '' : `; did you mean '${closest}'?`) +
        ` The options are ${known.map((name) => `'${name}'`).join(', ')}.`,
    );
  }
  const format = (options as MqttSubscribeOptions).payloadFormat;
  if (format !== undefined && !PAYLOAD_FORMATS.includes(format)) {
    throw new Error(
      `MqttWsModule: @MqttSubscribe on ${handlerName}: payloadFormat must be 'json', 'text' or 'buffer', got ${JSON.stringify(format)}`,
    );
  }
}

/** `@Params('name')` must name a level of every filter of the handler, so it is never `undefined`. */
function checkParamsEntry(entry: ParamEntry, handlerName: string, filters: readonly TopicFilter[]): void {
  const name = entry.data;
  if (name === undefined) {
    if (filters.some((filter) => filter.hasParams)) return;
    throw new Error(
      `MqttWsModule: @Params() on parameter ${entry.index} of ${handlerName}: none of its filters ` +
        `(${filters.map((filter) => `'${filter.pattern}'`).join(', ')}) has a named level, so it would always be {}. ` +
        "Name a level in the filter ('devices/:id/status'), or use @Topic() for the whole topic.",
    );
  }
  for (const filter of filters) {
    if (filter.paramNames.includes(name as string)) continue;
    const known = filter.paramNames;
    const closest = closestName(name as string, known);
    throw new Error(
      `MqttWsModule: @Params('${String(name)}') on parameter ${entry.index} of ${handlerName}: the filter ` +
        `'${filter.pattern}' has no level ':${String(name)}'` +
        (known.length === 0
          ? ' and no named levels at all'
          : `; its named levels are ${known.map((level) => `':${level}'`).join(', ')}`) +
        (closest === undefined ? '.' : `. Did you mean @Params('${closest}')?`) +
        (filters.length > 1 ? ' A named param must be a level of every filter of the handler.' : ''),
    );
  }
}

/** `@OnMqttEvent(name)` must name an event that exists. */
export function checkEventName(event: unknown, handlerName: string): asserts event is MqttEventName {
  if ((MQTT_EVENT_NAMES as readonly unknown[]).includes(event)) return;
  const closest = typeof event === 'string' ? closestName(event, MQTT_EVENT_NAMES) : undefined;
  throw new Error(
    `MqttWsModule: @OnMqttEvent(${JSON.stringify(event)}) on ${handlerName}: there is no such event` +
      (closest === undefined ? '' : `; did you mean '${closest}'?`) +
      ` The events are ${MQTT_EVENT_NAMES.map((name) => `'${name}'`).join(', ')}.`,
  );
}

const GLOBAL_ENHANCER_KINDS = [
  [APP_GUARD, 'guard'],
  [APP_INTERCEPTOR, 'interceptor'],
  [APP_PIPE, 'pipe'],
  [APP_FILTER, 'filter'],
] as const;

/**
 * A request-scoped or transient global enhancer (`APP_GUARD` … with a `scope`) is resolved by Nest
 * per HTTP request; for a handler wrapped once, as MQTT handlers are, its context creators leave it
 * out without a word. A guard left out is a hole, so the app refuses to start; an interceptor, pipe
 * or filter left out is announced.
 */
export function checkGlobalEnhancers(modules: ModulesContainer, logger: Logger): void {
  for (const { kind, name } of scopedGlobalEnhancers(modules)) {
    const problem =
      `the global ${kind} ${name} is request-scoped or transient, ` +
      'and MQTT messages have no request to build it for, so it does not run on @MqttSubscribe handlers.';
    if (kind === 'guard') {
      throw new Error(
        `MqttWsModule: ${problem} Make it a singleton (the default scope): a guard reads the HTTP request ` +
          'from its ExecutionContext (context.switchToHttp().getRequest()) and needs no request scope for that.',
      );
    }
    logger.warn(`${problem[0].toUpperCase()}${problem.slice(1)} Make it a singleton for it to run there.`);
  }
}

interface ScopedGlobalEnhancer {
  kind: (typeof GLOBAL_ENHANCER_KINDS)[number][1];
  name: string;
}

/** Nest registers each `APP_*` provider under a token of its own, `'APP_GUARD (UUID: …)'`. */
function scopedGlobalEnhancers(modules: ModulesContainer): ScopedGlobalEnhancer[] {
  const found: ScopedGlobalEnhancer[] = [];
  for (const moduleRef of modules.values()) {
    for (const collection of [moduleRef.providers, moduleRef.injectables]) {
      for (const [token, wrapper] of collection) {
        if (typeof token !== 'string') continue;
        const kind = GLOBAL_ENHANCER_KINDS.find(([prefix]) => token.startsWith(`${prefix} (`))?.[1];
        if (kind === undefined || (wrapper.isDependencyTreeStatic() && !wrapper.isTransient)) continue;
        found.push({ kind, name: (wrapper.metatype as { name?: string } | null)?.name ?? token });
      }
    }
  }
  return found;
}
