import type { Duplex } from 'node:stream';
import { Logger } from '@nestjs/common';
import type { Client } from 'aedes';
import { describeClient } from '../../security/describe-client.js';
import { describeAedesClient } from './aedes-client.js';
import { countDroppedMessages } from '../../metrics/message-drops.js';

const logger = new Logger('MqttWsModule');

/** What each waiting message costs beyond its bytes: the stream's entry and the packet's buffers. */
const PER_MESSAGE_OVERHEAD = 128;
/** The WebSocket close code the transport sends when a stream is destroyed with this error: 1008, policy violation. */
const POLICY_VIOLATION = 1008;

const MAX_BUFFERED_BYTES = Symbol('maxBufferedBytes');
const SATURATED_WRITES = Symbol('saturatedWrites');
const WAITING_FOR_DRAIN = Symbol('waitingForDrain');

type DrainCallback = (error: Error | null, client: Client) => void;

/** Aedes 1.2 client internals the limit reads and overrides; checked at start-up by aedes-contract.ts. */
interface BoundedClient {
  conn: Duplex & { bufferedAmount?: number };
  waitForDrain(callback: DrainCallback): void;
  [MAX_BUFFERED_BYTES]: number;
  [SATURATED_WRITES]: number;
  [WAITING_FOR_DRAIN]: boolean;
}

let baseWaitForDrain: ((callback: DrainCallback) => void) | undefined;

/** Keeps Aedes' `Client.prototype.waitForDrain`, verified by the contract check at start-up. */
export function bindSlowConsumerLimit(clientPrototype: { waitForDrain(callback: DrainCallback): void }): void {
  baseWaitForDrain = clientPrototype.waitForDrain;
}

export function limitBufferedBytes(client: Client, maxBufferedBytes: number): void {
  const bounded = client as unknown as BoundedClient;
  bounded[MAX_BUFFERED_BYTES] = maxBufferedBytes;
  bounded[SATURATED_WRITES] = 0;
  bounded[WAITING_FOR_DRAIN] = false;
  bounded.waitForDrain = waitForDrainBounded;
}

/**
 * Aedes calls this when a write found the client's stream full, and holds the delivery until the
 * stream drains. Deliveries share the broker's emitter, whose concurrency is global, so one
 * client that stops reading would stall every other. Instead the delivery completes at once and
 * the bytes wait in the client's stream, up to `maxBufferedBytes`; past it the client is
 * disconnected, its persistent session and unacknowledged messages kept by Aedes. Aedes' own
 * drain timer still runs, so a client that reads too slowly for `drainTimeout` goes too.
 */
function waitForDrainBounded(this: BoundedClient, callback: DrainCallback): void {
  const conn = this.conn;
  const writes = ++this[SATURATED_WRITES];
  const waiting = conn.writableLength + (conn.bufferedAmount ?? 0) + writes * PER_MESSAGE_OVERHEAD;
  if (waiting > this[MAX_BUFFERED_BYTES]) {
    const error = new Error(`slow consumer: more than ${this[MAX_BUFFERED_BYTES]} bytes waiting to be sent`);
    (error as Error & { closeCode?: number }).closeCode = POLICY_VIOLATION;
    if (!conn.destroyed) {
      logger.warn(`Disconnected ${describeClient(describeAedesClient(this as unknown as Client))}: it does not read (${waiting} bytes waiting, "maxBufferedBytes")`);
      conn.destroy(error);
      countDroppedMessages((this as unknown as { broker: object }).broker, 'slow_consumer');
    }
    setImmediate(callback, error, this as unknown as Client);
    return;
  }
  if (!this[WAITING_FOR_DRAIN]) {
    this[WAITING_FOR_DRAIN] = true;
    baseWaitForDrain!.call(this, drained);
  }
  setImmediate(callback, null, this as unknown as Client);
}

/** Called by Aedes on drain (with the client), or as a plain 'drain' listener when `drainTimeout` is 0 (on the stream). */
function drained(this: unknown, _error?: Error | null, client?: Client): void {
  const bounded = (client ?? (this as { client?: Client }).client) as unknown as BoundedClient | undefined;
  if (!bounded) return;
  bounded[WAITING_FOR_DRAIN] = false;
  bounded[SATURATED_WRITES] = 0;
}
