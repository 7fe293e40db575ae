import { topicMatchesFilter } from '../../../topic/index.js';
import { filterOfflineQueue } from '../offline-queue.persistence.js';
import type { SharedGroups } from './shared-groups.js';
import { groupKey, parseShareFilter, SHARE_GROUP, SHARE_PREFIX, storedShareTopic } from './share-topic.js';

/**
 * Persistent sessions (Session Expiry > 0) in shared subscription groups, through the persistence
 * Aedes calls:
 * - the store keeps a shared subscription in its `$share/{group}/{filter}` form, so a session restored
 *   on any instance, after any restart, knows its groups; Aedes, which subscribes the restored filters
 *   as they are, gets `{filter}` back, marked with its group;
 * - so the store's topic index never matches a shared subscription, and Aedes' offline fan-out
 *   (`subscriptionsByTopic`, then `outgoingEnqueueCombi` for every persistent subscriber) leaves the
 *   members out: the first offline-queue filter adds, per group the message matches, the one member
 *   chosen for it, when that member has a persistent session (online or not: Aedes delivers a
 *   persistent session's messages from its queue).
 */

interface StoredSubscription {
  topic: string;
  qos: number;
  rh?: number;
  [SHARE_GROUP]?: string;
}

interface SessionClient {
  id: string;
}

interface QueuedSubscription {
  clientId: string;
  topic?: string;
}

interface QueuedPacket {
  topic: string;
  brokerId?: string;
  brokerCounter?: number;
}

/** aedes-persistence's methods used here. */
export interface SessionStore {
  addSubscriptions(client: SessionClient, subscriptions: StoredSubscription[]): Promise<unknown>;
  removeSubscriptions(client: SessionClient, topics: string[]): Promise<unknown>;
  subscriptionsByClient(client: SessionClient): Promise<StoredSubscription[]>;
  subscriptionsByTopic(topic: string): Promise<QueuedSubscription[]>;
  cleanSubscriptions(client: SessionClient): Promise<unknown>;
  outgoingUpdate(client: SessionClient, packet: unknown): Promise<unknown>;
  outgoingEnqueueCombi(subscriptions: QueuedSubscription[], packet: unknown): Promise<void>;
}

/** Aedes' offline fan-out lists: the only ones to which chosen members are added. */
const FAN_OUT = Symbol('sharedFanOut');

/** The shared filters this process knows a session's store holds, by client id: filter → group key. */
type StoredShares = Map<string, Map<string, string>>;

