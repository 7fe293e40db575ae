/**
 * MQTT's Variable Byte Integer [MQTT-1.5.5] (the Remaining Length, and MQTT 5's property lengths),
 * for the packets the adapter encodes itself: 7 bits a byte, the high bit set while more follow.
 */

/** The bytes `value` takes (1 to 4 for the values MQTT allows). */
export function variableByteIntegerLength(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : 4;
}

/** Writes `value` at `offset`; returns the offset after it. */
export function writeVariableByteInteger(bytes: Buffer, offset: number, value: number): number {
  do {
    let digit = value % 0x80;
    value = Math.floor(value / 0x80);
    if (value > 0) digit |= 0x80;
    bytes[offset++] = digit;
  } while (value > 0);
  return offset;
}
