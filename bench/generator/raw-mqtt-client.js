import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { connectFrame, subscribeFrame } from './mqtt-frames.js';

const CONNACK = 2;
const PUBLISH = 3;
const PUBACK = 4;
const SUBACK = 9;
const noop = () => {};

/**
 * An MQTT client on a bare socket, over plain TCP or over WebSocket with its own minimal framing:
 * no stream pipeline, no packet objects. It reads server frames (never masked), finds MQTT packets
 * in their bytes wherever frames and TCP segments split them, and reports PUBLISH and PUBACK by
 * offsets into the received buffer.
 */
export class RawMqttClient {
  onPublish = noop; // (buffer, payloadStart, end, qos, messageId)
  onPuback = noop; // (messageId)
  onClose = noop;
  /** Acknowledge QoS 1 deliveries (PUBACKs of one read leave in one write). */
  autoAck = false;
  closed = false;

  constructor({ port, host = '127.0.0.1', transport, path = '/mqtt', protocolVersion = 4 }) {
    /** 4: MQTT 3.1.1; 5: MQTT 5.0 (packets with properties, which the reader skips). */
    this.protocolVersion = protocolVersion;
    this.port = port;
    this.host = host;
    this.ws = transport === 'ws';
    this.transport = transport;
    this.path = path;
    this.socket = null;
    this.handshake = this.ws ? Buffer.alloc(0) : null;
    this.frameHead = null;
    this.frameLeft = 0;
    this.frameIsData = false;
    this.rest = null;
    this.acks = [];
    this.waiter = null;
  }

