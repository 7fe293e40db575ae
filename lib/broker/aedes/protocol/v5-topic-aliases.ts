import type { Client } from 'aedes';
import { publishSize } from './v5-publish-size.js';

/**
 * Server → client topic aliases [MQTT-3.3.2.3.4], which Aedes 2.0.0-beta.1 does not send. A v5
 * client that says Topic Alias Maximum > 0 in its CONNECT opted in: the first PUBLISH of a topic
 * to it carries the topic and a new alias, later ones an empty topic and the alias.
 * - Assignment: aliases 1, 2, … in the order topics are first sent, up to the client's maximum
 *   (at most `MAX_OUTBOUND_TOPIC_ALIASES`); once all are taken, other topics go out in full. No
 *   eviction: a topic that has an alias keeps it for the connection, so what a PUBLISH will look
 *   like is known when it is forwarded (the Maximum Packet Size check), and a busy client cannot
 *   make the server rebind aliases on every message.
 * - Per connection: the map lives on Aedes' client object, which a reconnect replaces, so a
 *   PUBLISH resent on a new connection (QoS 1/2 of a resumed session) carries its topic.
 * - Chosen as the PUBLISH is written (packet-writer.ts, in mqtt-packet's `writeToStream`, which
 *   Aedes calls for every packet, in the connection's order); the stored packet and other
 *   subscribers' copies keep their topic.
 * 3.1.1 clients and v5 clients that did not ask carry nothing; each written v5 PUBLISH costs one
 * property read.
 */

const ALIASES = Symbol('outboundTopicAliases');
/** Aliases kept per connection at most, whatever the client allows: each is a map entry holding a topic. */
export const MAX_OUTBOUND_TOPIC_ALIASES = 64;

export interface AliasState {
  readonly aliases: Map<string, number>;
  readonly maximum: number;
  /** The client's Maximum Packet Size (0: none): a first send grows by the alias property. */
  readonly maximumPacketSize: number;
}

export interface AliasedPacket {
  cmd: string;
  topic: string;
  payload: Buffer | string;
  qos: number;
  properties?: Record<string, unknown>;
}

interface AliasingClient {
  [ALIASES]?: AliasState;
}

/** The protocol stage's `preConnect`: a v5 CONNECT with Topic Alias Maximum > 0 opts the connection in. */
export function noteTopicAliasMaximum(
  client: Client,
  connect: { protocolVersion?: number; properties?: { topicAliasMaximum?: number; maximumPacketSize?: number } },
): void {
  const requested = connect.protocolVersion === 5 ? (connect.properties?.topicAliasMaximum ?? 0) : 0;
  if (!(requested > 0)) return;
  (client as unknown as AliasingClient)[ALIASES] = {
    aliases: new Map(),
    maximum: Math.min(requested, MAX_OUTBOUND_TOPIC_ALIASES),
    maximumPacketSize: connect.properties?.maximumPacketSize ?? 0,
  };
}

/** The alias a topic has on this client's connection, if any (the Maximum Packet Size check). */
export function topicAliasOf(client: Client, topic: string): number | undefined {
  return (client as unknown as AliasingClient)[ALIASES]?.aliases.get(topic);
}

/** The aliases of the connection behind `stream` (Aedes sets `conn.client`), when its client opted in. */
export function topicAliasesOf(stream: object): AliasState | undefined {
  return (stream as { client?: AliasingClient }).client?.[ALIASES];
}

/**
 * The alias to write a PUBLISH with on this connection (packet-writer.ts, as it writes it):
 * `-n` when its topic has alias n (write an empty topic and n), `n` when it takes alias n now
 * (write the topic and n), 0 for none (the full topic alone).
 */
export function chooseTopicAlias(state: AliasState, packet: AliasedPacket): number {
  const topic = packet.topic;
  const known = state.aliases.get(topic);
  if (known !== undefined) return -known;
  if (state.aliases.size >= state.maximum || topic.length === 0) return 0;
  const alias = state.aliases.size + 1;
  // It was forwarded because it fits without an alias: it takes one only if it still fits with it.
  if (state.maximumPacketSize > 0 && publishSize(packet, topic, alias) > state.maximumPacketSize) return 0;
  state.aliases.set(topic, alias);
  return alias;
}

/** `{ topicAlias: n }` for a PUBLISH without properties, one per alias, built once. */
const ALIAS_ONLY: Readonly<{ topicAlias: number }>[] = [];
export function aliasOnly(alias: number): Readonly<{ topicAlias: number }> {
  return (ALIAS_ONLY[alias] ??= Object.freeze({ topicAlias: alias }));
}
