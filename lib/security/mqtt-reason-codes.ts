import { MqttReasonCode } from '../interfaces/mqtt5.interface.js';
import { MqttConnectReturnCode } from './mqtt-auth-policy.interface.js';

/** The reason codes a CONNACK may refuse a connection with (MQTT 5.0 table 3-6). */
export const CONNACK_REFUSALS: ReadonlySet<number> = new Set<number>([
  0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
]);

/**
 * The MQTT 3.1.1 CONNACK return code nearest to an MQTT 5 refusal, for a 3.1.1 client (which has
 * no reason codes): identity problems → 2, credentials → 4, permission and bans → 5, everything the
 * server cannot do now (busy, quota, rate, moved, unspecified) → 3 server unavailable.
 * (0x84 unsupported protocol version is 1, which only the broker itself sends.)
 */
export function connectReturnCodeOf(reasonCode: MqttReasonCode): MqttConnectReturnCode {
  switch (reasonCode) {
    case MqttReasonCode.ClientIdentifierNotValid:
      return MqttConnectReturnCode.IdentifierRejected;
    case MqttReasonCode.BadUserNameOrPassword:
    case MqttReasonCode.BadAuthenticationMethod:
      return MqttConnectReturnCode.BadUsernameOrPassword;
    case MqttReasonCode.NotAuthorized:
    case MqttReasonCode.Banned:
      return MqttConnectReturnCode.NotAuthorized;
    default:
      return MqttConnectReturnCode.ServerUnavailable;
  }
}
