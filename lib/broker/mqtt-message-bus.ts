/**
 * How the instances of a cluster pass messages to each other, as the broker's emitter sees it
 * (lib/broker/aedes/cluster-emitter.ts): the broker routes to its own subscribers itself and hands
 * every message to the bus for the others. lib/cluster/redis-message-bus.ts implements it on Redis.
 */
export interface MqttMessageBus {
  /**
   * Sends `packet` (a plain object: its own enumerable fields travel) to every other instance.
   * `done` is called once the bus took it (see the implementation for what that guarantees), with
   * an error when it could not. Throws when a field of the packet cannot be sent.
   */
  send(packet: Record<string, unknown>, done: (error?: Error | null) => void): void;
  /**
   * The messages of the other instances, never this one's own, in each sender's order: for each,
   * `wants(topic)` says whether this instance has a subscriber, and only then is it decoded and
   * given to `deliver`.
   */
  receive(wants: (topic: string) => boolean, deliver: (packet: Record<string, unknown>) => void): void;
  /** Sends what is pending, waits (boundedly) for it to be acknowledged, and closes. */
  close(): Promise<void>;
}
