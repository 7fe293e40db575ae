import type { Socket } from 'node:net';

/** A connection the shared timer looks after: an absolute deadline (0: none), and liveness. */
export interface TimedConnection {
  /** `Date.now()` past which the connection is ended by `expire`; 0 for none. */
  deadline: number;
  expire(now: number): void;
  /** Called every `pingInterval`: ends a peer that answered nothing since the last call, else pings it. */
  checkAlive(): void;
}

export interface ConnectionTimerOptions {
  /** ms; 0: no WebSocket pings. */
  pingInterval: number;
  /** The shortest deadline in use, ms: the timer ticks four times in it (at most once a second), so a deadline is late by a quarter of it at most. */
  shortestDeadline: number;
}

/**
 * One timer for every connection of the server, instead of one or more per connection: the
 * handshake deadline of sockets that have not upgraded yet, the deadlines of upgraded connections
 * (first CONNECT, close handshake) and the WebSocket pings. Deadlines are absolute and never reset
 * on activity, so a peer that trickles a byte at a time cannot keep a connection half open. The
 * timer runs only while there are connections, and does not hold the process open.
 */
export class ConnectionTimers<T extends TimedConnection> {
  readonly connections = new Set<T>();
  /** Sockets of the dedicated port whose HTTP request has not completed, with their deadline. */
  readonly handshakes = new Map<Socket, number>();
  private readonly tickMs: number;
  private timer: NodeJS.Timeout | undefined;
  private nextPing = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: ConnectionTimerOptions) {
    const shortest = Math.min(options.shortestDeadline, options.pingInterval > 0 ? options.pingInterval : Infinity);
    this.tickMs = Math.max(5, Math.min(1000, Math.floor(shortest / 4)));
  }

  /** Connections in every state: handshakes in progress, upgraded, closing. */
  get size(): number {
    return this.connections.size + this.handshakes.size;
  }

  add(connection: T): void {
    this.connections.add(connection);
    this.start();
  }

  delete(connection: T): void {
    if (this.connections.delete(connection)) this.stopWhenIdle();
  }

  addHandshake(socket: Socket, deadline: number): void {
    this.handshakes.set(socket, deadline);
    this.start();
  }

  deleteHandshake(socket: Socket): void {
    if (this.handshakes.delete(socket)) this.stopWhenIdle();
  }

  /** Resolves once no connection is left. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private start(): void {
    if (this.timer !== undefined) return;
    this.nextPing = this.options.pingInterval > 0 ? Date.now() + this.options.pingInterval : Infinity;
    this.timer = setInterval(this.tick, this.tickMs);
    this.timer.unref();
  }

  private stopWhenIdle(): void {
    if (this.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
    const waiters = this.idleWaiters.splice(0);
    for (const resolve of waiters) resolve();
  }

  private readonly tick = (): void => {
    const now = Date.now();
    for (const [socket, deadline] of this.handshakes) if (now >= deadline) socket.destroy();
    const ping = now >= this.nextPing;
    if (ping) this.nextPing = now + this.options.pingInterval;
    for (const connection of this.connections) {
      if (connection.deadline !== 0 && now >= connection.deadline) connection.expire(now);
      else if (ping) connection.checkAlive();
    }
  };
}
