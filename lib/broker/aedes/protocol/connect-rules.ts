import type { ConnectPacket } from 'aedes';
import type { MqttConnectPacket } from '../../mqtt-broker.js';
import { ConnackReturnCode } from './connection-refusal.js';
import type { PacketBytes } from './packet-bytes.js';
import { topicNameError } from '../../../topic/index.js';

/** The protocol levels that go with each protocol name: MQTT 3.1.1 is "MQTT" 4, MQTT 5.0 "MQTT" 5, MQTT 3.1 "MQIsdp" 3. */
const LEVELS_OF_PROTOCOL: Readonly<Record<string, readonly number[]>> = { MQTT: [4, 5], MQIsdp: [3] };
/** mqtt-packet reads a level with the top bit set as a bridge's level (a Mosquitto extension). */
const BRIDGE_BIT = 0x80;

/**
 * Reads the protocol name and level at the start of a CONNECT's variable header and returns
 * the CONNACK return code that refuses it, if any. mqtt-packet rejects levels other than 3, 4
 * and 5 as a parse error, which closes the connection without the CONNACK return code 1
 * [MQTT-3.1.2-2] requires. An unknown protocol name is left to mqtt-packet, which disconnects
 * as [MQTT-3.1.2-1] allows.
 */
export function protocolLevelRefusal(bytes: PacketBytes, packetLength: number): ConnackReturnCode | undefined {
  if (packetLength < 3 || bytes.length < 3) return undefined;
  const nameLength = bytes.readUInt16BE(0);
  if (nameLength + 3 > packetLength) return undefined;
  const expectedLevels = LEVELS_OF_PROTOCOL[bytes.toString('latin1', 2, 2 + nameLength)];
  if (expectedLevels === undefined) return undefined;
  const level = bytes.readUInt8(2 + nameLength) & ~BRIDGE_BIT;
  return expectedLevels.includes(level) ? undefined : ConnackReturnCode.UnacceptableProtocolVersion;
}

/**
 * Why a parsed CONNECT does not conform to section 3.1, or `undefined`. Such a CONNECT closes the
 * connection without a CONNACK [MQTT-3.1.4-1]. mqtt-packet checks the reserved flag and the will
 * flags when the will flag is 0; these are the rules it leaves out.
 */
export function connectViolation(packet: ConnectPacket, bytesRead: number, packetLength: number): string | undefined {
  const will = packet.will;
  if (will) {
    // [MQTT-3.1.2-14]
    if ((will.qos as number) === 3) return 'CONNECT will QoS is 3';
    // [MQTT-3.1.3-10] a will topic is a topic name: not empty, no wildcards.
    const topicError = topicNameError(will.topic);
    if (topicError) return `CONNECT will topic: ${topicError}`;
  }
  // [MQTT-3.1.2-22]
  if (packet.password !== undefined && packet.username === undefined) return 'CONNECT password flag set without user name flag';
  // [MQTT-3.1.2-18], [MQTT-3.1.2-20]: bytes past the last field the flags announce are a user name
  // or password the flags say is absent (mqtt-packet would silently skip them).
  if (bytesRead !== packetLength) return 'CONNECT payload holds fields its flags do not announce';
  return undefined;
}

/**
 * The CONNACK return code that refuses a CONNECT's client identifier, if any. Aedes assigns an
 * identifier to every client that sends none, but one that asks to resume a session
 * (CleanSession 0) with a zero-length identifier is refused with code 2 [MQTT-3.1.3-8]; MQTT 3.1
 * has no zero-length identifiers at all.
 */
export function clientIdRefusal(packet: MqttConnectPacket): ConnackReturnCode | undefined {
  // MQTT 5: a zero-length identifier gets an Assigned Client Identifier whatever Clean Start says [MQTT-3.1.3-6].
  if (packet.clientId.length > 0 || packet.protocolVersion === 5) return undefined;
  return packet.clean && packet.protocolVersion === 4 ? undefined : ConnackReturnCode.IdentifierRejected;
}
