import { Inject, Injectable, Logger, Scope, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, ExternalContextCreator, MetadataScanner, ModulesContainer } from '@nestjs/core';
import type { MqttBroker } from './broker/mqtt-broker.js';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import type { MqttSubscribeMetadata } from './decorators/mqtt-subscribe.decorator.js';
import type { MqttHandlerScope } from './interfaces/mqtt-subscribe-options.interface.js';
import { MqttEventDispatcher } from './dispatch/mqtt-event.dispatcher.js';
import { MqttMessageDispatcher } from './dispatch/mqtt-message.dispatcher.js';
import { TopicFilter } from './topic/index.js';
import type { MqttContext } from './mqtt.context.js';
import { MqttMetadataAccessor } from './mqtt-metadata.accessor.js';
import { MqttParamsFactory } from './mqtt-params.factory.js';
import { checkEventName, checkGlobalEnhancers, checkMessageHandler, checkSubscribeOptions } from './mqtt-handler.validator.js';
import { MQTT_BROKER, MQTT_CONTEXT_TYPE, MQTT_PARAM_ARGS_METADATA, MQTT_WS_RESOLVED_OPTIONS } from './mqtt-ws.constants.js';
import type { ResolvedMqttWsOptions } from './mqtt-ws-options.validator.js';

/**
 * Finds `@MqttSubscribe` and `@OnMqttEvent` methods on every provider and controller when the
 * modules initialise, before the MQTT endpoint opens, and binds them to the dispatchers.
 */
@Injectable()
export class MqttExplorer implements OnModuleInit {
  private readonly paramsFactory = new MqttParamsFactory();
  private readonly logger = new Logger('MqttWsModule');
  private messageHandlers = 0;
  private eventHandlers = 0;

  /** The methods bound: `@MqttSubscribe` handlers and `@OnMqttEvent` handlers (for the start-up log). */
  get boundHandlers(): { messages: number; events: number } {
    return { messages: this.messageHandlers, events: this.eventHandlers };
  }

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly metadata: MqttMetadataAccessor,
    private readonly contextCreator: ExternalContextCreator,
    private readonly modules: ModulesContainer,
    private readonly messages: MqttMessageDispatcher,
    private readonly events: MqttEventDispatcher,
    @Inject(MQTT_WS_RESOLVED_OPTIONS) private readonly options: ResolvedMqttWsOptions,
    @Inject(MQTT_BROKER) private readonly broker: MqttBroker,
  ) {}

  async onModuleInit(): Promise<void> {
    try {
      await this.bindAll();
    } catch (error) {
      // Nest runs no shutdown hook when start-up fails: the broker built for this app goes now.
      await this.broker.close();
      throw error;
    }
  }

  private async bindAll(): Promise<void> {
    const wrappers = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    for (const wrapper of wrappers) {
      const instance = wrapper.instance as Record<string, Function> | undefined;
      if (!instance || typeof instance !== 'object' || wrapper.isAlias) continue;
      const prototype = Object.getPrototypeOf(instance);
      if (!prototype) continue;
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        this.bindMethod(wrapper, instance, methodName);
      }
    }
    if (this.messageHandlers > 0) checkGlobalEnhancers(this.modules, this.logger);
    this.events.attach(this.broker);
    this.messages.attach(this.broker);
    await this.messages.subscribeInstanceRoutes(this.broker);
  }

  private bindMethod(wrapper: InstanceWrapper, instance: Record<string, Function>, methodName: string): void {
    const method = instance[methodName];
    const subscriptions = this.metadata.getSubscriptions(method);
    const events = this.metadata.getEvents(method);
    if (!subscriptions && !events) return;

    const handlerName = `${instance.constructor.name}.${methodName}`;
    if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
      const why =
        wrapper.scope === Scope.REQUEST || wrapper.isTransient
          ? ''
          : ` (${instance.constructor.name} is a singleton, but a request-scoped dependency, guard, interceptor, ` +
            'pipe or filter makes Nest build it per request)';
      throw new Error(
        `MqttWsModule: ${handlerName} is an MQTT handler on a request-scoped or transient provider${why}. ` +
          'MQTT messages have no request to scope to: make the provider and its enhancers singletons (the default scope).',
      );
    }
    if (subscriptions && events) {
      throw new Error(
        `MqttWsModule: ${handlerName} has both @MqttSubscribe and @OnMqttEvent. An event handler gets the event ` +
          'object and a message handler its decorated parameters: give each its own method.',
      );
    }
    for (const event of events ?? []) {
      checkEventName(event, handlerName);
      this.events.add(event, handlerName, (payload) => method.call(instance, payload));
    }
    if (events?.length) this.eventHandlers++;
    if (!subscriptions) return;

    for (const { options } of subscriptions) checkSubscribeOptions(options, handlerName);
    const scope = handlerScope(subscriptions, handlerName);
    const routes = subscriptions.flatMap(({ topics, options }) =>
      topics.map((pattern) => ({
        filter: parseFilter(pattern, handlerName),
        payloadFormat: options.payloadFormat ?? this.options.payloadFormat,
      })),
    );
    const { takesPayload } = checkMessageHandler(
      instance,
      methodName,
      handlerName,
      routes.map(({ filter }) => filter),
      routes.map(({ payloadFormat }) => payloadFormat),
    );
    // Nest's route-arguments key: class pipes in it were registered by the scanner, so the pipes
    // context finds them built by the injector, as it does for every class guard, interceptor and
    // filter at method, class and global level.
    const invoke = this.contextCreator.create(
      instance,
      method as (...args: unknown[]) => unknown,
      methodName,
      MQTT_PARAM_ARGS_METADATA,
      this.paramsFactory,
      undefined,
      undefined,
      { guards: true, interceptors: true, filters: true },
      MQTT_CONTEXT_TYPE,
    ) as (payload: unknown, context: MqttContext) => Promise<unknown>;
    const handlerKey = {};
    this.messageHandlers++;
    for (const { filter, payloadFormat } of routes) {
      this.messages.add({
        filter,
        // A handler that does not take the payload is not made to pay for decoding it.
        payloadFormat: takesPayload ? payloadFormat : 'buffer',
        scope,
        handlerName,
        handlerKey,
        invoke,
      });
    }
  }
}

/** One scope per method, so that a message runs it at most once per instance or once in the cluster. */
function handlerScope(subscriptions: MqttSubscribeMetadata[], handlerName: string): MqttHandlerScope {
  const scopes = new Set(subscriptions.map(({ options }) => options.scope ?? 'cluster'));
  for (const scope of scopes) {
    if (scope !== 'cluster' && scope !== 'instance') {
      throw new Error(
        `MqttWsModule: @MqttSubscribe on ${handlerName}: scope must be 'cluster' or 'instance', got ${JSON.stringify(scope)}`,
      );
    }
  }
  if (scopes.size > 1) {
    throw new Error(
      `MqttWsModule: the @MqttSubscribe decorators of ${handlerName} give different scopes; a handler runs in one.`,
    );
  }
  return scopes.values().next().value as MqttHandlerScope;
}

function parseFilter(pattern: string, handlerName: string): TopicFilter {
  try {
    return TopicFilter.parse(pattern);
  } catch (error) {
    // A 64 KiB filter is quoted by its start only.
    const shown = typeof pattern === 'string' && pattern.length > 80 ? `${JSON.stringify(pattern.slice(0, 80))}…` : JSON.stringify(pattern);
    throw new Error(`MqttWsModule: @MqttSubscribe(${shown}) on ${handlerName}: ${(error as Error).message}`);
  }
}
