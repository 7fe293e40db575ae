import { SharedGroupsRegistry, type MemberSnapshot } from './shared-groups.registry.js';

/**
 * The shared subscription groups of one broker, kept alike on every instance of a cluster: each
 * change is made here at once and sent to the other instances on the broker's own emitter (the one
 * that carries the messages: Redis, a user's `mq`, or none on a single instance), as JSON on
 * `$SYS/<broker id>/shared-subscriptions`. Clients cannot publish to `$SYS/` (Aedes' default
 * `authorizePublish`, kept last in the hook chain), so only instances speak there.
 *
 * - An instance that starts asks the others (`hello`, with its own `state`); each answers with the
 *   records it owns (`state`).
 * - Every period (`min(heartbeatInterval, 5 s)`) each instance that has heard of another says it is
 *   alive; the records of an instance not heard from in three periods are taken as gone: its members without a persistent session leave, its persistent
 *   members wait offline, adopted by the live instance with the smallest id. One that stops says so
 *   (`bye`) and the others do the same at once. One taken for gone that speaks again (it was only
 *   slow) makes the others ask everyone for their records again.
 */

type Operation =
  | ['join', string, string, number, number]
  | ['leave', string, string]
  | ['disconnect', string, number]
  | ['end', string]
  | ['claim', string, number, [string, number][]]
  | ['state', MemberSnapshot[]]
  | ['hello']
  | ['alive']
  | ['bye'];

/** The part of Aedes' emitter used here. */
export interface ControlEmitter {
  emit(packet: { cmd: 'publish'; topic: string; payload: Buffer; qos: 0; retain: false }, callback?: () => void): unknown;
  on(topic: string, listener: (packet: { topic: string; payload: Buffer | string }, done: () => void) => void, callback?: () => void): unknown;
}

const CONTROL_LEVEL = 'shared-subscriptions';
/** At most this often, whatever Aedes' own heartbeat interval. */
const MAX_LIVENESS_PERIOD = 5_000;

export class SharedGroups {
  readonly registry: SharedGroupsRegistry;
  private readonly topic: string;
  private readonly period: number;
  private readonly lastSeen = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private clustered = false;

  constructor(
    private readonly emitter: ControlEmitter,
    readonly self: string,
    heartbeatInterval: number,
  ) {
    this.registry = new SharedGroupsRegistry(self);
    this.topic = `$SYS/${self}/${CONTROL_LEVEL}`;
    this.period = Math.max(10, Math.min(heartbeatInterval, MAX_LIVENESS_PERIOD));
  }

  /** Listens to the other instances, then asks them for their records. */
  start(): void {
    this.emitter.on(`$SYS/+/${CONTROL_LEVEL}`, (packet, done) => {
      this.receive(packet.topic, packet.payload);
      done();
    }, () => this.greet());
    this.timer = setInterval(() => this.checkLiveness(), this.period);
    this.timer.unref();
  }

  /** The broker closes: the others take over its persistent members now. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.send(['bye']);
  }

  join(key: string, clientId: string, persistent: boolean, qos: number): void {
    this.registry.join(this.self, key, clientId, persistent, qos);
    this.send(['join', key, clientId, persistent ? 1 : 0, qos]);
  }

  leave(key: string, clientId: string): void {
    this.registry.leave(this.self, key, clientId);
    this.send(['leave', key, clientId]);
  }

  disconnect(clientId: string, persistent: boolean): void {
    this.registry.disconnect(this.self, clientId, persistent);
    this.send(['disconnect', clientId, persistent ? 1 : 0]);
  }

  end(clientId: string): void {
    if (this.registry.keysOf(clientId) === undefined) return;
    this.registry.end(this.self, clientId);
    this.send(['end', clientId]);
  }

  claim(clientId: string, persistent: boolean, held: [string, number][]): void {
    this.registry.claim(this.self, clientId, persistent, held);
    this.send(['claim', clientId, persistent ? 1 : 0, held]);
  }

  /** Asks every instance for the records it owns, and says which this one owns (none when it starts). */
  private greet(): void {
    this.send(['hello']);
    this.send(['state', this.registry.owned()]);
  }

  private send(operation: Operation): void {
    if (this.stopped && operation[0] !== 'bye') return;
    this.emitter.emit({ cmd: 'publish', topic: this.topic, payload: Buffer.from(JSON.stringify(operation)), qos: 0, retain: false }, noop);
  }

  private receive(topic: string, payload: Buffer | string): void {
    const from = topic.slice(5, topic.length - CONTROL_LEVEL.length - 1);
    if (from === this.self || this.stopped) return;
    const known = this.lastSeen.has(from);
    this.lastSeen.set(from, Date.now());
    this.clustered = true;
    try {
      const operation = JSON.parse(payload.toString()) as Operation;
      // An instance taken for gone that speaks again (it was only slow): everyone says what it owns again.
      if (!known && operation[0] !== 'hello' && operation[0] !== 'state' && operation[0] !== 'bye') this.greet();
      this.apply(from, operation);
    } catch {
      // Not one of ours (another version of the library on the same emitter): ignored, as unknown operations are.
    }
  }

  private apply(from: string, operation: Operation): void {
    const registry = this.registry;
    switch (operation[0]) {
      case 'join':
        return registry.join(from, operation[1], operation[2], operation[3] === 1, operation[4]);
      case 'leave':
        return registry.leave(from, operation[1], operation[2]);
      case 'disconnect':
        return registry.disconnect(from, operation[1], operation[2] === 1);
      case 'end':
        return registry.end(from, operation[1]);
      case 'claim':
        return registry.claim(from, operation[1], operation[2] === 1, operation[3]);
      case 'state':
        return registry.replaceOwned(from, operation[1]);
      case 'hello':
        return this.send(['state', registry.owned()]);
      case 'bye':
        this.lastSeen.delete(from);
        return registry.ownerGone(from, this.adopter());
    }
  }

  private checkLiveness(): void {
    const now = Date.now();
    // An owner heard of only through a record gets the same grace as one just heard from.
    for (const owner of this.registry.otherOwners()) if (!this.lastSeen.has(owner)) this.lastSeen.set(owner, now);
    for (const [id, seen] of [...this.lastSeen]) {
      if (now - seen <= 3 * this.period) continue;
      this.lastSeen.delete(id);
      this.registry.ownerGone(id, this.adopter());
    }
    // Never heard of another instance (a single instance): no one to tell. A peer that starts says hello.
    if (this.clustered) this.send(['alive']);
  }

  /** The live instance with the smallest id (the same on every instance that sees the same ones alive). */
  private adopter(): string {
    const now = Date.now();
    let adopter = this.self;
    for (const [id, seen] of this.lastSeen) if (now - seen <= 3 * this.period && id < adopter) adopter = id;
    return adopter;
  }
}

function noop(): void {}
