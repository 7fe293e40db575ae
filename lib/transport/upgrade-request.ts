import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { MqttUpgradeRequest } from '../interfaces/mqtt-upgrade-request.interface.js';

/** Headers that served the handshake alone: nothing after it reads them, and every connection would keep them. */
const HANDSHAKE_ONLY = new Set(['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'upgrade', 'connection']);

/** What a connection keeps of its upgrade request. */
export function keepUpgradeRequest(request: IncomingMessage): MqttUpgradeRequest {
  return {
    method: request.method,
    url: request.url,
    headers: withoutHandshakeHeaders(request.headers),
    httpVersion: request.httpVersion,
    socket: request.socket,
  };
}

function withoutHandshakeHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const name in headers) if (!HANDSHAKE_ONLY.has(name)) kept[name] = headers[name];
  return kept;
}
