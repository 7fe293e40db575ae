/**
 * Where a CPU profile sample of the server goes (issue 16): each sample is put in the category of the
 * innermost frame of its stack that a rule names, by the frame's file and function. Node's own stream
 * and socket code counts for the side that called it: under a write it is `writes`, else `socket reads`.
 */

export const CATEGORIES = [
  { id: 'frame', label: 'frame parsing', color: '#e6550d' },
  { id: 'mqtt-parse', label: 'MQTT parsing', color: '#fd8d3c' },
  { id: 'routing', label: 'routing', color: '#31a354' },
  { id: 'persistence', label: 'persistence', color: '#74c476' },
  { id: 'emitter', label: 'emitter', color: '#a1d99b' },
  { id: 'dispatch', label: 'handler dispatch', color: '#6baed6' },
  { id: 'metrics', label: 'metrics', color: '#9e9ac8' },
  { id: 'writes', label: 'writes', color: '#de2d26' },
  { id: 'reads', label: 'socket reads', color: '#fcbba1' },
  { id: 'timers', label: 'timers and ticks', color: '#bdbdbd' },
  { id: 'gc', label: 'garbage collector', color: '#636363' },
  { id: 'native', label: 'native, outside JS (program)', color: '#969696' },
  { id: 'other', label: 'other', color: '#d9d9d9' },
];

/** [category, test on "url function"], innermost match wins; checked in order. */
const RULES = [
  ['gc', /^ \(garbage collector\)$/],
  ['native', /^ \(program\)$/],
  ['frame', /(lib|dist)\/transport\/(websocket-frame-reader|unmask)\.|bufferutil/],
  ['writes', /(lib|dist)\/transport\/(binary-frame|turn-flush)\.|websocket-duplex\.js (send|flush|_write|_writev)$|mqtt-tcp\.connection\.js (send|flush|_write|_writev)$/],
  ['writes', /mqtt-packet\/(writeToStream|generate)\.js|aedes\/lib\/write\.js|protocol\/packet-writer\./],
  ['mqtt-parse', /mqtt-packet\/(parser|numbers|packet)\.js|\/bl\/|strict-packet-parser|lean-packet-parser|packet-bytes|packet-size\.limit/],
  ['persistence', /aedes-persistence|offline-queue\.persistence|qos2-release|inbound-qos2\.limit|aedes-packet\//],
  ['emitter', /mqemitter/],
  ['metrics', /(lib|dist)\/metrics\/|prom-client/],
  ['dispatch', /(lib|dist)\/dispatch\/|(lib|dist)\/mqtt\.(explorer|context)\.js|mqtt-params\.factory|@nestjs\/|\/rxjs\/|class-validator|class-transformer|bench\/targets\/(dispatch-recorder|nest-)/],
  ['routing', /qlobber|aedes\/(aedes|lib\/)|(lib|dist)\/broker\/|(lib|dist)\/topic\/|fastparallel|fastseries|fastfall|reusify|fastq|\/debug\//],
  ['writes', /node:internal\/streams\/writable|node:net (Socket\._write|Socket\._writev|_writeGeneric)|stream_base_commons (writeGeneric|writevGeneric|handleWriteReq)| (writev|writeBuffer|writeUtf8String|writeLatin1String)$/],
  ['reads', /node:internal\/streams\/(readable|duplex|legacy)|stream_base_commons onStreamRead|node:net |node:events/],
  ['timers', /node:internal\/(timers|process\/task_queues)/],
];

/** The category of one call frame, or null when no rule names it. */
export function frameCategory(callFrame) {
  const key = `${callFrame.url} ${callFrame.functionName}`;
  for (const [category, test] of RULES) if (test.test(key)) return category;
  return null;
}

/**
 * Splits the samples of a V8 `.cpuprofile` taken within [fromUs, toUs] (monotonic µs) by category.
 * Returns { total, idle, byCategory: { id: samples } } where `idle` samples (the loop waiting for I/O) are
 * left out of `total`.
 */
export function categorize(profile, fromUs = -Infinity, toUs = Infinity) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const categoryOf = new Map();
  const resolve = (id) => {
    if (categoryOf.has(id)) return categoryOf.get(id);
    const own = frameCategory(nodes.get(id).callFrame);
    const up = parent.get(id);
    const category = own ?? (up === undefined ? 'other' : resolve(up));
    categoryOf.set(id, category);
    return category;
  };
  const byCategory = Object.fromEntries(CATEGORIES.map((c) => [c.id, 0]));
  let total = 0;
  let idle = 0;
  for (const [id, time] of sampleTimes(profile)) {
    if (time < fromUs || time > toUs) continue;
    const name = nodes.get(id).callFrame.functionName;
    if (name === '(idle)') {
      idle++;
      continue;
    }
    byCategory[resolve(id)]++;
    total++;
  }
  return { total, idle, byCategory };
}

/** [node id, monotonic µs] of every sample. */
export function* sampleTimes(profile) {
  let time = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i];
    yield [profile.samples[i], time];
  }
}

/** The functions with the most samples of their own (self time) within the window: [{ name, file, category, share }]. */
export function topFunctions(profile, fromUs = -Infinity, toUs = Infinity, count = 8) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  let total = 0;
  for (const [id, time] of sampleTimes(profile)) {
    if (time < fromUs || time > toUs) continue;
    const { functionName, url } = nodes.get(id).callFrame;
    if (functionName === '(idle)') continue;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^.*\/(dist|bench)\//, '$1/')}`;
    self.set(key, (self.get(key) ?? 0) + 1);
    total++;
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, n]) => ({ function: key, share: n / Math.max(1, total) }));
}
