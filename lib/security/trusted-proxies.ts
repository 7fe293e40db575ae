import type { MqttUpgradeRequest } from '../interfaces/mqtt-upgrade-request.interface.js';
import { BlockList, isIP } from 'node:net';

/** Where a connection comes from, as the module works it out behind trusted proxies (the broker adapter hands it to the broker). */
export interface MqttConnectionDetails {
  ipAddress: string | undefined;
  port: number | undefined;
  ipFamily: 4 | 6 | undefined;
  isWebsocket: true;
  /** 1 when `ipAddress` came from `X-Forwarded-For` of a trusted proxy. */
  isProxy: 0 | 1;
}

const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** Addresses and CIDR ranges (`10.0.0.0/8`, `::1`, `fd00::/8`) of the reverse proxies whose `X-Forwarded-For` is believed. */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const entry of entries) {
      const [address, prefix] = entry.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.list.addAddress(address, family);
      else this.list.addSubnet(address, Number(prefix), family);
    }
  }

  /** Throws on an entry that is neither an IP address nor a CIDR range; used by the options validator. */
  static assertValid(entry: unknown): asserts entry is string {
    if (typeof entry !== 'string') throw new Error('not a string');
    const [address, prefix, extra] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || extra !== undefined) throw new Error('not an IP address or CIDR range');
    if (prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128))) {
      throw new Error('bad CIDR prefix length');
    }
  }

  trusts(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }

  /**
   * The client's address: the peer's, or, when the peer is a trusted proxy, the nearest address
   * in `X-Forwarded-For` (read from the right) that is not itself a trusted proxy. Addresses
   * left of an untrusted one could have been written by anyone and are never used.
   */
  connectionDetails(request: MqttUpgradeRequest): MqttConnectionDetails {
    const socket = request.socket;
    let address = normalize(socket.remoteAddress);
    let isProxy: 0 | 1 = 0;
    if (!this.empty && address !== undefined && this.trusts(address)) {
      const header = request.headers['x-forwarded-for'];
      const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = normalize(hops[i].trim());
        if (hop === undefined || isIP(hop) === 0) break;
        address = hop;
        isProxy = 1;
        if (!this.trusts(hop)) break;
      }
    }
    const family = address === undefined ? 0 : isIP(address);
    return {
      ipAddress: address,
      port: isProxy ? undefined : socket.remotePort,
      ipFamily: family === 0 ? undefined : (family as 4 | 6),
      isWebsocket: true,
      isProxy,
    };
  }
}

function normalize(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const mapped = IPV4_MAPPED.exec(address);
  return mapped ? mapped[1] : address;
}
