import { createHash } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HandshakeRefusal as GuardRefusal } from '../security/handshake-guard.js';

/** RFC 6455 §1.3: the GUID a server appends to the client's key to prove it speaks WebSocket. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A Sec-WebSocket-Key is 16 random bytes in base64 (RFC 6455 §4.1). */
const KEY_PATTERN = /^[+/0-9A-Za-z]{22}==$/;

/** An HTTP answer to a handshake that is not upgraded. */
export type HandshakeRefusal = GuardRefusal & { headers?: Record<string, string> };

const NOT_GET: HandshakeRefusal = { status: 405, message: 'A WebSocket handshake is a GET request' };
const OLD_HTTP: HandshakeRefusal = { status: 400, message: 'A WebSocket handshake needs HTTP/1.1 or later' };
const NO_HOST: HandshakeRefusal = { status: 400, message: 'Missing Host header' };
const NOT_WEBSOCKET: HandshakeRefusal = { status: 400, message: 'Missing or invalid Upgrade: websocket header' };
const NOT_UPGRADE: HandshakeRefusal = { status: 400, message: 'Missing Connection: Upgrade header' };
const BAD_KEY: HandshakeRefusal = { status: 400, message: 'Missing or invalid Sec-WebSocket-Key header' };
const BAD_VERSION: HandshakeRefusal = {
  status: 426,
  message: 'Unsupported WebSocket version',
  headers: { 'Sec-WebSocket-Version': '13' },
};

/** What RFC 6455 §4.2.1 asks of an opening handshake, before any check of the application's. */
export function handshakeRequestRefusal(request: IncomingMessage): HandshakeRefusal | undefined {
  if (request.method !== 'GET') return NOT_GET;
  if (request.httpVersionMajor < 1 || (request.httpVersionMajor === 1 && request.httpVersionMinor < 1)) return OLD_HTTP;
  if (!request.headers.host) return NO_HOST;
  if (!hasToken(request.headers.upgrade, 'websocket')) return NOT_WEBSOCKET;
  if (!hasToken(request.headers.connection, 'upgrade')) return NOT_UPGRADE;
  const key = request.headers['sec-websocket-key'];
  if (key === undefined || !KEY_PATTERN.test(key)) return BAD_KEY;
  if (request.headers['sec-websocket-version'] !== '13') return BAD_VERSION;
  return undefined;
}

/**
 * Whether a comma-separated header (RFC 7230 §7: `Connection: keep-alive, Upgrade`) lists `token`,
 * compared case-insensitively; empty elements and the spaces around elements are allowed.
 */
function hasToken(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  for (const element of header.split(',')) if (element.trim().toLowerCase() === token) return true;
  return false;
}

/** Completes the handshake: 101 with the key's proof and the chosen subprotocol (none when `protocol` is empty). */
export function acceptHandshake(socket: Duplex, request: IncomingMessage, protocol: string): void {
  const accept = createHash('sha1')
    .update(request.headers['sec-websocket-key'] + WEBSOCKET_GUID)
    .digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n` +
      (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') +
      '\r\n',
  );
}

/** Answers a refused handshake with its HTTP status and closes the socket once the answer is out. */
export function refuseHandshake(socket: Duplex, refusal: HandshakeRefusal): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = refusal.message;
  let head = `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  for (const name in refusal.headers) head += `${name}: ${refusal.headers[name]}\r\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(`${head}\r\n${body}`);
}
