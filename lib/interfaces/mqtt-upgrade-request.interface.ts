import type { IncomingMessage } from 'node:http';

/**
 * The HTTP upgrade request a connection was opened with, as auth hooks, events and handlers see
 * it: what the handshake said (method, URL with its query, headers with cookies, HTTP version)
 * and the socket (remote address, TLS). A connection keeps these fields for its lifetime, not
 * Node's whole `IncomingMessage` (a readable stream with its raw headers), which would cost every
 * idle connection about a kilobyte. The headers are the request's, less those that served the
 * handshake alone (`Sec-WebSocket-Key`, `-Version`, `-Extensions`, `Upgrade`, `Connection`);
 * `Sec-WebSocket-Protocol` stays.
 */
export type MqttUpgradeRequest = Pick<IncomingMessage, 'method' | 'url' | 'headers' | 'httpVersion' | 'socket'>;
