import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Takes the HTTP server's 'upgrade' event for one path and passes every other upgrade to the
 * listeners that were there before, or that come later.
 *
 * Other listeners cannot simply sit beside ours: Nest's `WsAdapter` destroys every upgrade whose
 * path none of its gateways serves, and engine.io (socket.io) destroys foreign upgrades that have
 * not answered within a second. So ours becomes the only listener and the others run behind it.
 */
export class UpgradeRouter {
  private readonly others: UpgradeListener[] = [];

  constructor(
    private readonly server: Server,
    private readonly path: string,
    private readonly onUpgrade: UpgradeListener,
  ) {}

  attach(): void {
    this.others.push(...(this.server.listeners('upgrade') as UpgradeListener[]));
    this.server.removeAllListeners('upgrade');
    this.server.on('upgrade', this.route);
    this.server.on('newListener', this.adoptLater);
  }

  detach(): void {
    this.server.off('newListener', this.adoptLater);
    this.server.off('upgrade', this.route);
    for (const listener of this.others.splice(0)) this.server.on('upgrade', listener);
  }

  private readonly route = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (pathOf(request.url) === this.path) return this.onUpgrade(request, socket, head);
    if (this.others.length === 0) {
      // What Node does for an upgrade nobody listens to.
      socket.destroy();
      return;
    }
    for (const listener of this.others) listener.call(this.server, request, socket, head);
  };

  /** 'newListener' fires before the listener is added, so it is moved behind us right after. */
  private readonly adoptLater = (event: string | symbol, listener: UpgradeListener): void => {
    if (event !== 'upgrade' || listener === this.route) return;
    queueMicrotask(() => {
      if (!this.server.listeners('upgrade').includes(listener)) return;
      this.server.off('upgrade', listener);
      this.others.push(listener);
    });
  };
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
