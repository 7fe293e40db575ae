import { createRequire } from 'node:module';

type NativeUnmask = (buffer: Buffer, mask: Buffer) => void;

/** `bufferutil` (an optional dependency) unmasks in native code; without it, a loop does. */
const nativeUnmask = loadNativeUnmask();
/** Below this many bytes the call into native code costs more than the loop. */
const NATIVE_THRESHOLD = 32;
/** The mask's four bytes, turned to start where the slice starts; filled and used synchronously, so shared. */
const rotated = Buffer.alloc(4);

/**
 * XORs `bytes` with the frame's 32-bit masking key (RFC 6455 §5.3) in place, the first byte with
 * key byte `offset` (the slice starts `offset` bytes, modulo 4, into the frame's payload).
 */
export function unmask(bytes: Buffer, mask: number, offset: number): void {
  const shift = offset << 3;
  rotated.writeUInt32BE(shift === 0 ? mask : ((mask << shift) | (mask >>> (32 - shift))) >>> 0, 0);
  const length = bytes.length;
  if (nativeUnmask !== undefined && length >= NATIVE_THRESHOLD) {
    nativeUnmask(bytes, rotated);
    return;
  }
  for (let i = 0; i < length; i++) bytes[i] ^= rotated[i & 3];
}

function loadNativeUnmask(): NativeUnmask | undefined {
  try {
    return (createRequire(import.meta.url)('bufferutil') as { unmask: NativeUnmask }).unmask;
  } catch {
    return undefined;
  }
}
