import { Injectable, Logger } from '@nestjs/common';
import type { MqttBroker, MqttClientInfo } from '../broker/mqtt-broker.js';
import { MqttRedisHealth } from '../cluster/redis-health.js';
import type { MqttClientEvent, MqttEventMap, MqttEventName } from '../interfaces/mqtt-events.interface.js';

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
  attach(broker: MqttBroker): void {
    if (this.bindings.has('client.connected')) {
      broker.on('clientConnected', (client) => this.emit('client.connected', { ...clientEvent(client), will: client.will }));
    }
    if (this.bindings.has('client.disconnected')) {
      broker.on('clientDisconnected', (client) => this.emit('client.disconnected', clientEvent(client)));
    }
    if (this.bindings.has('client.subscribed')) {
      broker.on('subscribed', (subscriptions, client) =>
        this.emit('client.subscribed', {
          ...clientEvent(client),
          subscriptions: subscriptions.map(({ topic, qos }) => ({ topic, qos })),
        }),
      );
    }
    if (this.bindings.has('client.unsubscribed')) {
      broker.on('unsubscribed', (topics, client) => this.emit('client.unsubscribed', { ...clientEvent(client), topics: [...topics] }),
      );
    }
    if (this.bindings.has('client.error')) {
      broker.on('clientError', (client, error) => this.emit('client.error', { ...clientEvent(client), error }));
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

function clientEvent(client: MqttClientInfo): MqttClientEvent {
  return { clientId: client.id!, client, request: client.request };
}
