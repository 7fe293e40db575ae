import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import qlobber from 'qlobber';
import type { MqttMessageBus } from '../mqtt-message-bus.js';

type Listener = (packet: object, done: () => void) => void;
type Done = (error?: Error | null) => void;

/** The part of mqemitter Aedes calls (aedes.js: `mq.on`, `mq.removeListener`, `mq.emit`, `mq.close`). */
interface Emitter {
  on(topic: string, listener: Listener, done?: () => void): unknown;
  removeListener(topic: string, listener: Listener, done?: () => void): unknown;
  emit(packet: object, done?: Done): unknown;
  close(done: () => void): unknown;
  readonly current: number;
  readonly concurrency: number;
  readonly length: number;
}
type MqEmitterFactory = (options: { concurrency?: number; matchEmptyLevels: boolean }) => Emitter;

/** The mqemitter Aedes itself builds for a broker in memory: this emitter routes locally exactly as that one. */
function loadAedesMqEmitter(): MqEmitterFactory {
  const aedesDir = dirname(createRequire(import.meta.url).resolve('aedes'));
  return createRequire(join(aedesDir, 'aedes.js'))('mqemitter') as MqEmitterFactory;
}

/**
 * The emitter of a broker in a cluster. A message emitted here goes at once to this instance's
 * subscribers through Aedes' own in-memory emitter (no round trip through Redis, even while Redis
 * is away), and to the other instances through the bus; messages from the bus go to this instance's
 * subscribers as well, decoded only when one of them matches.
 *
 * `emit`'s callback, which Aedes waits for before the next step of a publish (and before it reads
 * the publisher's next packets), comes once the local subscribers took the message and the bus took
 * it (lib/cluster/redis-message-bus.ts: its batch sent, or for QoS 2 answered by Redis). The packet is encoded before
 * any local subscriber sees it, so that what they do to it does not travel.
 */
export class ClusterEmitter implements Emitter {
  private readonly local: Emitter;
  /** Each subscribed filter with its number of listeners, and the same filters for one match per received message. */
  private readonly filters = new Map<string, number>();
  private readonly interest = new qlobber.QlobberTrue({ separator: '/', wildcard_one: '+', wildcard_some: '#', match_empty_levels: true });
  closed = false;

  constructor(
    private readonly bus: MqttMessageBus,
    concurrency?: number,
  ) {
    // matchEmptyLevels as Aedes' own emitter: 'a/#' also matches 'a' [MQTT-4.7.1-2].
    this.local = loadAedesMqEmitter()({ concurrency, matchEmptyLevels: true });
    bus.receive(
      (topic) => this.interest.test(topic),
      (packet) => this.local.emit(packet, noop),
    );
  }

  get current(): number {
    return this.local.current;
  }

  get concurrency(): number {
    return this.local.concurrency;
  }

  get length(): number {
    return this.local.length;
  }

  on(topic: string, listener: Listener, done?: () => void): this {
    this.local.on(topic, listener, done);
    const count = this.filters.get(topic) ?? 0;
    this.filters.set(topic, count + 1);
    if (count === 0) this.interest.add(topic);
    return this;
  }

  removeListener(topic: string, listener: Listener, done?: () => void): this {
    this.local.removeListener(topic, listener, done);
    const count = this.filters.get(topic);
    if (count === undefined) return this;
    if (count > 1) {
      this.filters.set(topic, count - 1);
    } else {
      this.filters.delete(topic);
      this.interest.remove(topic);
    }
    return this;
  }

  emit(packet: object, done?: Done): this {
    const callback = done ?? noop;
    if (this.closed) {
      callback(new Error('the cluster emitter is closed'));
      return this;
    }
    let pending = 2;
    let failure: Error | null = null;
    const settle: Done = (error) => {
      if (error && failure === null) failure = error;
      if (--pending === 0) callback(failure);
    };
    try {
      this.bus.send(packet as Record<string, unknown>, settle);
    } catch (error) {
      // A field that cannot cross processes: local subscribers still get the message, the publish fails.
      pending--;
      failure = error as Error;
    }
    this.local.emit(packet, settle);
    return this;
  }

  close(done?: () => void): this {
    if (this.closed) {
      if (done) setImmediate(done);
      return this;
    }
    this.closed = true;
    void this.bus.close().finally(() => this.local.close(done ?? noop));
    return this;
  }
}

function noop(): void {}
