import { Injectable, Logger } from '@nestjs/common';
import qlobber, { type Qlobber } from 'qlobber';
import { defineHookStage, type MqttHookStage } from '../broker/hook-chain.js';
import type { MqttBroker, MqttClientInfo, MqttPublishPacket } from '../broker/mqtt-broker.js';
import { topicMatchesFilter } from '../topic/index.js';
import { MqttContext } from '../mqtt.context.js';
import type { MqttHandlerObserver } from '../metrics/mqtt-handler.observer.js';
import type { MqttRoute } from './mqtt-route.js';
import { PayloadDecoder, UNDECODABLE } from './payload-decoder.js';
import { MqttAuthPolicyHost } from '../security/mqtt-auth-policy.host.js';
import { mayPublishAs } from '../security/mqtt-auth-policy.stage.js';
import { MqttResponder } from './mqtt-responder.js';
import { MqttResponseError } from './mqtt-response-error.js';

const DOLLAR = 36;
const PLUS = 43;
const HASH = 35;

/**
 * Runs the handlers whose filters match a message, so that a message is acknowledged only once
 * they finished, and a slow handler slows its publishers instead of piling up messages in memory.
 * It is the `handlers` stage of the hook chain, the last before the broker's defaults:
 * - `published` runs after the broker routed a message and before it sends PUBREC for a QoS 2
 *   PUBLISH or reads the client's next packets; it handles every message but these:
 * - a client's QoS 1 PUBLISH, which Aedes acknowledges before routing it. Those are handled in
 *   `authorizePublish`, once every stage before allowed it, and before the PUBACK.
 * Both run where the message entered the broker, so in a cluster once per message. Handlers of scope
 * `'instance'` instead subscribe to the broker's emitter, which each instance of a cluster receives
 * every message from.
 */
@Injectable()
export class MqttMessageDispatcher {
  private readonly logger = new Logger('MqttWsModule');
  // The same matcher settings as Aedes' own emitter, so handlers see what subscribers see.
  private readonly matcher: Qlobber<MqttRoute> = new qlobber.Qlobber({
    separator: '/',
    wildcard_one: '+',
    wildcard_some: '#',
    match_empty_levels: true,
  });
  private routeCount = 0;
  /** Handler durations, with `metrics` on (set by lib/metrics); otherwise one null check per handler run. */
  handlerObserver: MqttHandlerObserver | null = null;
  private readonly handledBeforeAck = new WeakSet<MqttPublishPacket>();
  /** Handlers of scope 'instance', by MQTT filter, and the filters of each such handler in order. */
  private readonly instanceRoutes = new Map<string, MqttRoute[]>();
  private readonly instanceFilters = new Map<object, string[]>();
  /** Set once the broker exists (it is built with this dispatcher's stage, so it cannot be injected). */
  private responder: MqttResponder | undefined;

  constructor(private readonly authPolicy: MqttAuthPolicyHost) {}

  /** Lets handlers answer MQTT 5 requests through the broker; called before the endpoint opens. */
  attach(broker: MqttBroker): void {
    this.responder = new MqttResponder(broker, mayPublishAs(this.authPolicy));
  }

  add(route: MqttRoute): void {
    if (route.scope === 'instance') return this.addInstanceRoute(route);
    this.matcher.add(route.filter.mqttFilter, route);
    this.routeCount++;
  }

  /** Subscribes the handlers of scope 'instance' to the broker's emitter; resolves once it confirmed. */
  async subscribeInstanceRoutes(broker: MqttBroker): Promise<void> {
    const subscriptions: Promise<void>[] = [];
    for (const [mqttFilter, routes] of this.instanceRoutes) {
      const listener = this.instanceListener(mqttFilter, routes);
      subscriptions.push(
        new Promise((resolve, reject) => {
          // An error: a filter deeper than maxTopicLevels.
          broker.subscribe(mqttFilter, listener, (error) => (error ? reject(error) : resolve()));
        }),
      );
    }
    await Promise.all(subscriptions);
  }

  /** The `handlers` stage of the hook chain. */
  readonly stage: MqttHookStage = defineHookStage({
    name: 'handlers',

    /** A client's QoS 1 message: its handlers run once the rest of the chain allowed it, before the PUBACK. */
    authorizePublish: (client, packet, callback, authorize) => {
      if (client === null || packet.qos !== 1 || this.routeCount === 0) return authorize(client, packet, callback);
      // Matched first, so a message no handler wants costs no extra callback.
      const routes = this.matchRoutes(packet.topic);
      if (routes.length === 0) return authorize(client, packet, callback);
      authorize(client, packet, (error) => {
        if (error) return callback(error);
        this.handledBeforeAck.add(packet);
        this.dispatch(routes, packet, client).then(() => callback(null), () => callback(null));
      });
    },

    /** Every other message, once routed. */
    published: (packet, client, done, next) => {
      if (this.routeCount === 0 || this.handledBeforeAck.delete(packet)) return next(packet, client, done);
      const routes = this.matchRoutes(packet.topic);
      if (routes.length === 0) return next(packet, client, done);
      // A handler's failure is its own (logged in `run`); the message was delivered and is acknowledged.
      this.dispatch(routes, packet, client).then(() => next(packet, client, done), () => next(packet, client, done));
    },
  });

