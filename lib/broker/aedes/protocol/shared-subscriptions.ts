import type { Duplex } from 'node:stream';
import type { Aedes, Client } from 'aedes';
import { topicMatchesFilter } from '../../../topic/index.js';
import { SharedGroups, type ControlEmitter } from '../shared/shared-groups.js';
import { keepSharedSessions, type SessionStore } from '../shared/shared-sessions.persistence.js';
import { groupKey, parseShareFilter, SHARE_GROUP } from '../shared/share-topic.js';

/**
 * MQTT 5 shared subscriptions `$share/{group}/{filter}` [MQTT-4.8.2]: each message matching the
 * filter goes to one member of the group, across every instance of a cluster. Aedes 2.0.0-beta.1
 * refuses them (0x9E) and says so in every CONNACK; the adapter serves them (docs/mqtt5.md, "Shared
 * subscriptions"):
 * - the parser turns a v5 client's `$share/g/f` into a subscription to `f` (no retained messages on
 *   subscribe: Retain Handling 2) marked with its group; UNSUBSCRIBE `$share/g/f` likewise;
 * - the groups' members are kept alike on every instance (../shared/shared-groups.ts), and every
 *   instance makes the same choice for a message from its origin and counter: `authorizeForward`
 *   lets it through to the chosen member only, on the instance where it is connected;
 * - a persistent session's membership is stored with the session, and a message is queued for the
 *   chosen member only (../shared/shared-sessions.persistence.ts);
 * - the CONNACK says Shared Subscription Available (mqtt-packet's `writeToStream` flips Aedes'
 *   hard-coded 0 for this broker's connections).
 */

const SHARED = Symbol('sharedSubscriptions');
const GROUPS = Symbol('sharedGroups');
/** Streams of clients of a broker that serves shared subscriptions. */
const SERVING = new WeakSet<object>();
/** The groups of each broker of this process, by broker id (for tests and diagnostics). */
const brokers = new Map<string, SharedGroups>();

interface SharingBroker {
  id: string;
  mq: ControlEmitter;
  persistence: SessionStore;
  opts?: { heartbeatInterval?: number };
  clients: Record<string, SharingClient | undefined>;
  [GROUPS]?: SharedGroups;
}

interface SharingClient {
  id: string;
  broker: SharingBroker;
  version: number | null;
  clean: boolean;
  connected: boolean;
  conn: Duplex;
  subscriptions: Record<string, { qos: number } | undefined>;
  _parser?: { settings?: { protocolVersion?: number } };
  /** Filter → group key of the shared subscriptions this connection holds. */
  [SHARED]?: Map<string, string>;
}

interface ParsedSubscription {
  topic: string;
  rh?: number;
  nl?: boolean;
  [SHARE_GROUP]?: string;
}

/** The broker serves shared subscriptions on this connection (called from `handle`). */
export function serveSharedSubscriptions(stream: Duplex): void {
  SERVING.add(stream);
}

/**
 * Once per broker, before the other persistence wrappers (subscription-grants.ts must see the
 * subscriptions as Aedes passes them, before they are stored in their `$share/` form).
 */
export function installSharedSubscriptions(aedes: Aedes): void {
  const broker = aedes as unknown as SharingBroker;
  const groups = new SharedGroups(broker.mq, broker.id, broker.opts?.heartbeatInterval ?? 60_000);
  broker[GROUPS] = groups;
  brokers.set(broker.id, groups);
  keepSharedSessions(broker.persistence, groups, (clientId) => groups.registry.keysOf(clientId) !== undefined);
  groups.start();
  aedes.on('closed', () => {
    groups.stop();
    if (brokers.get(broker.id) === groups) brokers.delete(broker.id);
  });
  aedes.on('clientReady', (client: Client) => claimSharedGroups(client as unknown as SharingClient));
  aedes.on('clientDisconnect', (client: Client) => leaveOnDisconnect(client as unknown as SharingClient));
  aedes.on('subscribe', (subscriptions: ParsedSubscription[], client: Client) => joinSubscribed(subscriptions, client as unknown as SharingClient));
  aedes.on('unsubscribe', (filters: string[], client: Client) => leaveUnsubscribed(filters, client as unknown as SharingClient));
}

/** The members of each group as the broker `brokerId` of this process sees them (tests, diagnostics). */
export function sharedGroupMembers(brokerId: string): Record<string, { online: string[]; offline: string[] }> {
  const described: Record<string, { online: string[]; offline: string[] }> = {};
  for (const group of brokers.get(brokerId)?.registry.groups.values() ?? []) {
    described[group.key] = { online: [...group.online], offline: [...group.offline] };
  }
  return described;
}

function servesClient(client: Client | undefined): client is Client {
  const sharing = client as unknown as SharingClient | undefined;
  return sharing !== undefined && SERVING.has(sharing.conn) && (sharing.version ?? sharing._parser?.settings?.protocolVersion) === 5;
}

/**
 * Parser: a v5 client's `$share/g/f` becomes `f`, marked with its group. A malformed one stays, for
 * Aedes' 0x9E. Returns the protocol error of a shared subscription with No Local [MQTT-3.8.3-4].
 */
export function rewriteSharedSubscriptions(client: Client | undefined, subscriptions: ParsedSubscription[]): string | undefined {
  if (!servesClient(client)) return undefined;
  for (const subscription of subscriptions) {
    const parts = parseShareFilter(subscription.topic);
    if (parts === undefined) continue;
    if (subscription.nl) return `SUBSCRIBE: No Local on the shared subscription ${subscription.topic}`;
    subscription.topic = parts.filter;
    subscription.rh = 2;
    subscription[SHARE_GROUP] = parts.group;
  }
  return undefined;
}

