/** Why a message was dropped instead of delivered or queued. */
export type MqttDropReason = 'slow_consumer' | 'queue_limit' | 'expiry';

/** What counts dropped messages: the module's statistics, when `metrics` or `sysInterval` is on. */
export interface MqttDropObserver {
  messagesDropped(reason: MqttDropReason, count: number): void;
}

/*
 * The code that drops messages runs where no provider reaches (a broker client's override, the
 * offline queue's filter), but it holds the broker: the broker (the `MqttBroker`, or the object of
 * its implementation) is the key to its module's statistics. Without statistics nothing is
 * registered and a drop costs one WeakMap lookup; drops are rare.
 */
const observers = new WeakMap<object, MqttDropObserver>();

export function observeMessageDrops(broker: object, observer: MqttDropObserver): void {
  observers.set(broker, observer);
}

/**
 * Counts messages the broker dropped: `broker` is the `MqttBroker` or its implementation's object
 * (an Aedes client's `broker`). The MQTT 5 message expiry calls it with `'expiry'`.
 */
export function countDroppedMessages(broker: object | null | undefined, reason: MqttDropReason, count = 1): void {
  if (broker) observers.get(broker)?.messagesDropped(reason, count);
}