export function keepSharedSessions(store: SessionStore, groups: SharedGroups, isSharedMember: (clientId: string) => boolean): StoredShares {
  const stored: StoredShares = new Map();
  const remember = (clientId: string, filter: string, key: string) => {
    let shares = stored.get(clientId);
    if (shares === undefined) stored.set(clientId, (shares = new Map()));
    shares.set(filter, key);
  };
  const forget = (clientId: string, filter: string) => {
    const shares = stored.get(clientId);
    if (shares?.delete(filter) && shares.size === 0) stored.delete(clientId);
  };

  const { addSubscriptions, removeSubscriptions, subscriptionsByClient, subscriptionsByTopic, cleanSubscriptions, outgoingUpdate } = store;

  store.addSubscriptions = function (client, subscriptions) {
    let written: StoredSubscription[] | undefined;
    const replaced: string[] = [];
    for (let i = 0; i < subscriptions.length; i++) {
      const subscription = subscriptions[i];
      const group = subscription[SHARE_GROUP];
      const known = stored.get(client.id)?.get(subscription.topic);
      if (group === undefined) {
        written?.push(subscription);
        if (known !== undefined) {
          replaced.push(storedShareTopic(known));
          forget(client.id, subscription.topic);
        }
        continue;
      }
      const key = groupKey(group, subscription.topic);
      (written ??= subscriptions.slice(0, i)).push({ ...subscription, topic: storedShareTopic(key) });
      if (known !== key) {
        // The filter was held plainly, or in another group: one subscription per filter.
        replaced.push(known === undefined ? subscription.topic : storedShareTopic(known));
        remember(client.id, subscription.topic, key);
      }
    }
    const added = addSubscriptions.call(this, client, written ?? subscriptions);
    return replaced.length === 0 ? added : added.then(() => removeSubscriptions.call(this, client, replaced));
  };

  store.subscriptionsByClient = function (client) {
    return subscriptionsByClient.call(this, client).then((subscriptions) => {
      if (!subscriptions.some((subscription) => subscription.topic.startsWith(SHARE_PREFIX))) return subscriptions;
      return subscriptions.map((subscription) => {
        const parts = parseShareFilter(subscription.topic);
        if (parts === undefined) return subscription;
        remember(client.id, parts.filter, groupKey(parts.group, parts.filter));
        // As the parser makes a live one: no retained messages on subscribe.
        return { ...subscription, topic: parts.filter, rh: 2, [SHARE_GROUP]: parts.group };
      });
    });
  };

  store.removeSubscriptions = function (client, topics) {
    const shares = stored.get(client.id);
    if (shares === undefined) return removeSubscriptions.call(this, client, topics);
    const removed = topics.map((topic) => {
      const key = shares.get(topic);
      if (key === undefined) return topic;
      forget(client.id, topic);
      return storedShareTopic(key);
    });
    return removeSubscriptions.call(this, client, removed);
  };

  store.cleanSubscriptions = function (client) {
    return cleanSubscriptions.call(this, client).then((result) => {
      stored.delete(client.id);
      // The session is over: so is its membership, wherever it was held [MQTT-4.8.2].
      groups.end(client.id);
      return result;
    });
  };

  // Aedes calls it for one thing: the offline fan-out of a QoS 1/2 message. Without groups, nothing is added to that path.
  store.subscriptionsByTopic = function (topic) {
    const found = subscriptionsByTopic.call(this, topic);
    // A message published to a `$share/…` topic name matches the stored form of shared subscriptions: it
    // would be queued for their sessions, which never subscribed to it.
    if (topic.charCodeAt(0) === DOLLAR && topic.startsWith(SHARE_PREFIX)) return found.then(withoutStoredShares);
    if (groups.registry.groups.size === 0) return found;
    return found.then((subscriptions) => {
      (subscriptions as QueuedSubscription[] & { [FAN_OUT]?: true })[FAN_OUT] = true;
      return subscriptions;
    });
  };

  // A persistent member is sent a message from its queue; when the instances' records differed for an
  // instant, the origin queued it for another member: the message is sent anyway, not counted an error.
  store.outgoingUpdate = function (client, packet) {
    const updated = outgoingUpdate.call(this, client, packet);
    return isSharedMember(client.id) ? updated.catch(() => undefined) : updated;
  };

  filterOfflineQueue(
    store,
    (subscriptions: QueuedSubscription[], packet?: unknown) =>
      (subscriptions as { [FAN_OUT]?: true })[FAN_OUT] ? withChosenMembers(groups, subscriptions, packet as QueuedPacket) : subscriptions,
    'first',
  );
  return stored;
}

const DOLLAR = 36;

function withoutStoredShares(subscriptions: QueuedSubscription[]): QueuedSubscription[] {
  return subscriptions.filter((subscription) => subscription.topic === undefined || !subscription.topic.startsWith(SHARE_PREFIX));
}

/** Aedes' list, with the chosen member of each group matching the message that has a persistent session. */
function withChosenMembers(groups: SharedGroups, subscriptions: QueuedSubscription[], packet: QueuedPacket): QueuedSubscription[] {
  const registry = groups.registry;
  let list = subscriptions;
  for (const group of registry.groups.values()) {
    if (!topicMatchesFilter(group.filter, packet.topic)) continue;
    const member = registry.chosen(group, packet.brokerId, packet.brokerCounter);
    if (member === undefined || !member.persistent || member.qos === 0) continue;
    // Once per session, as Aedes queues a message that several of its filters match.
    if (list.some((subscription) => subscription.clientId === member.clientId)) continue;
    if (list === subscriptions) list = subscriptions.slice();
    list.push({ clientId: member.clientId, topic: group.filter });
  }
  return list;
}
