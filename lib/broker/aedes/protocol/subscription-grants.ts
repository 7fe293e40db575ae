import type { Client, Subscription } from 'aedes';
import { variableByteIntegerLength, writeVariableByteInteger } from './variable-byte-integer.js';

/** The SUBACK return code of a refused subscription [MQTT-3.9.3]. */
const REFUSED = 0x80;

/** What each subscription of a SUBSCRIBE was granted: a QoS or 0x80, by the subscription object Aedes passes around. */
const grants = new WeakMap<object, number>();

/** The SUBSCRIBE whose SUBACK this module writes, by each of its subscription objects. */
interface PendingSuback {
  messageId: number;
  /** As the client sent them, duplicates included. */
  subscriptions: readonly Subscription[];
}
const pendingSubacks = new WeakMap<object, PendingSuback>();

interface WritingClient {
  version: number | null;
  connecting: boolean;
  connected: boolean;
  conn: { write(bytes: Buffer): unknown };
}

interface SubscriptionStore {
  addSubscriptions(client: Client, subscriptions: Subscription[]): Promise<void>;
}

/*
 * Aedes 1.2 builds the SUBACK from the QoS each filter requested, read before `authorizeSubscribe`
 * runs, so a subscription the policy granted at a lower QoS is reported at the requested one
 * [MQTT-3.9.3-1]. It also stores a persistent session's subscriptions from the SUBSCRIBE packet as a
 * whole, each time one of them is granted: refused filters and those not decided yet are stored with
 * their requested QoS, and the session queues, then delivers, messages it was refused. None of this
 * has a hook, so: `authorizeSubscribe`'s final answer is noted per subscription object, the store
 * keeps only granted ones, and the SUBACK is taken over (Aedes writes none for a SUBSCRIBE without
 * a packet identifier) and written from the 'subscribe' event Aedes emits once every filter is
 * decided. SUBSCRIBE is the control path: nothing here runs per message.
 */

/** Called by the parser for each SUBSCRIBE it let through: the SUBACK becomes this module's to write. */
export function takeOverSuback(packet: { messageId?: number; subscriptions?: Subscription[] }): void {
  const pending: PendingSuback = { messageId: packet.messageId!, subscriptions: packet.subscriptions! };
  for (const subscription of pending.subscriptions) pendingSubacks.set(subscription, pending);
  packet.messageId = undefined;
}

/** Notes `authorizeSubscribe`'s final answer for a subscription (null: refused). */
export function noteSubscriptionGrant(subscription: Subscription, granted: Subscription | null | undefined): void {
  grants.set(subscription, granted ? granted.qos : REFUSED);
}

/**
 * A 'subscribe' listener that must run before any other: it puts the granted QoS into the
 * subscriptions the event reports (Aedes put the requested one back), then writes the SUBACK with
 * one return code per filter the client sent, in its order [MQTT-3.8.4-5]. A filter sent twice is
 * subscribed once, with its last entry [MQTT-3.8.4-3]; both get that entry's code.
 */
export function answerSubscribe(subscriptions: Subscription[], client: Client): void {
  for (const subscription of subscriptions) {
    const granted = grants.get(subscription);
    if (granted !== undefined) subscription.qos = granted as Subscription['qos'];
  }
  const pending = subscriptions.length > 0 ? pendingSubacks.get(subscriptions[0]) : undefined;
  if (pending === undefined) return;
  const codes = new Map<string, number>();
  for (const subscription of subscriptions) codes.set(subscription.topic, subscription.qos);
  const writer = client as unknown as WritingClient;
  if (!writer.connecting && !writer.connected) return;
  const returnCodes = pending.subscriptions.map((subscription) => codes.get(subscription.topic) ?? REFUSED);
  writer.conn.write(encodeSuback(pending.messageId, returnCodes, writer.version === 5));
}

/** Makes the store keep, of what Aedes passes it from a SUBSCRIBE, the subscriptions granted so far, at their granted QoS. */
export function storeGrantedSubscriptionsOnly(store: SubscriptionStore): void {
  const addSubscriptions = store.addSubscriptions;
  store.addSubscriptions = function (client, subscriptions) {
    const granted = grantedOnly(subscriptions);
    // Some stores fail on an empty list (aedes-persistence-redis: an empty HMSET).
    return granted.length === 0 ? Promise.resolve() : addSubscriptions.call(this, client, granted);
  };
}

function grantedOnly(subscriptions: Subscription[]): Subscription[] {
  // Not from a SUBSCRIBE (none was authorized): stored as it is.
  if (!subscriptions.some((subscription) => grants.has(subscription))) return subscriptions;
  const granted: Subscription[] = [];
  for (const subscription of subscriptions) {
    const qos = grants.get(subscription);
    if (qos === undefined || qos === REFUSED) continue;
    granted.push(qos === subscription.qos ? subscription : { ...subscription, qos: qos as Subscription['qos'] });
  }
  return granted;
}

/** A SUBACK; MQTT 5's has a property length (0: none) after the packet identifier, and the same codes (0x80: unspecified error). */
function encodeSuback(messageId: number, codes: readonly number[], v5: boolean): Buffer {
  const remaining = 2 + (v5 ? 1 : 0) + codes.length;
  const bytes = Buffer.allocUnsafe(1 + variableByteIntegerLength(remaining) + remaining);
  bytes[0] = 0x90;
  let offset = writeVariableByteInteger(bytes, 1, remaining);
  bytes.writeUInt16BE(messageId, offset);
  offset += 2;
  if (v5) bytes[offset++] = 0;
  for (const code of codes) bytes[offset++] = code;
  return bytes;
}
