import type { Aedes, Client } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { defineHookStage } from '../../hook-chain.js';
import type { MqttBrokerClient } from '../../mqtt-broker.js';
import { aedesClientOf } from '../aedes-client.js';
import { holdDeliveriesUntilConnack, releaseHeldDeliveries } from './connack-first.js';
import { clientIdRefusal } from './connect-rules.js';
import { deliverAtHighestGrantedQos, limitToGrantedQos, noteGrantedQos, refreshGrantedQos, trackGrantedQos } from './granted-qos.js';
import { setOutgoingDupFlag } from './outgoing-dup-flag.js';
import { checkV5Forward, limitV5Deliveries, releaseV5Slot } from './v5-outbound-limits.js';
import { countIdentifiedSubscriptions, withAllSubscriptionIdentifiers } from './subscription-identifiers.js';
import { forwardToSharedMember, installSharedSubscriptions, noteSharedGrant } from './shared-subscriptions.js';
import { endQueueOfResumedSession, keepQueueOfResumedSession } from './v5-session-resume.js';
import { noteTopicAliasMaximum } from './v5-topic-aliases.js';
import { installPacketWriter } from './packet-writer.js';
import { answerSubscribe, noteSubscriptionGrant, storeGrantedSubscriptionsOnly } from './subscription-grants.js';

const DELIVERIES_PREPARED = Symbol('deliveriesPrepared');

/**
 * Wraps a client's delivery functions the first time it subscribes (or its session is restored):
 * Aedes binds them to each subscription as it is made, after `authorizeSubscribe`, and delivers
 * nothing to a client without subscriptions, so clients that only publish, and idle ones, carry
 * no wrapper.
 */
function prepareDeliveries(client: Client): void {
  const prepared = client as unknown as { [DELIVERIES_PREPARED]?: true };
  if (prepared[DELIVERIES_PREPARED]) return;
  prepared[DELIVERIES_PREPARED] = true;
  trackGrantedQos(client);
  deliverAtHighestGrantedQos(client);
  holdDeliveriesUntilConnack(client);
  limitV5Deliveries(client);
}

/**
 * The first stage of the hook chain: where Aedes 1.2 deviates from MQTT 3.1.1
 * (docs/protocol-conformance.md lists each statement, Aedes' behaviour and the test). First, so
 * that a non-conforming CONNECT is refused before any policy sees it, and so that it sees the final
 * answer to every subscription.
 */
export const protocolConformanceStage = defineHookStage({
  name: 'protocol',

  preConnect(client, packet, callback, next) {
    const refusal = clientIdRefusal(packet);
    if (refusal === undefined) {
      noteTopicAliasMaximum(aedesClientOf(client), packet as never);
      return next(client, packet, callback);
    }
    client.refuseConnect(refusal);
    // Not an error: that would make Aedes destroy the socket before the CONNACK is sent.
    callback(null, false);
  },

  authorizeSubscribe(client: MqttBrokerClient, subscription, callback, next) {
    const aedesClient = aedesClientOf(client);
    prepareDeliveries(aedesClient);
    next(client, subscription, (error, granted) => {
      if (!error) noteSubscriptionGrant(subscription, granted);
      if (!error && granted) noteGrantedQos(aedesClient, granted.qos);
      if (!error && granted) noteSharedGrant(aedesClient, subscription as never);
      callback(error, granted);
    });
  },

  authorizeForward(client, packet, next) {
    // In place: Aedes writes the packet it passed here when it empties a session's queue.
    setOutgoingDupFlag(packet);
    // MQTT 5: Aedes 2 publishes a will with the properties of the CONNECT, Will Delay Interval included,
    // which a PUBLISH must not carry (strict clients refuse it). A 3.1.1 packet has no properties.
    if (packet.properties !== undefined) dropWillDelayInterval(packet.properties as { willDelayInterval?: number });
    const aedesClient = aedesClientOf(client);
    limitToGrantedQos(aedesClient, packet);
    const forwarded = forwardToSharedMember(aedesClient, next(client, packet));
    return checkV5Forward(aedesClient, withAllSubscriptionIdentifiers(aedesClient, forwarded) as never) as never;
  },
});

function dropWillDelayInterval(properties: { willDelayInterval?: number }): void {
  if (properties.willDelayInterval !== undefined) delete properties.willDelayInterval;
}

/**
 * The corrections that are not hooks: the SUBACK written with the granted QoS, the store keeping
 * granted subscriptions only, and deliveries held until the CONNACK. Once per broker, once its
 * persistence is set up, before it handles clients. The strict parser is installed per client by
 * the adapter's `handle`.
 */
export function installProtocolConformance(broker: Aedes): void {
  broker.on('connackSent', (_connack: unknown, client: Client) => {
    releaseHeldDeliveries(client);
    keepQueueOfResumedSession(client);
    // A resumed session's subscriptions were restored without a 'subscribe' event; its queue follows.
    countIdentifiedSubscriptions(client);
  });
  broker.on('clientReady', (client: Client) => endQueueOfResumedSession(client));
  installPacketWriter(mqttPacket as never);
  broker.on('ack', (_packet: unknown, client: Client) => releaseV5Slot(client));
  // First, so that every other listener sees the granted QoS.
  broker.prependListener('subscribe', answerSubscribe);
  // Before the store keeps granted subscriptions only: that one must see them as Aedes passes them.
  installSharedSubscriptions(broker);
  storeGrantedSubscriptionsOnly((broker as unknown as { persistence: Parameters<typeof storeGrantedSubscriptionsOnly>[0] }).persistence);
  broker.on('subscribe', (_subscriptions: unknown, client: Client) => {
    refreshGrantedQos(client);
    countIdentifiedSubscriptions(client);
  });
  broker.on('unsubscribe', (_topics: unknown, client: Client) => {
    refreshGrantedQos(client);
    countIdentifiedSubscriptions(client);
  });
}
