import type {
  MqttBrokerClient,
  MqttConnectPacket,
  MqttConnectRefusal,
  MqttDone,
  MqttPublishPacket,
  MqttSubscription,
} from './mqtt-broker.js';

export type ConnectCallback = (error: Error | null, accepted: boolean) => void;
export type AuthenticateCallback = (error: MqttConnectRefusal | null, accepted: boolean) => void;
export type SubscribeCallback = (error: Error | null, granted: MqttSubscription | null) => void;

/** The hooks the broker calls, as one chain: each in the project's own terms. */
export interface MqttHooks {
  /** Before the CONNECT is processed (no authentication yet). */
  preConnect(client: MqttBrokerClient, packet: MqttConnectPacket, callback: ConnectCallback): void;
  authenticate(client: MqttBrokerClient, username: string | undefined, password: Buffer | undefined, callback: AuthenticateCallback): void;
  /** A client's PUBLISH (or its will; `client` is `null` for the will of a client of an instance that died). An error disconnects the client. */
  authorizePublish(client: MqttBrokerClient | null, packet: MqttPublishPacket, callback: MqttDone): void;
  /** One filter of a SUBSCRIBE, or of a session being restored. `null` refuses it (SUBACK 0x80). */
  authorizeSubscribe(client: MqttBrokerClient, subscription: MqttSubscription, callback: SubscribeCallback): void;
  /** One delivery to one subscriber, synchronous: the packet to write, or `null` to skip this subscriber. */
  authorizeForward(client: MqttBrokerClient, packet: MqttPublishPacket): MqttPublishPacket | null | undefined;
  /** After the broker routed a message, before it reads the publisher's next packets (and before a QoS 2 PUBREC). */
  published(packet: MqttPublishPacket, client: MqttBrokerClient | null, done: MqttDone): void;
}

/** A stage's version of a hook: the hook's arguments, then `next`, the rest of the chain. */
type StageHook<K extends keyof MqttHooks> = (...args: [...Parameters<MqttHooks[K]>, next: MqttHooks[K]]) => ReturnType<MqttHooks[K]>;

/**
 * One stage of the chain: a plain object whose hooks each decide, then either answer (refuse) or
 * call `next` with the same arguments. A stage without a hook is skipped for it, at no cost.
 */
export type MqttHookStage = { readonly name: string } & { readonly [K in keyof MqttHooks]?: StageHook<K> };

export const HOOK_NAMES = ['preConnect', 'authenticate', 'authorizePublish', 'authorizeSubscribe', 'authorizeForward', 'published'] as const satisfies readonly (keyof MqttHooks)[];

/**
 * The order of the stages, first to run first. Each stage refuses before the ones after it see
 * anything, so the cheap checks of the library guard the user's code:
 *
 * 0. `statistics` (with `metrics` or `sysInterval`; lib/metrics): only watches, first so it sees every answer.
 * 1. `protocol`: the broker's MQTT 3.1.1 corrections (lib/broker/aedes/protocol/). Malformed or
 *    non-conforming input is refused before any policy runs; it also notes the QoS each filter was
 *    finally granted, so it must see the answer of every stage after it.
 * 2. `limits`: the size limits of the `security` options (client id, topic length): an oversized
 *    topic never reaches the user's policy.
 * 3. `offline-sessions`: notes that a session came back, once the stages after it authenticated it.
 * 4. `auth-policy`: the user's `auth` policy.
 * 4b. `sys-topics` (lib/sys): `$SYS` filters need the policy's explicit allowance.
 * 5. `handlers`: in-process `@MqttSubscribe` handlers of a client's QoS 1 message run once every
 *    stage before allowed it and before the PUBACK; and, from `published`, every other message.
 * Last comes the broker's own default (Aedes keeps `$SYS/` unpublishable).
 */
export const HOOK_STAGE_ORDER = ['statistics', 'protocol', 'limits', 'offline-sessions', 'auth-policy', 'sys-topics', 'handlers'] as const;
export type MqttHookStageName = (typeof HOOK_STAGE_ORDER)[number];

/**
 * Composes the stages, once, at start-up, in the order of `HOOK_STAGE_ORDER` whatever the order
 * they are given in: each hook becomes one function per stage that has it, bound to the next.
 * Nothing is allocated per call. A stage whose name is not in the order, or given twice, throws.
 */
export function composeHookChain(stages: readonly MqttHookStage[], last: MqttHooks): MqttHooks {
  const ordered = orderStages(stages);
  const chain = {} as Record<keyof MqttHooks, unknown>;
  for (const name of HOOK_NAMES) chain[name] = composeHook(ordered, name, last[name]);
  return chain as MqttHooks;
}

/** The stages in the written order. */
export function orderStages(stages: readonly MqttHookStage[]): MqttHookStage[] {
  const positions = new Map<MqttHookStage, number>();
  for (const stage of stages) {
    const position = HOOK_STAGE_ORDER.indexOf(stage.name as MqttHookStageName);
    if (position < 0) throw new Error(`nestjs-mqtt-ws: unknown hook stage "${stage.name}" (known: ${HOOK_STAGE_ORDER.join(', ')})`);
    if (stages.some((other) => other !== stage && other.name === stage.name)) throw new Error(`nestjs-mqtt-ws: hook stage "${stage.name}" given twice`);
    positions.set(stage, position);
  }
  return [...stages].sort((a, b) => positions.get(a)! - positions.get(b)!);
}

function composeHook<K extends keyof MqttHooks>(stages: readonly MqttHookStage[], name: K, last: MqttHooks[K]): MqttHooks[K] {
  let next = last as (...args: unknown[]) => unknown;
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i];
    const hook = stage[name] as ((...args: unknown[]) => unknown) | undefined;
    if (hook === undefined) continue;
    next = bindStage(stage, hook, next, name === 'authorizeForward' ? 2 : name === 'authenticate' ? 4 : 3);
  }
  return next as MqttHooks[K];
}

/** Fixed arities, so the composed functions take no rest arguments (no array per call). */
function bindStage(stage: object, hook: (...args: unknown[]) => unknown, next: (...args: unknown[]) => unknown, arity: number) {
  if (arity === 2) return (a: unknown, b: unknown) => hook.call(stage, a, b, next);
  if (arity === 3) return (a: unknown, b: unknown, c: unknown) => hook.call(stage, a, b, c, next);
  return (a: unknown, b: unknown, c: unknown, d: unknown) => hook.call(stage, a, b, c, d, next);
}

/** Keeps a stage's hooks typed where it is written. */
export function defineHookStage<S extends MqttHookStage>(stage: S): S {
  return stage;
}
