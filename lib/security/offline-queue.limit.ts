import { Logger } from '@nestjs/common';
import type { MqttBroker } from '../broker/mqtt-broker.js';
import { quoteClientId } from './describe-client.js';
import { OfflineSessions } from './offline-sessions.js';
import { countDroppedMessages } from '../metrics/message-drops.js';

const logger = new Logger('MqttWsModule');

interface QueuedSubscription {
  clientId: string;
}

/**
 * Bounds the messages queued for one offline persistent session, as Mosquitto's
 * `max_queued_messages` does: beyond `maxQueuedMessages` since it went offline, new messages for it
 * are dropped, with one warning per offline period. Aedes otherwise keeps every QoS 1 and 2 message
 * for a session that never comes back.
 *
 * Aedes queues a QoS 1/2 message for every persistent session with a matching subscription, online
 * or not; this filters the sessions over their limit out of that list (`MqttBroker.filterOfflineQueue`). While no session is known offline, that costs one size check per message;
 * otherwise one map lookup per persistent subscriber. The counts are this broker's: with several
 * instances on one persistence, each bounds what is published through it (docs/security.md).
 */
export function limitOfflineQueues(broker: MqttBroker, sessions: OfflineSessions, maxQueuedMessages: number): void {
  sessions.attach(broker);
  broker.filterOfflineQueue((subscriptions) => (sessions.queued.size === 0 ? subscriptions : countDrops(broker, subscriptions, admit(sessions, subscriptions, maxQueuedMessages))));
}

function countDrops<T>(broker: MqttBroker, subscriptions: T[], admitted: T[]): T[] {
  if (admitted.length !== subscriptions.length) countDroppedMessages(broker, 'queue_limit', subscriptions.length - admitted.length);
  return admitted;
}

/** The subscriptions whose sessions may queue one more message (the same array when all may), counting it. */
function admit<T extends QueuedSubscription>(sessions: OfflineSessions, subscriptions: T[], max: number): T[] {
  const queued = sessions.queued;
  let admitted: T[] | undefined;
  for (let i = 0; i < subscriptions.length; i++) {
    const clientId = subscriptions[i].clientId;
    const count = queued.get(clientId);
    if (count !== undefined && !sessions.isLocal(clientId)) {
      if (count >= max) {
        // One more than the limit marks the period as warned about.
        if (count === max) {
          queued.set(clientId, max + 1);
          logger.warn(
            `Offline client ${quoteClientId(clientId)} has ${max} messages queued ("maxQueuedMessages"); its new messages are dropped until it reconnects`,
          );
        }
        admitted ??= subscriptions.slice(0, i);
        continue;
      }
      queued.set(clientId, count + 1);
    } else if (count !== undefined) {
      // Back on this broker (an entry that raced its reconnection): never drop for a connected client.
      queued.delete(clientId);
    }
    admitted?.push(subscriptions[i]);
  }
  return admitted ?? subscriptions;
}
