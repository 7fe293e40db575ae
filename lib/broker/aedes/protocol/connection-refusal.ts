import type { Duplex } from 'node:stream';
import type { Client } from 'aedes';

/** CONNACK return codes of MQTT 3.1.1 (table 3.1) that a refusal sends. */
export const enum ConnackReturnCode {
  UnacceptableProtocolVersion = 1,
  IdentifierRejected = 2,
}

/** A CONNACK is four fixed bytes: type, remaining length 2, session present 0 [MQTT-3.2.2-4], return code. */
const CONNACKS = [0, 1, 2, 3, 4, 5].map((returnCode) => Buffer.from([0x20, 0x02, 0x00, returnCode]));

interface RefusableClient {
  conn: Duplex;
  pause(): void;
}

/**
 * Answers a CONNECT with a refusing CONNACK and closes the connection [MQTT-3.2.2-5]. Aedes only
 * sends return code 1 for protocol levels 3 < level < 5 and code 2 for long MQTT 3.1 ids, so the
 * other refusals the spec requires are sent here. The client is paused first: nothing it sends
 * after the refused CONNECT may be processed [MQTT-3.1.4-5]. `end()` closes the WebSocket after
 * the CONNACK frame, where destroying it could drop that frame.
 */
export function refuseConnection(client: Client, returnCode: number): void {
  const refusable = client as unknown as RefusableClient;
  refusable.pause();
  refusable.conn.end(CONNACKS[returnCode]);
}
