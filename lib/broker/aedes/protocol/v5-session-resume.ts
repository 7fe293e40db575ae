import type { Client } from 'aedes';

/**
 * MQTT 5 splits 3.1.1's CleanSession in two: Clean Start (resume the session or not) and Session
 * Expiry Interval (how long it outlives this connection). Aedes 2.0.0-beta.1 keeps `client.clean`
 * for the second, and its `emptyQueue` drops the queued QoS 1/2 messages of a session resumed with
 * Clean Start 0 when the new connection's Session Expiry is 0 (`client.clean || client._cleanStart`):
 * the session is resumed (Session Present 1) but its messages are thrown away [MQTT-3.1.2-5]
 * (the queue belongs to the resumed session, whatever its expiry from now on). So, from the CONNACK
 * until the queue is emptied ('clientReady'), such a client is not `clean` to Aedes.
 */

const RESUMING = Symbol('resumingV5Session');

interface ResumingClient {
  version: number | null;
  clean: boolean;
  _cleanStart?: boolean;
  [RESUMING]?: true;
}

/** 'connackSent' (emptyQueue runs next). */
export function keepQueueOfResumedSession(client: Client): void {
  const resuming = client as unknown as ResumingClient;
  if (resuming.version !== 5 || !resuming.clean || resuming._cleanStart !== false) return;
  resuming[RESUMING] = true;
  resuming.clean = false;
}

/** 'clientReady' (the queue was emptied): the session ends with this connection again. */
export function endQueueOfResumedSession(client: Client): void {
  const resuming = client as unknown as ResumingClient;
  if (resuming[RESUMING] === undefined) return;
  resuming[RESUMING] = undefined;
  resuming.clean = true;
}
