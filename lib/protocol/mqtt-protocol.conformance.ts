import type { Aedes, Client } from 'aedes';
import { holdDeliveriesUntilConnack, releaseHeldDeliveries } from './connack-first.js';
import { refuseConnection } from './connection-refusal.js';
import { clientIdRefusal } from './connect-rules.js';
import { deliverAtHighestGrantedQos, limitToGrantedQos, noteGrantedQos, refreshGrantedQos, trackGrantedQos } from './granted-qos.js';
import { setOutgoingDupFlag } from './outgoing-dup-flag.js';
import { installStrictPacketParser } from './strict-packet-parser.js';
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
}

/**
 * Corrects where Aedes 1.2 deviates from MQTT 3.1.1 (docs/protocol-conformance.md lists each
 * statement, Aedes' behaviour and the test). It composes with the hooks already on the broker
 * (Aedes' defaults or a policy's): each hook here does its part and calls the previous one, so it
 * may run before or after other hook wiring. Call it once per broker, once its persistence is set up
 * (`Aedes.createBroker` resolved), before it handles clients.
 */
export function applyMqttProtocolConformance(broker: Aedes): void {
  const handle = broker.handle;
  broker.handle = (connection, request) => {
    const client = handle(connection, request);
    installStrictPacketParser(client);
    return client;
  };
  broker.on('connackSent', (_connack: unknown, client: Client) => releaseHeldDeliveries(client));

  const preConnect = broker.preConnect;
  broker.preConnect = (client, packet, callback) => {
    const refusal = clientIdRefusal(packet);
    if (refusal === undefined) return preConnect(client, packet, callback);
    refuseConnection(client, refusal);
    // Not an error: that would make Aedes destroy the socket before the CONNACK is sent.
    callback(null, false);
  };

  const authorizeSubscribe = broker.authorizeSubscribe;
  broker.authorizeSubscribe = (client, subscription, callback) => {
    prepareDeliveries(client);
    authorizeSubscribe(client, subscription, (error, granted) => {
      if (!error) noteSubscriptionGrant(subscription, granted);
      if (!error && granted) noteGrantedQos(client, granted.qos);
      callback(error, granted);
    });
  };
  // First, so that every other listener sees the granted QoS.
  broker.prependListener('subscribe', answerSubscribe);
  storeGrantedSubscriptionsOnly((broker as unknown as { persistence: Parameters<typeof storeGrantedSubscriptionsOnly>[0] }).persistence);
  broker.on('subscribe', (_subscriptions: unknown, client: Client) => refreshGrantedQos(client));
  broker.on('unsubscribe', (_topics: unknown, client: Client) => refreshGrantedQos(client));

  const authorizeForward = broker.authorizeForward;
  broker.authorizeForward = (client, packet) => {
    // In place: Aedes writes the packet it passed here when it empties a session's queue.
    setOutgoingDupFlag(packet);
    limitToGrantedQos(client, packet);
    return authorizeForward(client, packet);
  };
}
