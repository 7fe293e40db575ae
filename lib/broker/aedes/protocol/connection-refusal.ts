import type { Duplex } from 'node:stream';
import type { Client } from 'aedes';
import { variableByteIntegerLength, writeVariableByteInteger } from './variable-byte-integer.js';

/** CONNACK return codes of MQTT 3.1.1 (table 3.1) that a refusal sends. */
export const enum ConnackReturnCode {
  UnacceptableProtocolVersion = 1,
  IdentifierRejected = 2,
}

/** A 3.1.1 CONNACK is four fixed bytes: type, remaining length 2, session present 0 [MQTT-3.2.2-4], return code. */
const CONNACKS = [0, 1, 2, 3, 4, 5].map((returnCode) => Buffer.from([0x20, 0x02, 0x00, returnCode]));

/** MQTT 5 reason code for each 3.1.1 return code (a 3.1.1 refusal sent to an MQTT 5 client). */
const REASON_OF_RETURN_CODE = [0x00, 0x84, 0x85, 0x88, 0x86, 0x87];

/**
 * The nearest MQTT 3.1.1 return code for an MQTT 5 CONNACK reason code (docs/mqtt5.md has the
 * table): 0x84 → 1, 0x85 → 2, 0x86 and 0x8C → 4, 0x87 and 0x8A → 5, every other failure → 3.
 */
export function returnCodeOfReason(reasonCode: number): number {
  switch (reasonCode) {
    case 0x84:
      return 1;
    case 0x85:
      return 2;
    case 0x86:
    case 0x8c:
      return 4;
    case 0x87:
    case 0x8a:
      return 5;
    default:
      return 3;
  }
}

interface RefusableClient {
  conn: Duplex;
  version: number | null;
  _parser?: { settings?: { protocolVersion?: number } };
  pause(): void;
}

/** The protocol level of the CONNECT being answered: Aedes sets `client.version` only after `preConnect`. */
export function connectingVersion(client: Client): number | undefined {
  const refusable = client as unknown as RefusableClient;
  return refusable.version ?? refusable._parser?.settings?.protocolVersion;
}

/**
 * Answers a CONNECT with a refusing CONNACK and closes the connection [MQTT-3.2.2-5]. Aedes only
 * sends return code 1 for protocol levels 3 < level < 5 and code 2 for long MQTT 3.1 ids, so the
 * other refusals the spec requires are sent here. The client is paused first: nothing it sends
 * after the refused CONNECT may be processed [MQTT-3.1.4-5]. `end()` closes the WebSocket after
 * the CONNACK frame, where destroying it could drop that frame.
 *
 * `code` is a 3.1.1 return code (1–5) or an MQTT 5 reason code (0x80 and above). An MQTT 5 client
 * gets the reason code (a return code is mapped to its reason code) and the reason string; a 3.1
 * or 3.1.1 client gets the return code (a reason code is mapped to the nearest one) and no string.
 */
export function refuseConnection(client: Client, code: number, reasonString?: string): void {
  const refusable = client as unknown as RefusableClient;
  refusable.pause();
  if (connectingVersion(client) === 5) {
    refusable.conn.end(encodeV5Connack(code >= 0x80 ? code : REASON_OF_RETURN_CODE[code], reasonString));
  } else {
    refusable.conn.end(CONNACKS[code >= 0x80 ? returnCodeOfReason(code) : code]);
  }
}

/** An MQTT 5 CONNACK without Session Present, with a Reason String property when given. */
function encodeV5Connack(reasonCode: number, reasonString?: string): Buffer {
  const text = reasonString === undefined ? undefined : Buffer.from(reasonString, 'utf8').subarray(0, 1000);
  const propertiesLength = text === undefined ? 0 : 3 + text.length;
  const remaining = 2 + variableByteIntegerLength(propertiesLength) + propertiesLength;
  const bytes = Buffer.alloc(1 + variableByteIntegerLength(remaining) + remaining);
  let offset = 0;
  bytes[offset++] = 0x20;
  offset = writeVariableByteInteger(bytes, offset, remaining);
  bytes[offset++] = 0x00;
  bytes[offset++] = reasonCode;
  offset = writeVariableByteInteger(bytes, offset, propertiesLength);
  if (text !== undefined) {
    bytes[offset++] = 0x1f;
    bytes.writeUInt16BE(text.length, offset);
    text.copy(bytes, offset + 2);
  }
  return bytes;
}
