import type { AedesPublishPacket, Client } from 'aedes';
import { publishSize } from './v5-publish-size.js';
import { topicAliasOf } from './v5-topic-aliases.js';

/**
 * MQTT 5 limits a client sets on what the server sends it, which Aedes 2.0.0-beta.1 stores and
 * ignores (docs/upstream-reports.md):
 * - Receive Maximum: at most that many QoS 1/2 PUBLISH unacknowledged [MQTT-3.3.4-9]. Further
 *   deliveries wait here, in order, and go out as PUBACKs/PUBCOMPs arrive.
 *   A PUBREC with a failure reason code ends a QoS 2 flow [MQTT-4.3.3], and frees its slot as a
 *   PUBCOMP does (Aedes emits no 'ack' for it: the client's parser is listened to).
 * - Maximum Packet Size: a PUBLISH larger than it is not sent (dropped, as if sent)
 *   [MQTT-3.1.2-25]; counted as it will be written, with its topic alias when it has one.
 * Installed per client, only for an MQTT 5 client that set either: 3.1.1 clients and v5 clients
 * without limits carry nothing, and their deliveries cost one property read.
 */

const FLOW = Symbol('v5OutboundLimits');
/** Deliveries that may wait for a Receive Maximum slot before the client is disconnected with 0x97 (Quota exceeded). */
export const MAX_WAITING_DELIVERIES = 1000;
const NO_RECEIVE_LIMIT = 65535;

type Deliver = (packet: AedesPublishPacket, callback: () => void) => void;

interface FlowState {
  receiveMaximum: number;
  maximumPacketSize: number;
  inflight: number;
  waiting: AedesPublishPacket[];
  deliverQoS: Deliver;
}

interface LimitedClient {
  version: number | null;
  receiveMaximum?: number;
  maximumPacketSize?: number;
  deliverQoS: Deliver;
  duplicates: Record<string, number | undefined>;
  _parser: { on(event: 'packet', listener: (packet: { cmd: string; reasonCode?: number }) => void): void };
  disconnect(options: { reasonCode: number }): void;
  [FLOW]?: FlowState;
}

/** Called once per client, before its first subscription binds the delivery functions. */
export function limitV5Deliveries(client: Client): void {
  const limited = client as unknown as LimitedClient;
  if (limited.version !== 5) return;
  const receiveMaximum = limited.receiveMaximum ?? NO_RECEIVE_LIMIT;
  const maximumPacketSize = limited.maximumPacketSize ?? 0;
  if (receiveMaximum >= NO_RECEIVE_LIMIT && maximumPacketSize === 0) return;
  const state: FlowState = { receiveMaximum, maximumPacketSize, inflight: 0, waiting: [], deliverQoS: limited.deliverQoS };
  limited[FLOW] = state;
  if (receiveMaximum >= NO_RECEIVE_LIMIT) return;
  limited._parser.on('packet', (packet) => {
    if (packet.cmd === 'pubrec' && (packet.reasonCode ?? 0) >= 0x80) releaseV5Slot(client);
  });
  limited.deliverQoS = (packet, callback) => {
    if (packet.qos === 0 || state.inflight < state.receiveMaximum) return state.deliverQoS(packet, callback);
    if (state.waiting.length >= MAX_WAITING_DELIVERIES) {
      limited.disconnect({ reasonCode: 0x97 });
      return callback();
    }
    // Aedes drops a packet whose broker counter is not above the last one delivered (its dedupe of
    // overlapping subscriptions); a waiting packet is overtaken by later ones, so it is deduplicated
    // here, now, and waits without its broker id. The emitter is not held up by one client's window;
    // a persistent session still has the message stored.
    const { brokerId, brokerCounter } = packet as AedesPublishPacket & { brokerId?: string; brokerCounter: number };
    if (brokerId) {
      if ((limited.duplicates[brokerId] ?? 0) >= brokerCounter) return callback();
      limited.duplicates[brokerId] = brokerCounter;
    }
    state.waiting.push(brokerId ? ({ ...packet, brokerId: undefined } as unknown as AedesPublishPacket) : packet);
    callback();
  };
}

/**
 * The last word of `authorizeForward` for a client with limits: a PUBLISH over its Maximum Packet
 * Size is not sent; a QoS 1/2 one that will be sent takes a Receive Maximum slot.
 */
export function checkV5Forward(client: Client, packet: AedesPublishPacket | null | undefined): AedesPublishPacket | null | undefined {
  const state = (client as unknown as LimitedClient)[FLOW];
  if (state === undefined || !packet) return packet;
  if (state.maximumPacketSize > 0 && forwardedSize(client, packet) > state.maximumPacketSize) return null;
  if (packet.qos > 0) state.inflight++;
  return packet;
}

/** A PUBACK or PUBCOMP from the client (Aedes' 'ack'), or a failed PUBREC: a slot is free; waiting deliveries take it. */
export function releaseV5Slot(client: Client): void {
  const state = (client as unknown as LimitedClient)[FLOW];
  if (state === undefined) return;
  if (state.inflight > 0) state.inflight--;
  while (state.inflight < state.receiveMaximum && state.waiting.length > 0) {
    state.deliverQoS(state.waiting.shift()!, noop);
  }
}

/** A topic that has an alias on this connection keeps it (v5-topic-aliases.ts): it is written without its topic. */
function forwardedSize(client: Client, packet: AedesPublishPacket): number {
  const alias = topicAliasOf(client, packet.topic);
  return alias === undefined ? publishSize(packet as never) : publishSize(packet as never, '', alias);
}

function noop(): void {}
