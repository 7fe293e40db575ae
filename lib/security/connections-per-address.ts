import type { Duplex } from 'node:stream';

/**
 * Open MQTT WebSockets per client address. A connection is counted from the moment its handshake
 * is accepted until its TCP socket closes: every path after acceptance (upgraded and later closed,
 * or an upgrade that fails because the client already left or the server is closing) ends with
 * that socket closing, so the count cannot leak. Addresses at 0 are deleted, so the map holds
 * only the addresses that have connections open.
 */
export class ConnectionsPerAddress {
  private readonly counts = new Map<string, number>();
  /** Sockets counted since their TCP accept (dedicated port), so that their upgrade does not count them twice. */
  private readonly counted = new WeakSet<Duplex>();

  /** The counts, for tests and monitoring; empty when no connection is open. */
  get byAddress(): ReadonlyMap<string, number> {
    return this.counts;
  }

  count(address: string): number {
    return this.counts.get(address) ?? 0;
  }

  has(socket: Duplex): boolean {
    return this.counted.has(socket);
  }

  /** Counts `socket` under `address` until it closes. A socket already destroyed will never upgrade and is not counted. */
  add(address: string, socket: Duplex): void {
    if (socket.destroyed || this.counted.has(socket)) return;
    this.counted.add(socket);
    this.counts.set(address, this.count(address) + 1);
    socket.once('close', () => this.remove(address));
  }

  private remove(address: string): void {
    const count = this.count(address) - 1;
    if (count > 0) this.counts.set(address, count);
    else this.counts.delete(address);
  }
}
