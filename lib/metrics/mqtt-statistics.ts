import { defineHookStage, type MqttHookStage } from '../broker/hook-chain.js';
import type { MqttBroker, MqttBrokerClient, MqttClientInfo, MqttSubscription } from '../broker/mqtt-broker.js';
import { observeMessageDrops, type MqttDropObserver, type MqttDropReason } from './message-drops.js';

/** The transports as metrics label them. */
export type MqttTransportLabel = 'ws' | 'tcp' | 'tls';
export const TRANSPORT_LABELS: readonly MqttTransportLabel[] = ['ws', 'tcp', 'tls'];
export const DROP_REASONS: readonly MqttDropReason[] = ['slow_consumer', 'queue_limit', 'expiry'];

/** 'websocket' (with or without TLS: wss is still ws) → 'ws'; a transport that already says 'tcp' or 'tls' keeps it. */
export function transportLabel(client: MqttClientInfo): MqttTransportLabel {
  const transport = client.transport as string;
  return transport === 'tcp' || transport === 'tls' ? transport : 'ws';
}

/**
 * What the broker did since start-up, as plain numbers: the Prometheus metrics and the `$SYS`
 * topics read them when asked (a scrape, the `sysInterval` tick), so the hot path only adds to a
 * number. It exists only with `metrics` or `sysInterval`; then it is the `statistics` stage of the
 * hook chain (first, as it only watches: it sees every CONNECT's answer, every delivery and every
 * grant after the stages behind it decided) and listens to the broker's client events.
 */
export class MqttStatistics implements MqttDropObserver {
  readonly startedAt = Date.now();
  /** By QoS: PUBLISH packets accepted from clients (the server's own publications not included). */
  readonly messagesReceived = [0, 0, 0];
  /** By QoS: deliveries to subscribers, at the QoS delivered. */
  readonly messagesSent = [0, 0, 0];
  readonly dropped: Record<MqttDropReason, number> = { slow_consumer: 0, queue_limit: 0, expiry: 0 };
  readonly clientsConnected: Record<MqttTransportLabel, number> = { ws: 0, tcp: 0, tls: 0 };
  readonly connectionsAccepted: Record<MqttTransportLabel, number> = { ws: 0, tcp: 0, tls: 0 };
  /** CONNECTs answered with a refusing CONNACK (protocol, limits, auth policy). */
  readonly connectionsRefused: Record<MqttTransportLabel, number> = { ws: 0, tcp: 0, tls: 0 };
  /** The filters each connected client holds (subscribed, or restored with its session). */
  private readonly filters = new Map<MqttBrokerClient, Set<string>>();
  private subscriptionCount = 0;
  private readonly connected = new Set<MqttBrokerClient>();

  /** Subscriptions of the clients connected to this instance (a session's restored ones included). */
  get subscriptions(): number {
    return this.subscriptionCount;
  }

  /** From `countDroppedMessages`. */
  messagesDropped(reason: MqttDropReason, count: number): void {
    this.dropped[reason] += count;
  }

  readonly stage: MqttHookStage = defineHookStage({
    name: 'statistics',

    preConnect: (client, packet, callback, next) => {
      // A CONNECT is rare next to messages: one closure each is fine.
      next(client, packet, (error, accepted) => {
        if (error || !accepted) this.connectionsRefused[transportLabel(client)]++;
        callback(error, accepted);
      });
    },

    authenticate: (client, username, password, callback, next) => {
      next(client, username, password, (error, accepted) => {
        if (error || !accepted) this.connectionsRefused[transportLabel(client)]++;
        callback(error, accepted);
      });
    },

    authorizeSubscribe: (client, subscription, callback, next) => {
      next(client, subscription, (error, granted) => {
        if (!error && granted) this.addFilter(client, granted);
        callback(error, granted);
      });
    },

    authorizeForward: (client, packet, next) => {
      const delivered = next(client, packet);
      if (delivered) this.messagesSent[delivered.qos]++;
      return delivered;
    },

    published: (packet, client, done, next) => {
      if (client !== null) this.messagesReceived[packet.qos]++;
      next(packet, client, done);
    },
  });

  /** Client events: connected clients by transport, and the subscriptions they hold. */
  attach(broker: MqttBroker): void {
    observeMessageDrops(broker, this);
    observeMessageDrops(broker.unsupportedInstance as object, this);
    broker.on('clientConnected', (client) => {
      const transport = transportLabel(client);
      this.connectionsAccepted[transport]++;
      this.clientsConnected[transport]++;
      this.connected.add(client);
    });
    // Also for a client whose session was restored but whose CONNACK never went out (not counted connected).
    broker.on('clientDisconnected', (client) => {
      const filters = this.filters.get(client);
      if (filters !== undefined) {
        this.filters.delete(client);
        this.subscriptionCount -= filters.size;
      }
      if (this.connected.delete(client)) this.clientsConnected[transportLabel(client)]--;
    });
    broker.on('unsubscribed', (topics, client) => {
      const filters = this.filters.get(client);
      if (filters === undefined) return;
      for (const topic of topics) if (filters.delete(topic)) this.subscriptionCount--;
    });
  }

  private addFilter(client: MqttBrokerClient, subscription: MqttSubscription): void {
    // A session's subscriptions are restored before the client counts as connected.
    let filters = this.filters.get(client);
    if (filters === undefined) this.filters.set(client, (filters = new Set()));
    if (!filters.has(subscription.topic)) {
      filters.add(subscription.topic);
      this.subscriptionCount++;
    }
  }
}
