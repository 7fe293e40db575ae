import type { TimedConnection } from './connection-timers.js';

/**
 * One connection of any listener (WebSocket, TCP, TLS) as the shared parts see it: the one count
 * against `maxConnections`, the one timer (deadlines), the transport stats and shutdown.
 */
export interface TransportConnection extends TimedConnection {
  /** Bytes written and not yet taken by the kernel. */
  readonly bufferedAmount: number;
  /** Bytes read and not yet taken by the MQTT parser. */
  readonly readableLength: number;
  /** The broker accepted the CONNECT: the pre-CONNECT budget and deadline end. */
  markConnected(): void;
  /** Server shutdown: the peer is told after what is pending, and has `closeTimeout` to close. */
  goAway(): void;
  /** Ends the connection at once. */
  terminate(): void;
}
