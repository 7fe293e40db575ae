/**
 * What the handler of the handler-dispatch scenario does, in both apps: count the message and, while
 * the latency phase runs, how long ago its publisher stamped it. `t` is read from the monotonic clock,
 * which every process on the machine shares.
 */
export const recorder = {
  handled: 0,
  recording: false,
  latencies: [],
  onMessage(message) {
    this.handled++;
    if (this.recording && message !== null && typeof message === 'object' && message.t > 0) {
      this.latencies.push(Number(process.hrtime.bigint()) / 1e6 - message.t);
    }
  },
};

export const recorderHandlers = {
  handled: () => recorder.handled,
  startRecording() {
    recorder.latencies = [];
    recorder.recording = true;
    return true;
  },
  stopRecording() {
    recorder.recording = false;
    const latencies = recorder.latencies;
    recorder.latencies = [];
    return latencies;
  },
};

/** Applies decorators to a method as TypeScript's emitted code does, for plain JavaScript. */
export function decorateMethod(target, method, decorators, parameterDecorators = []) {
  const all = [...decorators, ...parameterDecorators.map((decorator, index) => (proto, key) => decorator(proto, key, index))];
  const descriptor = Object.getOwnPropertyDescriptor(target.prototype, method);
  const result = Reflect.decorate(all, target.prototype, method, descriptor);
  Object.defineProperty(target.prototype, method, result ?? descriptor);
}
