/** A seeded generator (mulberry32), so that client ids and payloads are the same on every run. */
export function createRandom(seed = 1) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    bytes(length) {
      const buffer = Buffer.alloc(length);
      for (let i = 0; i < length; i++) buffer[i] = Math.floor(next() * 256);
      return buffer;
    },
    id(length) {
      let id = '';
      for (let i = 0; i < length; i++) id += 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(next() * 36)];
      return id;
    },
  };
}