  /** Connects, completes the WebSocket handshake if any, sends CONNECT and waits for CONNACK. */
  open(clientId, keepalive = 0) {
    return new Promise((resolve, reject) => {
      const socket = connect({ port: this.port, host: this.host, noDelay: true });
      this.socket = socket;
      const fail = (error) => {
        this.waiter = null;
        reject(error);
      };
      socket.once('error', fail);
      socket.on('close', () => {
        this.closed = true;
        if (this.waiter) fail(new Error(`connection closed while waiting for ${this.waiter.expects}`));
        this.onClose();
      });
      socket.on('data', (chunk) => this.onData(chunk));
      this.waiter = {
        expects: this.ws ? 'the WebSocket handshake' : 'CONNACK',
        type: this.ws ? -1 : CONNACK,
        resolve: (returnCode) => {
          if (returnCode === 'upgraded') {
            this.waiter.expects = 'CONNACK';
            this.waiter.type = CONNACK;
            socket.write(connectFrame(this.transport, clientId, keepalive, this.protocolVersion));
            return;
          }
          this.waiter = null;
          socket.removeListener('error', fail);
          socket.on('error', noop);
          if (returnCode !== 0) return reject(new Error(`CONNACK return code ${returnCode}`));
          resolve(this);
        },
      };
      socket.once('connect', () => {
        if (!this.ws) return socket.write(connectFrame(this.transport, clientId, keepalive, this.protocolVersion));
        socket.write(
          `GET ${this.path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
            'Sec-WebSocket-Protocol: mqtt\r\n\r\n',
        );
      });
    });
  }

  subscribe(topic, qos) {
    return new Promise((resolve, reject) => {
      this.waiter = {
        expects: 'SUBACK',
        type: SUBACK,
        resolve: (granted) => {
          this.waiter = null;
          if (granted === 0x80) reject(new Error(`subscription to ${topic} refused`));
          else resolve(granted);
        },
      };
      this.socket.write(subscribeFrame(this.transport, 1, topic, qos, this.protocolVersion));
    });
  }

  write(buffer) {
    return this.socket.write(buffer);
  }

  destroy() {
    this.socket?.destroy();
  }

  onData(chunk) {
    if (this.handshake !== null) {
      const head = this.handshake.length > 0 ? Buffer.concat([this.handshake, chunk]) : chunk;
      const headEnd = head.indexOf('\r\n\r\n');
      if (headEnd === -1) {
        this.handshake = head;
        return;
      }
      this.handshake = null;
      if (!head.toString('latin1', 0, 12).startsWith('HTTP/1.1 101')) {
        this.socket.destroy(new Error(`WebSocket handshake refused: ${head.toString('latin1', 0, head.indexOf('\r\n'))}`));
        return;
      }
      this.waiter.resolve('upgraded');
      chunk = head.subarray(headEnd + 4);
      if (chunk.length === 0) return;
    }
    if (this.ws) this.readFrames(chunk);
    else this.readPackets(chunk);
    if (this.acks.length > 0) this.flushAcks();
  }

  /** Unwraps server frames (unmasked; RFC 6455 section 5.1) and feeds their payload to the MQTT reader. */
  readFrames(chunk) {
    let buffer = chunk;
    if (this.frameHead !== null) {
      buffer = Buffer.concat([this.frameHead, chunk]);
      this.frameHead = null;
    }
    const end = buffer.length;
    let offset = 0;
    while (offset < end) {
      if (this.frameLeft > 0) {
        const take = Math.min(this.frameLeft, end - offset);
        if (this.frameIsData) this.readPackets(buffer.subarray(offset, offset + take));
        this.frameLeft -= take;
        offset += take;
        continue;
      }
      if (end - offset < 2) break;
      const opcode = buffer[offset] & 0x0f;
      let length = buffer[offset + 1] & 0x7f;
      let headerLength = 2;
      if (length === 126) {
        if (end - offset < 4) break;
        length = buffer.readUInt16BE(offset + 2);
        headerLength = 4;
      } else if (length === 127) {
        if (end - offset < 10) break;
        length = Number(buffer.readBigUInt64BE(offset + 2));
        headerLength = 10;
      }
      if (opcode === 8) {
        this.socket.destroy();
        return;
      }
      this.frameIsData = opcode === 0 || opcode === 2;
      this.frameLeft = length;
      offset += headerLength;
    }
    if (offset < end) this.frameHead = buffer.subarray(offset);
  }

  /** Finds whole MQTT packets in a byte stream (fixed header, remaining length; MQTT 3.1.1 section 2.2). */
  readPackets(chunk) {
    let buffer = chunk;
    if (this.rest !== null) {
      buffer = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    const end = buffer.length;
    let offset = 0;
    while (end - offset >= 2) {
      let length = 0;
      let multiplier = 1;
      let index = offset + 1;
      let byte;
      do {
        if (index >= end) {
          this.rest = buffer.subarray(offset);
          return;
        }
        byte = buffer[index++];
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
      } while (byte & 0x80);
      const packetEnd = index + length;
      if (packetEnd > end) break;
      this.readPacket(buffer, offset, index, packetEnd);
      offset = packetEnd;
    }
    if (offset < end) this.rest = buffer.subarray(offset);
  }

  readPacket(buffer, start, body, end) {
    const type = buffer[start] >> 4;
    if (type === PUBLISH) {
      const qos = (buffer[start] >> 1) & 3;
      let payloadStart = body + 2 + buffer.readUInt16BE(body);
      let messageId = 0;
      if (qos > 0) {
        messageId = buffer.readUInt16BE(payloadStart);
        payloadStart += 2;
        if (this.autoAck) this.acks.push(messageId);
      }
      if (this.protocolVersion === 5) payloadStart = skipProperties(buffer, payloadStart);
      this.onPublish(buffer, payloadStart, end, qos, messageId);
    } else if (type === PUBACK) {
      this.onPuback(buffer.readUInt16BE(body));
    } else if (type === CONNACK) {
      if (this.waiter?.type === CONNACK) this.waiter.resolve(buffer[body + 1]);
    } else if (type === SUBACK) {
      if (this.waiter?.type === SUBACK) this.waiter.resolve(buffer[this.protocolVersion === 5 ? skipProperties(buffer, body + 2) : body + 2]);
    }
  }

  flushAcks() {
    const size = this.ws ? 10 : 4;
    const out = Buffer.allocUnsafe(size * this.acks.length);
    for (let i = 0; i < this.acks.length; i++) {
      let at = i * size;
      if (this.ws) {
        out[at++] = 0x82; // FIN, binary
        out[at++] = 0x84; // masked, 4 bytes
        out.writeUInt32BE(0, at); // zero mask key (see mqtt-frames.js)
        at += 4;
      }
      out[at] = 0x40; // PUBACK
      out[at + 1] = 2;
      out.writeUInt16BE(this.acks[i], at + 2);
    }
    this.acks.length = 0;
    this.socket.write(out);
  }
}

/** The offset after an MQTT 5 property list (its variable-length size, then the properties). */
function skipProperties(buffer, offset) {
  let length = 0;
  let multiplier = 1;
  let byte;
  do {
    byte = buffer[offset++];
    length += (byte & 0x7f) * multiplier;
    multiplier *= 128;
  } while (byte & 0x80);
  return offset + length;
}