  private addInstanceRoute(route: MqttRoute): void {
    const { mqttFilter } = route.filter;
    const routes = this.instanceRoutes.get(mqttFilter) ?? [];
    if (!routes.some((known) => known.handlerKey === route.handlerKey)) routes.push(route);
    this.instanceRoutes.set(mqttFilter, routes);
    const filters = this.instanceFilters.get(route.handlerKey) ?? [];
    if (!filters.includes(mqttFilter)) filters.push(mqttFilter);
    this.instanceFilters.set(route.handlerKey, filters);
  }

  /**
   * One emitter subscription per filter. A message that matches several filters of one handler runs
   * it from the first of them only; no state is kept per message.
   */
  private instanceListener(mqttFilter: string, routes: MqttRoute[]) {
    const first = mqttFilter.charCodeAt(0);
    const skipsDollarTopics = first === PLUS || first === HASH;
    return (packet: MqttPublishPacket, done: () => void): void => {
      const topic = packet.topic;
      if (skipsDollarTopics && topic.charCodeAt(0) === DOLLAR) return done();
      const due = routes.filter((route) => {
        const filters = this.instanceFilters.get(route.handlerKey)!;
        return filters.length === 1 || filters.find((filter) => topicMatchesFilter(filter, topic)) === mqttFilter;
      });
      if (due.length === 0) return done();
      this.dispatch(due, packet, null).then(() => done(), () => done());
    };
  }

  private matchRoutes(topic: string): MqttRoute[] {
    let routes = this.matcher.match(topic);
    // [MQTT-4.7.2-1] a filter starting with a wildcard does not match a topic starting with '$'.
    if (routes.length > 0 && topic.charCodeAt(0) === DOLLAR) {
      routes = routes.filter((route) => {
        const first = route.filter.mqttFilter.charCodeAt(0);
        return first !== PLUS && first !== HASH;
      });
    }
    if (routes.length > 1) routes = onePerHandler(routes);
    return routes;
  }

  /**
   * Not `async`: one handler's run is returned as it is. An async function returning a promise
   * settles its own only after extra microtask turns, on every message.
   */
  private dispatch(routes: MqttRoute[], packet: MqttPublishPacket, client: MqttClientInfo | null): Promise<unknown> {
    const decoder = new PayloadDecoder(packet.payload);
    if (routes.length === 1) return this.run(routes[0], decoder, packet, client);
    const runs: Promise<void>[] = [];
    for (const route of routes) runs.push(this.run(route, decoder, packet, client));
    return Promise.all(runs);
  }

  private async run(route: MqttRoute, decoder: PayloadDecoder, packet: MqttPublishPacket, client: MqttClientInfo | null): Promise<void> {
    const payload = decoder.decode(route.payloadFormat);
    if (payload === UNDECODABLE) {
      this.logger.warn(
        `${route.handlerName} skipped a message on "${packet.topic}" from ${describeClient(client)}: ` +
          `the payload is not valid JSON (${decoder.error?.message})`,
      );
      if (packet.properties?.responseTopic !== undefined) {
        const error = new MqttResponseError(`the payload is not valid JSON (${decoder.error?.message})`, { code: 'invalid-payload' });
        await this.responder!.fail(packet, client, error, route.handlerName);
      }
      return;
    }
    const started = this.handlerObserver === null ? 0 : performance.now();
    let result: unknown;
    try {
      result = await route.invoke(payload, new MqttContext(packet, client, route.filter));
      this.handlerObserver?.handlerFinished(route.handlerName, started, false);
    } catch (error) {
      // Nest's exception handler has logged the error and its stack; this says where it happened.
      this.handlerObserver?.handlerFinished(route.handlerName, started, true);
      if (!(error instanceof MqttResponseError)) {
        this.logger.warn(`${route.handlerName} failed on "${packet.topic}" from ${describeClient(client)}: ${describeError(error)}`);
      }
      if (packet.properties?.responseTopic !== undefined) await this.responder!.fail(packet, client, error, route.handlerName);
      return;
    }
    // The one check a message without a response topic pays for request/response.
    if (packet.properties?.responseTopic !== undefined) await this.responder!.answer(packet, client, result, route.handlerName);
  }
}

function onePerHandler(routes: MqttRoute[]): MqttRoute[] {
  const seen = new Set<object>();
  return routes.filter((route) => !seen.has(route.handlerKey) && seen.add(route.handlerKey));
}

/** An HttpException (a ValidationPipe's BadRequestException, say) keeps its details in its response. */
function describeError(error: unknown): string {
  const details = (error as { getResponse?: () => unknown })?.getResponse?.();
  const message = (details as { message?: unknown } | undefined)?.message;
  const base = (error as Error)?.message ?? String(error);
  return message === undefined || message === base ? base : `${base}: ${Array.isArray(message) ? message.join('; ') : String(message)}`;
}

function describeClient(client: MqttClientInfo | null): string {
  return client ? `client "${client.id}"` : 'the server';
}
