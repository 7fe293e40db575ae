import type { IncomingMessage } from 'node:http';
import { Logger } from '@nestjs/common';
import type { MqttOriginCheck } from './mqtt-security-options.interface.js';

export interface HandshakeRefusal {
  status: number;
  message: string;
}

const FORBIDDEN_ORIGIN: HandshakeRefusal = { status: 403, message: 'Origin not allowed' };
const AT_CAPACITY: HandshakeRefusal = { status: 503, message: 'Too many MQTT connections' };

/**
 * The checks of a WebSocket handshake that come before the subprotocol: the browser's `Origin`
 * (Cross-Site WebSocket Hijacking) and the connection count. A refusal is an HTTP status, sent
 * before the upgrade.
 */
export class HandshakeGuard {
  private readonly logger = new Logger('MqttWsModule');
  private readonly isAllowedOrigin: (origin: string, request: IncomingMessage) => boolean;

  constructor(
    allowedOrigins: MqttOriginCheck | undefined,
    private readonly maxConnections: number,
  ) {
    this.isAllowedOrigin = originCheck(allowedOrigins);
  }

  refusal(request: IncomingMessage, connectionCount: number): HandshakeRefusal | undefined {
    const origin = request.headers.origin;
    // Browsers always send Origin on a WebSocket handshake; other clients usually send none, and
    // could send any, so the check protects browser sessions (cookies), which is its purpose.
    if (origin !== undefined && !this.isAllowedOrigin(origin, request)) {
      this.logger.warn(`Refused a WebSocket handshake from origin ${JSON.stringify(origin.slice(0, 200))} (set "allowedOrigins" to allow it)`);
      return FORBIDDEN_ORIGIN;
    }
    if (this.maxConnections > 0 && connectionCount >= this.maxConnections) {
      this.logger.warn(`Refused a WebSocket handshake: ${connectionCount} connections open, the "maxConnections" limit`);
      return AT_CAPACITY;
    }
    return undefined;
  }
}

function originCheck(allowed: MqttOriginCheck | undefined): (origin: string, request: IncomingMessage) => boolean {
  if (allowed === undefined) return isSameOrigin;
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
  const patterns = allowed.filter((entry): entry is RegExp => entry instanceof RegExp);
  return (origin) => exact.has(origin.toLowerCase()) || patterns.some((pattern) => pattern.test(origin));
}

/** An origin whose host and port are those the request was sent to (its `Host` header). */
function isSameOrigin(origin: string, request: IncomingMessage): boolean {
  const host = request.headers.host;
  if (host === undefined) return false;
  try {
    return new URL(origin).host === new URL(`http://${host}`).host;
  } catch {
    return false;
  }
}
