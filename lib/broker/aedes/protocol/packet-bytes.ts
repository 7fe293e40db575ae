/**
 * The bytes an Aedes client's parser has received and not yet consumed, in the chunks the stream
 * gave them. It takes the place of mqtt-packet's BufferList (`bl`), which reads every number by
 * slicing a new Buffer for it: a dozen short-lived objects per packet, the largest part of what a
 * QoS 1 message allocated on its way through the broker (docs/benchmarks.md). Here a read goes to
 * the chunk that holds the byte; only a field split across chunks is read byte by byte, and only a
 * slice that spans chunks is copied.
 *
 * The methods and their results are those of `bl` for the calls mqtt-packet 9's parser makes
 * (aedes-contract.ts checks that it calls no other): offsets are whole numbers from 0, a slice or
 * string end past the bytes held stops at them, and a read past them throws a RangeError.
 */
export class PacketBytes {
  /** Bytes held, from the first unconsumed one. */
  length = 0;
  private readonly chunks: Buffer[] = [];
  /** How much of the first chunk is consumed. */
  private head = 0;

  append(chunk: Buffer): this {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.length += chunk.length;
    }
    return this;
  }

  consume(count: number): this {
    count = Math.trunc(count);
    if (!(count > 0)) return this;
    if (count >= this.length) {
      this.chunks.length = 0;
      this.head = 0;
      this.length = 0;
      return this;
    }
    this.length -= count;
    let offset = this.head + count;
    while (offset >= this.chunks[0].length) offset -= this.chunks.shift()!.length;
    this.head = offset;
    return this;
  }

  readUInt8(offset: number): number {
    const first = this.chunks[0];
    const at = this.head + offset;
    return first !== undefined && offset >= 0 && at < first.length ? first[at] : this.byteAt(offset);
  }

  readUInt16BE(offset: number): number {
    const first = this.chunks[0];
    const at = this.head + offset;
    if (first !== undefined && offset >= 0 && at + 1 < first.length) return (first[at] << 8) | first[at + 1];
    return (this.byteAt(offset) << 8) | this.byteAt(offset + 1);
  }

  readUInt32BE(offset: number): number {
    const first = this.chunks[0];
    const at = this.head + offset;
    if (first !== undefined && offset >= 0 && at + 3 < first.length) return first.readUInt32BE(at);
    return this.byteAt(offset) * 0x1000000 + ((this.byteAt(offset + 1) << 16) | (this.byteAt(offset + 2) << 8) | this.byteAt(offset + 3));
  }

  /** The bytes from `start` to `end`: a view of the chunk when one holds them all (as `bl` gives), else a copy. */
  slice(start: number, end: number): Buffer {
    if (end > this.length) end = this.length;
    if (!(start < end)) return Buffer.alloc(0);
    const first = this.chunks[0];
    if (this.head + end <= first.length) return first.subarray(this.head + start, this.head + end);
    const copy = Buffer.allocUnsafe(end - start);
    let skip = this.head + start;
    let written = 0;
    for (let i = 0; written < copy.length; i++) {
      const chunk = this.chunks[i];
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      written += chunk.copy(copy, written, skip, Math.min(chunk.length, skip + copy.length - written));
      skip = 0;
    }
    return copy;
  }

  toString(encoding: BufferEncoding, start: number, end: number): string {
    if (end > this.length) end = this.length;
    if (!(start < end)) return '';
    const first = this.chunks[0];
    if (this.head + end <= first.length) return first.toString(encoding, this.head + start, this.head + end);
    return this.slice(start, end).toString(encoding);
  }

  private byteAt(offset: number): number {
    if (!(offset >= 0 && offset < this.length)) throw new RangeError(`offset ${offset} is outside the ${this.length} bytes received`);
    let at = this.head + offset;
    for (let i = 0; ; i++) {
      const chunk = this.chunks[i];
      if (at < chunk.length) return chunk[at];
      at -= chunk.length;
    }
  }
}

/** The names of PacketBytes' methods: what mqtt-packet's parser may call on it (aedes-contract.ts). */
export const PACKET_BYTES_METHODS: readonly string[] = Object.getOwnPropertyNames(PacketBytes.prototype).filter(
  (name) => name !== 'constructor' && name !== 'byteAt',
);
