import type { AedesPublishPacket, Client } from 'aedes';
import type { MqttPublishPacket } from '../../mqtt-broker.js';
import { topicMatchesFilter } from '../../../topic/index.js';

/** The lowest QoS granted to any of a client's subscriptions, kept on the client for the hot path. */
const LOWEST_GRANTED_QOS = Symbol('lowestGrantedQos');
/** The highest QoS granted to any of them. */
const HIGHEST_GRANTED_QOS = Symbol('highestGrantedQos');

interface TrackedClient {
  [LOWEST_GRANTED_QOS]?: number;
  [HIGHEST_GRANTED_QOS]?: number;
  /** Aedes' own map of the client's subscriptions, by topic filter. */
  subscriptions: Record<string, { qos: number }>;
}

/**
 * Aedes lowers a delivery's QoS only to that of a subscription whose filter equals the topic
 * (`client.subscriptions[packet.topic]`), so a message published at QoS 2 reaches a subscriber of
 * `a/+` granted QoS 1 at QoS 2, and a retained QoS 1 message a `#` subscriber granted QoS 0 at
 * QoS 1. The QoS of a delivered message is the minimum of the published QoS and the QoS granted
 * [MQTT-3.8.4-6], the highest granted among the client's matching subscriptions when several
 * overlap [MQTT-3.3.5-1]. This lowers it in `authorizeForward`, before Aedes writes the packet.
 *
 * Hot path: one comparison per delivery while the published QoS is within the lowest QoS the
 * client was granted (the common case); the client's filters are matched only beyond it.
 */
export function limitToGrantedQos(client: Client, packet: MqttPublishPacket): void {
  if (!(packet.qos > ((client as unknown as TrackedClient)[LOWEST_GRANTED_QOS] as number))) return;
  let granted = highestMatchingGrant(client, packet.topic, packet.qos);
  if (granted < 0 || granted >= packet.qos) return;
  // A packet with an identifier is one Aedes resends from a persistent session's queue; it stays
  // stored until acknowledged, and a QoS 0 packet never is, so it is not lowered below 1.
  if (granted === 0 && packet.messageId !== undefined) granted = 1;
  packet.qos = granted as 0 | 1 | 2;
}

/** The highest QoS granted to a subscription of the client that matches `topic` (-1 if none), stopping at `enough`. */
function highestMatchingGrant(client: Client, topic: string, enough: number): number {
  const subscriptions = (client as unknown as TrackedClient).subscriptions;
  let granted = -1;
  for (const filter in subscriptions) {
    const qos = subscriptions[filter].qos;
    if (qos > granted && topicMatchesFilter(filter, topic)) {
      granted = qos;
      if (granted >= enough) break;
    }
  }
  return granted;
}

type Deliver = (packet: AedesPublishPacket, callback: () => void) => void;

/**
 * Aedes binds each subscription to `client.deliver0` (QoS 0) or `client.deliverQoS` and sends a
 * message matching several subscriptions of one client once, through whichever matched first. When
 * a QoS 0 subscription comes first, the message goes out at QoS 0 though an overlapping one was
 * granted more [MQTT-3.3.5-1]. Replacing `deliver0` before the client subscribes sends such a
 * message through `deliverQoS`, where `limitToGrantedQos` sets its QoS. Messages published at
 * QoS 0, and clients granted only QoS 0, take the original path after one comparison.
 */
export function deliverAtHighestGrantedQos(client: Client): void {
  const tracked = client as unknown as TrackedClient & { deliver0: Deliver; deliverQoS: Deliver };
  const deliver0 = tracked.deliver0;
  tracked.deliver0 = (packet, callback) => {
    if (packet.qos > 0 && tracked[HIGHEST_GRANTED_QOS]! > 0 && highestMatchingGrant(client, packet.topic, 1) > 0) {
      return tracked.deliverQoS(packet, callback);
    }
    deliver0(packet, callback);
  };
}

/** Whether the client holds a subscription granted QoS 1 or 2: only those make Aedes queue messages for its session. */
export function holdsQosSubscription(client: Client): boolean {
  return ((client as unknown as TrackedClient)[HIGHEST_GRANTED_QOS] ?? 0) > 0;
}

/** Starts a client with nothing granted, so that nothing is lowered. */
export function trackGrantedQos(client: Client): void {
  const tracked = client as unknown as TrackedClient;
  tracked[LOWEST_GRANTED_QOS] = 2;
  tracked[HIGHEST_GRANTED_QOS] = 0;
}

/**
 * Notes a granted subscription as Aedes grants it (from `authorizeSubscribe`, before the
 * subscription takes effect, on SUBSCRIBE and on a session's restore alike).
 */
export function noteGrantedQos(client: Client, qos: number): void {
  const tracked = client as unknown as TrackedClient;
  if (qos < (tracked[LOWEST_GRANTED_QOS] ?? 2)) tracked[LOWEST_GRANTED_QOS] = qos;
  if (qos > (tracked[HIGHEST_GRANTED_QOS] ?? 0)) tracked[HIGHEST_GRANTED_QOS] = qos;
}

/** Recomputes the lowest and highest granted QoS after subscriptions changed, so the fast path comes back. */
export function refreshGrantedQos(client: Client): void {
  const tracked = client as unknown as TrackedClient;
  let lowest = 2;
  let highest = 0;
  for (const filter in tracked.subscriptions) {
    const qos = tracked.subscriptions[filter].qos;
    if (qos < lowest) lowest = qos;
    if (qos > highest) highest = qos;
  }
  tracked[LOWEST_GRANTED_QOS] = lowest;
  tracked[HIGHEST_GRANTED_QOS] = highest;
}
