import type { MqttPublishPacket } from '../../mqtt-broker.js';

/**
 * Sets the DUP flag of a PUBLISH the server is about to send. Aedes copies it from the incoming
 * PUBLISH, so a client's retransmission reached every subscriber with DUP 1, at QoS 0 too; and it
 * resends a persistent session's unacknowledged messages on reconnect with DUP 0.
 * - DUP is set by whether the outgoing packet is a retransmission, not by the incoming one
 *   [MQTT-3.3.1-3], and is 0 on every QoS 0 packet [MQTT-3.3.1-2].
 * - A packet that reaches `authorizeForward` with a packet identifier is one Aedes sends from the
 *   session's queue on reconnect (live deliveries get theirs later): it may have been sent on the
 *   previous connection, and a re-delivery MUST have DUP 1 [MQTT-3.3.1-1]. The queue does not tell
 *   sent from unsent messages; DUP 1 only says "might be a re-delivery", so all get it.
 */
export function setOutgoingDupFlag(packet: MqttPublishPacket): void {
  if (packet.messageId !== undefined) packet.dup = true;
  else if (packet.dup) packet.dup = false;
}
