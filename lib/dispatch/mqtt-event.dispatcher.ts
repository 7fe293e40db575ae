import { Injectable, Logger } from '@nestjs/common';
import type { Aedes, Client, Subscription } from 'aedes';
import { MqttRedisHealth } from '../cluster/redis-health.js';
import type { MqttEventMap, MqttEventName, MqttWill } from '../interfaces/mqtt-events.interface.js';

/** Aedes keeps the CONNECT's will on the client, but its typings leave it out. */
type ClientWithWill = Client & { will?: MqttWill | null };

type EventHandler = (event: MqttEventMap[MqttEventName]) => unknown;

interface EventBinding {
  handlerName: string;
  handle: EventHandler;
}

/** Forwards the broker's client lifecycle events, and Redis' ups and downs, to `@OnMqttEvent()` methods. */
@Injectable()
export class MqttEventDispatcher {
  private readonly logger = new Logger('MqttWsModule');
  private readonly bindings = new Map<MqttEventName, EventBinding[]>();

  constructor(private readonly redisHealth: MqttRedisHealth) {}

  add(event: MqttEventName, handlerName: string, handle: EventHandler): void {
    const list = this.bindings.get(event) ?? [];
    list.push({ handlerName, handle });
    this.bindings.set(event, list);
  }

  /** Subscribes to the broker's events; only those that have handlers cost anything. */
  attach(broker: Aedes): void {
    if (this.bindings.has('client.connected')) {
      broker.on('clientReady', (client: Client) =>
        this.emit('client.connected', { ...clientEvent(client), will: (client as ClientWithWill).will ?? null }),
      );
    }
    if (this.bindings.has('client.disconnected')) {
      broker.on('clientDisconnect', (client: Client) => this.emit('client.disconnected', clientEvent(client)));
    }
    if (this.bindings.has('client.subscribed')) {
      broker.on('subscribe', (subscriptions: Subscription[], client: Client) =>
        this.emit('client.subscribed', {
          ...clientEvent(client),
          subscriptions: subscriptions.map(({ topic, qos }) => ({ topic, qos })),
        }),
      );
    }
    if (this.bindings.has('client.unsubscribed')) {
      broker.on('unsubscribe', (topics: string[], client: Client) =>
        this.emit('client.unsubscribed', { ...clientEvent(client), topics }),
      );
    }
    if (this.bindings.has('client.error')) {
      broker.on('clientError', (client: Client, error: Error) => this.emit('client.error', { ...clientEvent(client), error }));
    }
    if (this.bindings.has('redis.down') || this.bindings.has('redis.up')) {
      this.redisHealth.onChange((event) => this.emit(`redis.${event.redis}`, event));
    }
  }

  private emit<E extends MqttEventName>(event: E, payload: MqttEventMap[E]): void {
    for (const binding of this.bindings.get(event) ?? []) {
      try {
        Promise.resolve(binding.handle(payload)).catch((error) => this.logFailure(binding, event, error));
      } catch (error) {
        this.logFailure(binding, event, error);
      }
    }
  }

  private logFailure(binding: EventBinding, event: MqttEventName, error: unknown): void {
    const err = error as Error;
    this.logger.error(`${binding.handlerName} failed on '${event}': ${err?.message ?? err}`, err?.stack);
  }
}

function clientEvent(client: Client) {
  return { clientId: client.id, client, request: client.req };
}
