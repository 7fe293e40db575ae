/**
 * A QoS 1 PUBACK that goes out once its message has been routed, not before (an option).
 *
 * Aedes writes the PUBACK of a client's QoS 1 PUBLISH first and routes the message a turn later
 * (`handlers/publish.js`: `write(PubAck)`, then, in the write's `setImmediate`, `broker.publish`).
 * On the wire the publisher hears "accepted" before any subscriber has the message, and the
 * acknowledgement and the delivery leave in separate turns: each wakes the peers on its own.
 * Measured at 2,000 msgs/s QoS 1 against a generator on the same machine: the PUBACK's write woke the
 * generator, which took the server's core at once, about once per message (involuntary context
 * switches, 99% of them inside write(2)); the delivery waited for it.
 *
 * With the option `acknowledgeAfterRouting` (off by default: it costs windowed publishers throughput,
 * docs/design.md, reach-in 24), the packet writer holds that PUBACK on the connection (`holdPuback`, on
 * the connections the adapter marked with `holdPubacksOn`) and the adapter's `published` hook, which
 * Aedes calls once the message is routed (subscribers' deliveries written, offline sessions' queues
 * filled), lets it go (`releasePuback`). PUBACKs leave in the order their
 * PUBLISHes arrived [MQTT-4.6.0-2]: a routed message's PUBACK waits for those held before it. The
 * spec lets the ack follow delivery [MQTT-4.3.2-2 allows either; the receiver "is not required to
 * complete delivery ... before sending the PUBACK"]; Mosquitto 2 queues the message, then sends the PUBACK.
 *
 * Only the PUBACK Aedes writes before routing is held: reason code 0 and no properties. The 0x87
 * (not authorized) PUBACK of MQTT 5, which no routing follows, goes out at once. A connection that
 * closes takes its held PUBACKs with it: the client resends those messages (QoS 1, DUP).
 */

interface HeldPuback {
  messageId: number;
  routed: boolean;
  write(): void;
}

const HELD = Symbol('heldPubacks');

type Holder = { [HELD]?: HeldPuback[] };

/**
 * `stream` is a connection of this broker: its PUBACKs are held. mqtt-packet's `writeToStream` is
 * shared by everything in the process (an MQTT.js client of the app's writes through it too), so
 * only the streams the adapter hands to Aedes are marked.
 */
export function holdPubacksOn(stream: object): void {
  (stream as Holder)[HELD] = [];
}

/** Whether `stream`'s PUBACKs are held (checked before anything is allocated for one). */
export function holdsPubacks(stream: object): boolean {
  return (stream as Holder)[HELD] !== undefined;
}

/** Holds the PUBACK for `messageId` on `stream`, which `holdsPubacks`; `write` sends it. */
export function holdPuback(stream: object, messageId: number, write: () => void): void {
  (stream as Holder)[HELD]!.push({ messageId, routed: false, write });
}

/**
 * The message of `messageId` on `stream` is routed: its PUBACK goes out, with every PUBACK held after
 * it whose message is routed too, once none before it is waiting.
 */
export function releasePuback(stream: object, messageId: number): void {
  const held = (stream as Holder)[HELD];
  if (held === undefined || held.length === 0) return;
  for (let i = 0; i < held.length; i++) {
    if (held[i].messageId === messageId && !held[i].routed) {
      held[i].routed = true;
      break;
    }
  }
  let sent = 0;
  while (sent < held.length && held[sent].routed) held[sent++].write();
  if (sent === held.length) held.length = 0;
  else if (sent > 0) held.splice(0, sent);
}
