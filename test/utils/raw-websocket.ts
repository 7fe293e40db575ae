import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

export interface ReceivedFrame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

export interface HandshakeAnswer {
  status: number;
  headers: Record<string, string>;
}

/** The MQTT 3.1.1 packets in the binary frames of `frames`, in order. */
export function packetsOf(frames: readonly { opcode: number; payload: Buffer }[]): Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: Packet[] = [];
  parser.on('packet', (packet: Packet) => packets.push(packet));
  for (const frame of frames) if (frame.opcode === 0x2) parser.parse(frame.payload);
  return packets;
}

/** RFC 6455 §1.3. */
export function expectedAccept(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/**
 * A WebSocket peer written on a bare TCP socket, for what no WebSocket client library will send:
 * unmasked frames, reserved bits, unknown opcodes, headers cut between writes. It frames what the
 * test says, byte for byte, and parses every frame the server sends back.
 */
export class RawWebSocket {
  readonly frames: ReceivedFrame[] = [];
  readonly ended: Promise<void>;
  private buffered = Buffer.alloc(0);
  private waiters: { count: number; resolve: () => void }[] = [];

  private constructor(
    readonly socket: Socket,
    readonly answer: HandshakeAnswer,
    rest: Buffer,
  ) {
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    if (rest.length > 0) this.receive(rest);
  }

  /** Opens a TCP connection and sends a handshake with these headers (a valid one by default). */
  static async open(
    port: number,
    path = '/mqtt',
    headers: Record<string, string | undefined> = {},
    method = 'GET',
    httpVersion = '1.1',
  ): Promise<RawWebSocket> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    // A reset by a server that refuses the connection shows as 'close' below.
    socket.on('error', () => undefined);
    const all: Record<string, string | undefined> = {
      Host: `127.0.0.1:${port}`,
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Protocol': 'mqtt',
      ...headers,
    };
    let request = `${method} ${path} HTTP/${httpVersion}\r\n`;
    for (const [name, value] of Object.entries(all)) if (value !== undefined) request += `${name}: ${value}\r\n`;
    socket.write(`${request}\r\n`);
    let received = Buffer.alloc(0);
    const end = await new Promise<number>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        const index = received.indexOf('\r\n\r\n');
        if (index < 0) return;
        socket.off('data', onData).off('close', onClose);
        resolve(index);
      };
      const onClose = () => reject(new Error(`closed during the handshake: ${received.toString()}`));
      socket.on('data', onData).once('close', onClose);
    });
    const [statusLine, ...lines] = received.subarray(0, end).toString('latin1').split('\r\n');
    const headersOut: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headersOut[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const answer = { status: Number(statusLine.split(' ')[1]), headers: headersOut };
    return new RawWebSocket(socket, answer, received.subarray(end + 4));
  }

  /** One frame as a client sends it: masked unless told otherwise. */
  static frame(opcode: number, payload: Buffer, options: { fin?: boolean; masked?: boolean; rsv?: number; length?: bigint } = {}): Buffer {
    const { fin = true, masked = true, rsv = 0 } = options;
    const length = options.length ?? BigInt(payload.length);
    const header: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
    if (length < 126n) header.push((masked ? 0x80 : 0) | Number(length));
    else if (length <= 0xffffn) header.push((masked ? 0x80 : 0) | 126, Number(length >> 8n), Number(length & 0xffn));
    else {
      header.push((masked ? 0x80 : 0) | 127);
      for (let shift = 56n; shift >= 0n; shift -= 8n) header.push(Number((length >> shift) & 0xffn));
    }
    if (!masked) return Buffer.concat([Buffer.from(header), payload]);
    const mask = randomBytes(4);
    const body = Buffer.from(payload.map((byte, i) => byte ^ mask[i & 3]));
    return Buffer.concat([Buffer.from(header), mask, body]);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves once `count` frames in all came from the server. */
  async waitForFrames(count: number): Promise<ReceivedFrame[]> {
    if (this.frames.length < count) await new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    return this.frames;
  }

  /** The close frame's code, once the server sent one. */
  async closeCode(): Promise<number> {
    for (let seen = 1; ; seen++) {
      const frames = await this.waitForFrames(seen);
      const frame = frames[seen - 1];
      if (frame.opcode === 0x8) return frame.payload.readUInt16BE(0);
    }
  }

  /**
   * Resolves when TCP closes, with the code of the close frame received before that (undefined
   * when none came): a frame that arrives only after the FIN does not count.
   */
  async closedWith(): Promise<number | undefined> {
    await this.ended;
    return this.frames.find((frame) => frame.opcode === 0x8)?.payload.readUInt16BE(0);
  }

  /** Stops reading: what the server sends waits in the kernel's buffers, then in the server's. */
  stopReading(): void {
    this.socket.pause();
  }

  /** Reads again, once. */
  resumeReading(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    for (;;) {
      const frame = this.nextFrame();
      if (frame === undefined) break;
      this.frames.push(frame);
    }
    this.waiters = this.waiters.filter((waiter) => {
      if (this.frames.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }

  private nextFrame(): ReceivedFrame | undefined {
    const data = this.buffered;
    if (data.length < 2) return undefined;
    let length = data[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (data.length < 4) return undefined;
      length = data.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (data.length < 10) return undefined;
      length = Number(data.readBigUInt64BE(2));
      offset = 10;
    }
    const masked = (data[1] & 0x80) !== 0;
    if (masked) offset += 4;
    if (data.length < offset + length) return undefined;
    this.buffered = data.subarray(offset + length);
    return { fin: (data[0] & 0x80) !== 0, opcode: data[0] & 0x0f, masked, payload: Buffer.from(data.subarray(offset, offset + length)) };
  }
}
