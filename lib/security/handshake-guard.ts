import type { IncomingMessage } from 'node:http';
import { isIP, type Socket } from 'node:net';
import type { MqttUpgradeRequest } from '../interfaces/mqtt-upgrade-request.interface.js';
import { Logger } from '@nestjs/common';
import { ConnectionsPerAddress } from './connections-per-address.js';
import type { MqttOriginCheck } from './mqtt-security-options.interface.js';
import { TrustedProxies } from './trusted-proxies.js';

export interface HandshakeRefusal {
  status: number;
  message: string;
}

const FORBIDDEN_ORIGIN: HandshakeRefusal = { status: 403, message: 'Origin not allowed' };
const AT_CAPACITY: HandshakeRefusal = { status: 503, message: 'Too many MQTT connections' };
// 429, not 503: the refusal is about this client's address, not the server's load, and says so to
// the client, its proxy and the logs.
const TOO_MANY_FROM_ADDRESS: HandshakeRefusal = { status: 429, message: 'Too many MQTT connections from this address' };

export interface HandshakeLimits {
  allowedOrigins?: MqttOriginCheck;
  allowedHosts?: readonly string[];
  maxConnections: number;
  maxConnectionsPerIp: number;
  trustedProxies: readonly string[];
}

/**
 * The checks of a WebSocket handshake: before the subprotocol, the browser's `Origin`
 * (Cross-Site WebSocket Hijacking) and the connection count; last, the connections of the
 * client's address. A refusal is an HTTP status, sent before the upgrade.
 */
export class HandshakeGuard {
  private readonly logger = new Logger('MqttWsModule');
  private readonly isAllowedOrigin: (origin: string, request: IncomingMessage) => boolean;
  private readonly maxConnections: number;
  private readonly maxConnectionsPerIp: number;
  private readonly proxies: TrustedProxies;
  readonly connectionsPerAddress = new ConnectionsPerAddress();

  constructor(limits: HandshakeLimits) {
    this.isAllowedOrigin = originCheck(limits.allowedOrigins, limits.allowedHosts ?? []);
    this.maxConnections = limits.maxConnections;
    this.maxConnectionsPerIp = limits.maxConnectionsPerIp;
    this.proxies = new TrustedProxies(limits.trustedProxies);
  }

  refusal(request: IncomingMessage, connectionCount: number): HandshakeRefusal | undefined {
    const origin = request.headers.origin;
    // Browsers always send Origin on a WebSocket handshake; other clients usually send none, and
    // could send any, so the check protects browser sessions (cookies), which is its purpose.
    if (origin !== undefined && !this.isAllowedOrigin(origin, request)) {
      this.logger.warn(
        `Refused a WebSocket handshake from origin ${JSON.stringify(origin.slice(0, 200))} to host ${JSON.stringify((request.headers.host ?? '').slice(0, 200))} (set "allowedHosts" or "allowedOrigins" to allow it)`,
      );
      return FORBIDDEN_ORIGIN;
    }
    if (this.maxConnections > 0 && connectionCount >= this.maxConnections) {
      this.logger.warn(`Refused a WebSocket handshake: ${connectionCount} connections open, the "maxConnections" limit`);
      return AT_CAPACITY;
    }
    return undefined;
  }

  /**
   * A dedicated-port socket at its TCP accept, before any byte: false when its address is at
   * `maxConnectionsPerIp` (it is then destroyed), else it is counted from now on. A trusted proxy's
   * socket is let through here and counted at its upgrade, by the address `X-Forwarded-For` gives.
   */
  admitSocket(socket: Socket): boolean {
    if (this.maxConnectionsPerIp === 0) return true;
    const address = this.proxies.connectionDetails({ socket, headers: {} } as MqttUpgradeRequest).ipAddress;
    if (address === undefined || this.proxies.trusts(address)) return true;
    if (this.connectionsPerAddress.count(address) >= this.maxConnectionsPerIp) return false;
    this.connectionsPerAddress.add(address, socket);
    return true;
  }

  /**
   * The last check before the upgrade, when every other one passed: refuses the handshake when
   * the client's address (behind trusted proxies) is at `maxConnectionsPerIp`, and otherwise
   * counts it until its socket closes. Check and count happen in one synchronous step, so
   * concurrent handshakes from one address cannot all pass.
   */
  admit(request: IncomingMessage): HandshakeRefusal | undefined {
    if (this.maxConnectionsPerIp === 0 || this.connectionsPerAddress.has(request.socket)) return undefined;
    const address = this.proxies.connectionDetails(request).ipAddress;
    // No address: the socket is already gone, and the upgrade will not happen.
    if (address === undefined) return undefined;
    const open = this.connectionsPerAddress.count(address);
    if (open >= this.maxConnectionsPerIp) {
      this.logger.warn(`Refused a WebSocket handshake from ${address}: ${open} connections open from it, the "maxConnectionsPerIp" limit`);
      return TOO_MANY_FROM_ADDRESS;
    }
    this.connectionsPerAddress.add(address, request.socket);
    return undefined;
  }
}

function originCheck(allowed: MqttOriginCheck | undefined, allowedHosts: readonly string[]): (origin: string, request: IncomingMessage) => boolean {
  if (allowed === undefined) {
    const hosts = new TrustedHostNames(allowedHosts);
    return (origin, request) => isSameOrigin(origin, request, hosts);
  }
  if (allowed === '*') return () => true;
  if (typeof allowed === 'function') {
    return (origin, request) => {
      try {
        return allowed(origin, request) === true;
      } catch {
        return false;
      }
    };
  }
  const exact = new Set(allowed.filter((entry): entry is string => typeof entry === 'string').map((entry) => entry.toLowerCase()));
  // Without `g` and `y`: `test` would start where the previous call matched (`lastIndex`), and
  // refuse every other handshake from an allowed origin.
  const patterns = allowed.filter((entry): entry is RegExp => entry instanceof RegExp).map((pattern) => new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')));
  return (origin) => exact.has(origin.toLowerCase()) || patterns.some((pattern) => pattern.test(origin));
}

/**
 * An origin whose host and port are those the request was sent to (its `Host` header), where that
 * host is one a DNS-rebinding page cannot claim: an IP address, a loopback name, or `allowedHosts`.
 * (A page on evil.example whose name an attacker points at the server sends `Origin` and `Host`
 * both evil.example: same origin, but not a trusted host.)
 */
function isSameOrigin(origin: string, request: IncomingMessage, hosts: TrustedHostNames): boolean {
  const host = request.headers.host;
  if (host === undefined) return false;
  try {
    const target = new URL(`http://${host}`);
    return hosts.trusts(target.hostname) && new URL(origin).host === target.host;
  } catch {
    return false;
  }
}

/** Host names a browser page can be same-origin with by default: IP addresses, `localhost` and its subdomains, and the configured ones. */
class TrustedHostNames {
  private readonly exact = new Set<string>();
  private readonly suffixes: string[] = [];

  constructor(names: readonly string[]) {
    for (const name of names) {
      const lower = name.toLowerCase();
      if (lower.startsWith('.')) this.suffixes.push(lower);
      else this.exact.add(lower);
    }
  }

  /** `hostname` as `URL` gives it: lower case, IPv6 in brackets. */
  trusts(hostname: string): boolean {
    const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    if (isIP(bare) !== 0) return true;
    if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
    return this.exact.has(bare) || this.suffixes.some((suffix) => bare.endsWith(suffix));
  }
}