/** Parser: UNSUBSCRIBE `$share/g/f` of a member of that group unsubscribes `f` (else Aedes answers 0x11, no subscription). */
export function rewriteSharedUnsubscriptions(client: Client | undefined, filters: string[]): void {
  if (!servesClient(client)) return;
  const own = (client as unknown as SharingClient)[SHARED];
  if (own === undefined) return;
  for (let i = 0; i < filters.length; i++) {
    const parts = parseShareFilter(filters[i]);
    if (parts !== undefined && own.get(parts.filter) === groupKey(parts.group, parts.filter)) filters[i] = parts.filter;
  }
}

/**
 * `authorizeSubscribe` granted a subscription (a SUBSCRIBE, or a session being restored): a shared
 * one is noted, to join its group once Aedes has subscribed it ('subscribe', or for a restored one
 * `claimSharedGroups`); a plain one of a filter held shared leaves the group (one subscription per
 * filter and client).
 */
export function noteSharedGrant(client: Client, subscription: ParsedSubscription): void {
  const sharing = client as unknown as SharingClient;
  const group = subscription[SHARE_GROUP];
  const own = sharing[SHARED];
  if (group === undefined && own === undefined) return;
  const groups = sharing.broker[GROUPS];
  if (groups === undefined) return;
  const filter = subscription.topic;
  const held = own?.get(filter);
  const key = group === undefined ? undefined : groupKey(group, filter);
  if (held !== undefined && held !== key) {
    own!.delete(filter);
    if (sharing.connected) groups.leave(held, sharing.id);
  }
  if (key !== undefined) (sharing[SHARED] ??= new Map()).set(filter, key);
}

/** Aedes' 'subscribe' (a SUBSCRIBE, every filter decided, at its granted QoS): the shared ones join their groups. */
function joinSubscribed(subscriptions: readonly ParsedSubscription[], client: SharingClient): void {
  const own = client[SHARED];
  const groups = client.broker[GROUPS];
  if (own === undefined || groups === undefined) return;
  for (const subscription of subscriptions) {
    const group = subscription[SHARE_GROUP];
    const qos = (subscription as { qos?: number }).qos ?? 0;
    if (group === undefined || qos >= 0x80) continue;
    const key = groupKey(group, subscription.topic);
    if (own.get(subscription.topic) === key) groups.join(key, client.id, !client.clean, qos);
  }
}

/** 'clientReady': this connection now answers for the client id's memberships, those restored with its session or none. */
function claimSharedGroups(client: SharingClient): void {
  const groups = client.broker[GROUPS];
  const own = client[SHARED];
  if (groups === undefined || ((own === undefined || own.size === 0) && groups.registry.keysOf(client.id) === undefined)) return;
  const held: [string, number][] = [];
  for (const [filter, key] of own ?? []) {
    const subscription = client.subscriptions[filter];
    if (subscription === undefined) own!.delete(filter);
    else held.push([key, subscription.qos]);
  }
  groups.claim(client.id, !client.clean, held);
}

function leaveOnDisconnect(client: SharingClient): void {
  const groups = client.broker[GROUPS];
  if (groups === undefined || groups.registry.keysOf(client.id) === undefined) return;
  groups.disconnect(client.id, !client.clean);
}

function leaveUnsubscribed(filters: readonly string[], client: SharingClient): void {
  const own = client[SHARED];
  const groups = client.broker[GROUPS];
  if (own === undefined || groups === undefined) return;
  for (const filter of filters) {
    const key = own.get(filter);
    if (key === undefined) continue;
    own.delete(filter);
    groups.leave(key, client.id);
  }
}

/**
 * `authorizeForward`: a message reaches a shared subscriber only when it is the member chosen for it
 * in a group whose filter matches, or when one of its plain subscriptions matches too. One property
 * read for clients without shared subscriptions.
 */
export function forwardToSharedMember<T>(client: Client, packet: T): T | null {
  const sharing = client as unknown as SharingClient;
  const own = sharing[SHARED];
  if (own === undefined || own.size === 0 || !packet) return packet;
  const groups = sharing.broker[GROUPS]!;
  const { topic, brokerId, brokerCounter, messageId } = packet as unknown as { topic: string; brokerId?: string; brokerCounter?: number; messageId?: number };
  // From the session's queue (Aedes' emptyQueue numbers it first): it was queued for this member, it is this member's.
  if (messageId !== undefined) return packet;
  let shared = false;
  for (const [filter, key] of own) {
    if (!topicMatchesFilter(filter, topic)) continue;
    shared = true;
    const group = groups.registry.groups.get(key);
    const member = group === undefined ? undefined : groups.registry.chosen(group, brokerId, brokerCounter);
    // The owner check: during a take-over the old connection is not the member any more.
    if (member !== undefined && member.clientId === sharing.id && member.owner === groups.self) return packet;
  }
  if (!shared) return packet;
  for (const filter in sharing.subscriptions) {
    if (!own.has(filter) && topicMatchesFilter(filter, topic)) return packet;
  }
  return null;
}

/**
 * The CONNACK Aedes writes says Shared Subscription Available 0 to everyone; for this broker's
 * connections, which serve them, it says 1. Called by the packet writer (packet-writer.ts) for each
 * MQTT 5 CONNACK it writes.
 */
export function advertiseSharedSubscriptions(connack: { properties?: { sharedSubscriptionAvailable?: boolean } }, stream: object): void {
  if (connack.properties?.sharedSubscriptionAvailable === false && SERVING.has(stream)) connack.properties.sharedSubscriptionAvailable = true;
}
