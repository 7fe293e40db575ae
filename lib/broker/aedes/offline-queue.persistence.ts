import type { MqttOfflineQueueFilter } from '../mqtt-broker.js';

/** The persistence method Aedes queues QoS 1/2 messages for persistent sessions through (aedes-persistence's interface). */
interface OutgoingQueues {
  outgoingEnqueueCombi(subscriptions: { clientId: string }[], packet: unknown): Promise<void>;
}

/** A filter of the sessions a message is queued for; the adapter's own also read the message. */
type QueueFilter = (subscriptions: { clientId: string }[], packet?: unknown) => { clientId: string }[];

const FILTERS = Symbol('offlineQueueFilters');

/**
 * Aedes queues a QoS 1/2 message for every persistent session with a matching subscription,
 * online or not, with one `outgoingEnqueueCombi` call, and has no hook there: the call is wrapped
 * once, and the filters run in turn on its list (the sessions over their limit dropped, the chosen
 * member of a shared subscription group added). `first`: before the filters already there, so that
 * limits count the sessions the message is really queued for.
 */
export function filterOfflineQueue(persistence: OutgoingQueues, filter: MqttOfflineQueueFilter | QueueFilter, placement: 'first' | 'last' = 'last'): void {
  const queues = persistence as OutgoingQueues & { [FILTERS]?: QueueFilter[] };
  let filters = queues[FILTERS];
  if (filters === undefined) {
    const list: QueueFilter[] = (filters = queues[FILTERS] = []);
    const enqueue = persistence.outgoingEnqueueCombi;
    persistence.outgoingEnqueueCombi = function (subscriptions, packet) {
      for (let i = 0; i < list.length; i++) subscriptions = list[i](subscriptions, packet);
      return enqueue.call(this, subscriptions, packet);
    };
  }
  if (placement === 'first') filters.unshift(filter as QueueFilter);
  else filters.push(filter as QueueFilter);
}
