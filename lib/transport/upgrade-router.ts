import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
/** What `rawListeners` gives for a listener added with `once`: a wrapper that knows the listener. */
type OnceWrapper = UpgradeListener & { listener: UpgradeListener };

const isOnce = (listener: UpgradeListener): listener is OnceWrapper => typeof (listener as Partial<OnceWrapper>).listener === 'function';

/**
 * Takes the HTTP server's 'upgrade' event for one path and passes every other upgrade to the
 * listeners that were there before, or that come later.
 *
 * Other listeners cannot simply sit beside ours: Nest's `WsAdapter` destroys every upgrade whose
 * path none of its gateways serves, and engine.io (socket.io) destroys foreign upgrades that have
 * not answered within a second. So ours becomes the only listener and the others run behind it.
 * A listener added with `once` stays a `once` listener behind ours: it runs for one upgrade.
 */
export class UpgradeRouter {
  private others: UpgradeListener[] = [];

  constructor(
    private readonly server: Server,
    private readonly path: string,
    private readonly onUpgrade: UpgradeListener,
  ) {}

  attach(): void {
    this.others.push(...(this.server.rawListeners('upgrade') as UpgradeListener[]));
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
    const listeners = this.others;
    if (listeners.length === 0) {
      // What Node does for an upgrade nobody listens to.
      socket.destroy();
      return;
    }
    if (listeners.some(isOnce)) this.others = listeners.filter((listener) => !isOnce(listener));
    for (const listener of listeners) listener.call(this.server, request, socket, head);
  };

  /** 'newListener' fires before the listener is added, so it is moved behind us right after. */
  private readonly adoptLater = (event: string | symbol, listener: UpgradeListener): void => {
    if (event !== 'upgrade' || listener === this.route) return;
    queueMicrotask(() => {
      // For a `once` listener, the wrapper: taking the listener itself would make it permanent.
      const raw = (this.server.rawListeners('upgrade') as UpgradeListener[]).find((added) => added === listener || (isOnce(added) && added.listener === listener));
      if (raw === undefined) return;
      this.server.off('upgrade', listener);
      this.others.push(raw);
    });
  };
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
