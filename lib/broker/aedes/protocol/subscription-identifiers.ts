import type { Client } from 'aedes';
import { topicMatchesFilter } from '../../../topic/index.js';

/**
 * [MQTT-3.3.4-3] [MQTT-3.3.4-4] [MQTT-3.3.4-5] A message that matches several subscriptions of one
 * client with Subscription Identifiers goes out once, carrying every matching identifier. Aedes 2
 * delivers one copy (its dedupe drops the others) with the identifier of whichever subscription
 * delivered first, and none on a message queued for an offline session (the queue holds the
 * message as published). So, for an MQTT 5 client that holds an identifier on a subscription, the
 * delivered copy gets the identifiers of all its subscriptions that match the topic. The count is
 * taken on SUBSCRIBE/UNSUBSCRIBE and on the CONNACK (a resumed session's subscriptions are restored
 * without a 'subscribe' event). Everyone else pays one property read per delivery.
 * Aedes queues a message for an offline session once per matching subscription; as the copy
 * that goes out carries every identifier, the next copies of the same message are not sent.
 */

const IDENTIFIED = Symbol('subscriptionsWithIdentifiers');
const LAST_QUEUED_BROKER = Symbol('lastQueuedBrokerId');
const LAST_QUEUED_COUNTER = Symbol('lastQueuedBrokerCounter');

interface IdentifiedClient {
  version: number | null;
  subscriptions: Record<string, { si?: number } | undefined>;
  [IDENTIFIED]?: number;
  [LAST_QUEUED_BROKER]?: string;
  [LAST_QUEUED_COUNTER]?: number;
}

interface ForwardedPacket {
  topic: string;
  /** Set on a packet of the session's queue; a live delivery gets its id after `authorizeForward`. */
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
  properties?: { subscriptionIdentifier?: number | number[] } & Record<string, unknown>;
}

/** Aedes' 'subscribe'/'unsubscribe' events: counts the client's subscriptions that carry an identifier. */
export function countIdentifiedSubscriptions(client: Client): void {
  const identified = client as unknown as IdentifiedClient;
  if (identified.version !== 5) return;
  let count = 0;
  for (const filter in identified.subscriptions) if (identified.subscriptions[filter]?.si !== undefined) count++;
  identified[IDENTIFIED] = count;
}

/** The packet to forward, with every identifier of the client's subscriptions that match its topic; `null` for a repeated queued copy. */
export function withAllSubscriptionIdentifiers<T>(client: Client, packet: T): T | null {
  const identified = client as unknown as IdentifiedClient;
  const count = identified[IDENTIFIED] ?? 0;
  if (!packet || count === 0) return packet;
  const forwarded = packet as unknown as ForwardedPacket;
  if (forwarded.messageId !== undefined && forwarded.brokerCounter !== undefined) {
    // The queue holds the copies of one message side by side.
    if (identified[LAST_QUEUED_COUNTER] === forwarded.brokerCounter && identified[LAST_QUEUED_BROKER] === forwarded.brokerId) return null;
    identified[LAST_QUEUED_COUNTER] = forwarded.brokerCounter;
    identified[LAST_QUEUED_BROKER] = forwarded.brokerId;
  }
  const carried = forwarded.properties?.subscriptionIdentifier;
  // One identified subscription, and Aedes delivered through it: the packet already says so.
  if (count === 1 && carried !== undefined) return packet;
  const identifiers: number[] = [];
  for (const filter in identified.subscriptions) {
    const si = identified.subscriptions[filter]?.si;
    if (si !== undefined && topicMatchesFilter(filter, forwarded.topic)) identifiers.push(si);
  }
  if (identifiers.length === 0 || (identifiers.length === 1 && carried === identifiers[0])) return packet;
  // A copy: the properties object may be shared with other subscribers (or frozen).
  forwarded.properties = { ...forwarded.properties, subscriptionIdentifier: identifiers.length === 1 ? identifiers[0] : identifiers };
  return packet;
}
