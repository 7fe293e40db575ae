/** A packet from a raw first byte and body, for packets mqtt-packet will not generate. */
export function rawPacket(firstByte: number, body: Buffer): Buffer {
  const length: number[] = [];
  let remaining = body.length;
  do {
    let byte = remaining % 128;
    remaining = Math.floor(remaining / 128);
    if (remaining > 0) byte |= 0x80;
    length.push(byte);
  } while (remaining > 0);
  return Buffer.concat([Buffer.from([firstByte, ...length]), body]);
}
