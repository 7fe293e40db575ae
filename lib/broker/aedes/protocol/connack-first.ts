import type { AedesPublishPacket, Client } from 'aedes';

type Deliver = (packet: AedesPublishPacket, callback: () => void) => void;

interface HeldDelivery {
  deliver: Deliver;
  packet: AedesPublishPacket;
  callback: () => void;
}

const HELD = Symbol('deliveriesBeforeConnack');

interface HoldingClient {
  connackSent: boolean;
  conn: { once(event: 'close', listener: () => void): unknown };
  deliver0: Deliver;
  deliverQoS: Deliver;
  [HELD]?: HeldDelivery[];
}

/**
 * [MQTT-3.2.0-1] The first packet from the server must be CONNACK. Aedes restores a persistent
 * session's subscriptions before it writes the CONNACK, so a message routed in between (which a
 * remote persistence such as Redis makes likely) would go out first. Deliveries to a client that
 * has no CONNACK yet are held and written right after it; one check of a boolean otherwise.
 */
export function holdDeliveriesUntilConnack(client: Client): void {
  const holding = client as unknown as HoldingClient;
  const deliver0 = holding.deliver0;
  const deliverQoS = holding.deliverQoS;
  holding.deliver0 = (packet, callback) =>
    holding.connackSent ? deliver0(packet, callback) : hold(holding, deliver0, packet, callback);
  holding.deliverQoS = (packet, callback) =>
    holding.connackSent ? deliverQoS(packet, callback) : hold(holding, deliverQoS, packet, callback);
}

/** Aedes emits 'connackSent' once the CONNACK is written: the held deliveries follow it, in order. */
export function releaseHeldDeliveries(client: Client): void {
  const holding = client as unknown as HoldingClient;
  const held = holding[HELD];
  if (held === undefined) return;
  holding[HELD] = undefined;
  for (const { deliver, packet, callback } of held) deliver(packet, callback);
}

function hold(client: HoldingClient, deliver: Deliver, packet: AedesPublishPacket, callback: () => void): void {
  if (client[HELD] === undefined) {
    client[HELD] = [];
    // A connection refused or lost before its CONNACK still owes the emitter its callbacks; the
    // QoS 1/2 messages stay in the session's queue for its next connection.
    client.conn.once('close', () => dropHeldDeliveries(client));
  }
  client[HELD]!.push({ deliver, packet, callback });
}

function dropHeldDeliveries(client: HoldingClient): void {
  const held = client[HELD];
  client[HELD] = undefined;
  for (const { callback } of held ?? []) callback();
}
