import type { MqttOfflineQueueFilter } from '../mqtt-broker.js';

/** The persistence method Aedes queues QoS 1/2 messages for persistent sessions through (aedes-persistence's interface). */
interface OutgoingQueues {
  outgoingEnqueueCombi(subscriptions: { clientId: string }[], packet: unknown): Promise<void>;
}

/**
 * Aedes queues a QoS 1/2 message for every persistent session with a matching subscription,
 * online or not, with one `outgoingEnqueueCombi` call, and has no hook there: the call is wrapped,
 * so that the filter drops the sessions over their limit from its list.
 */
export function filterOfflineQueue(persistence: OutgoingQueues, filter: MqttOfflineQueueFilter): void {
  const enqueue = persistence.outgoingEnqueueCombi;
  persistence.outgoingEnqueueCombi = function (subscriptions, packet) {
    return enqueue.call(this, filter(subscriptions), packet);
  };
}
