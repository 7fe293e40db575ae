import type { Duplex } from 'node:stream';
import type { Client } from 'aedes';
import { topicMatchesFilter } from '../../../topic/index.js';

/**
 * MQTT 5 shared subscriptions `$share/{group}/{filter}` [MQTT-4.8.2]: each message matching the
 * filter goes to one member of the group. Aedes 2.0.0-beta.1 refuses them (0x9E) and says so in
 * every CONNACK. On a single instance (no `mq`/`redis`: one emitter, so this process sees every
 * member) the adapter serves them:
 * - the parser turns a v5 client's `$share/g/f` into a subscription to `f` (no retained messages on
 *   subscribe [MQTT-3.8.4-?]: Retain Handling 2) and notes the group; UNSUBSCRIBE likewise;
 * - `authorizeForward` lets a message through to one member: the members of a group, in the order
 *   they joined, take the messages in turn by the message's broker counter;
 * - the CONNACK says Shared Subscription Available (mqtt-packet's `writeToStream` flips Aedes'
 *   hard-coded 0 for this broker's connections only).
 * Served to sessions that end with their connection (Session Expiry 0): a persistent session's
 * queue would hold every message of the group while it is away, so its `$share/` filter is refused.
 * A cluster would need the group's members across instances: there the CONNACK keeps saying 0.
 */

const SHARE_PREFIX = '$share/';
const SHARED = Symbol('sharedSubscriptions');
/** Streams of clients of a broker that serves shared subscriptions. */
const SERVING = new WeakSet<object>();
/** Members (client ids) of each group, by `brokerId\0group\0filter` (several brokers may share a process). */
const groups = new Map<string, string[]>();
/** The group of a subscription object the parser rewrote. */
const groupOfSubscription = new WeakMap<object, string>();

interface SharingClient {
  id: string;
  broker: { id: string };
  version: number | null;
  clean: boolean;
  conn: Duplex;
  _parser?: { settings?: { protocolVersion?: number } };
  [SHARED]?: Map<string, string>;
}

interface ParsedSubscription {
  topic: string;
  rh?: number;
}

/** The broker serves shared subscriptions on this connection (called from `handle`). */
export function serveSharedSubscriptions(stream: Duplex): void {
  SERVING.add(stream);
}

function sharedParts(topic: string): { group: string; filter: string } | undefined {
  if (!topic.startsWith(SHARE_PREFIX)) return undefined;
  const slash = topic.indexOf('/', SHARE_PREFIX.length);
  if (slash <= SHARE_PREFIX.length || slash === topic.length - 1) return undefined;
  const group = topic.slice(SHARE_PREFIX.length, slash);
  if (group.includes('+') || group.includes('#')) return undefined;
  return { group, filter: topic.slice(slash + 1) };
}

function servesClient(client: Client | undefined): client is Client {
  const sharing = client as unknown as SharingClient | undefined;
  return sharing !== undefined && SERVING.has(sharing.conn) && (sharing.version ?? sharing._parser?.settings?.protocolVersion) === 5;
}

/** Parser: a v5 client's `$share/g/f` becomes `f`, marked with its group (a session that outlives the connection keeps Aedes' 0x9E). */
export function rewriteSharedSubscriptions(client: Client | undefined, subscriptions: ParsedSubscription[]): void {
  if (!servesClient(client) || !(client as unknown as SharingClient).clean) return;
  for (const subscription of subscriptions) {
    const parts = sharedParts(subscription.topic);
    if (parts === undefined) continue;
    subscription.topic = parts.filter;
    subscription.rh = 2;
    groupOfSubscription.set(subscription, parts.group);
  }
}

/** Parser: UNSUBSCRIBE `$share/g/f` leaves the group and unsubscribes `f`. */
export function rewriteSharedUnsubscriptions(client: Client | undefined, filters: string[]): void {
  if (!servesClient(client)) return;
  for (let i = 0; i < filters.length; i++) {
    const parts = sharedParts(filters[i]);
    if (parts === undefined) continue;
    filters[i] = parts.filter;
    leave(client as unknown as SharingClient, parts.filter);
  }
}

/** Aedes' 'subscribe' event: the granted shared subscriptions join their group. */
export function joinSharedGroups(subscriptions: readonly (ParsedSubscription & { qos: number })[], client: Client): void {
  const sharing = client as unknown as SharingClient;
  for (const subscription of subscriptions) {
    const group = groupOfSubscription.get(subscription);
    if (group === undefined || subscription.qos >= 0x80) continue;
    const own = (sharing[SHARED] ??= new Map());
    if (own.get(subscription.topic) === group) continue;
    if (own.has(subscription.topic)) leave(sharing, subscription.topic);
    own.set(subscription.topic, group);
    const key = groupKey(sharing, group, subscription.topic);
    const members = groups.get(key);
    if (members === undefined) groups.set(key, [sharing.id]);
    else members.push(sharing.id);
  }
}

/** Aedes' 'clientDisconnect': the client leaves every group. */
export function leaveSharedGroups(client: Client): void {
  const sharing = client as unknown as SharingClient;
  const own = sharing[SHARED];
  if (own === undefined) return;
  for (const filter of [...own.keys()]) leave(sharing, filter);
}

function groupKey(client: SharingClient, group: string, filter: string): string {
  return `${client.broker.id}\0${group}\0${filter}`;
}

function leave(client: SharingClient, filter: string): void {
  const group = client[SHARED]?.get(filter);
  if (group === undefined) return;
  client[SHARED]!.delete(filter);
  const key = groupKey(client, group, filter);
  const members = groups.get(key);
  if (members === undefined) return;
  const index = members.indexOf(client.id);
  if (index >= 0) members.splice(index, 1);
  if (members.length === 0) groups.delete(key);
}

/**
 * `authorizeForward`: a message reaches a shared subscriber only when it is that member's turn in
 * a group whose filter matches. One property read for clients without shared subscriptions.
 */
export function forwardToSharedMember<T>(client: Client, packet: T): T | null {
  const own = (client as unknown as SharingClient)[SHARED];
  if (own === undefined || own.size === 0 || !packet) return packet;
  const { topic, brokerCounter } = packet as unknown as { topic: string; brokerCounter?: number };
  let shared = false;
  for (const [filter, group] of own) {
    if (!topicMatchesFilter(filter, topic)) continue;
    shared = true;
    const members = groups.get(groupKey(client as unknown as SharingClient, group, filter));
    if (members !== undefined && members[(brokerCounter ?? 0) % members.length] === (client as unknown as SharingClient).id) return packet;
  }
  return shared ? null : packet;
}

/**
 * The CONNACK Aedes writes says Shared Subscription Available 0 to everyone. For this broker's
 * connections that serve them it says 1: mqtt-packet's `writeToStream`, which Aedes calls for every
 * packet, is wrapped once per process (one string comparison per packet).
 */
export function advertiseSharedSubscriptions(mqttPacket: { writeToStream: (packet: never, stream: never, options?: never) => boolean }): void {
  const marked = mqttPacket as typeof mqttPacket & { [SHARED]?: true };
  if (marked[SHARED]) return;
  marked[SHARED] = true;
  const writeToStream = mqttPacket.writeToStream;
  mqttPacket.writeToStream = function (packet, stream, options) {
    const connack = packet as unknown as { cmd: string; properties?: { sharedSubscriptionAvailable?: boolean } };
    if (connack.cmd === 'connack' && connack.properties?.sharedSubscriptionAvailable === false && SERVING.has(stream as object)) {
      connack.properties.sharedSubscriptionAvailable = true;
    }
    return writeToStream(packet, stream, options);
  };
}
