/**
 * `maxInflightInbound`: the QoS 2 messages one client may have stored awaiting PUBREL. Aedes 1.2
 * enforced it in its PUBLISH handler; Aedes 2.0.0-beta.1 was branched before that fix and has no
 * bound, so a client that keeps sending fresh packet identifiers without PUBREL grows its incoming
 * store toward 65535 entries. The limit is enforced where every new inbound QoS 2 message passes:
 * the persistence's `incomingStorePacket` (Aedes calls it only once `incomingGetPacket` did not find
 * the identifier, so a resent PUBLISH does not take a second slot), released by `incomingDelPacket`
 * (on PUBREL). A refused store makes Aedes close the connection, as 1.2 did: MQTT 3.1.1 has no code
 * to say why; an MQTT 5 client, to which this limit is its advertised Receive Maximum, is first told
 * with DISCONNECT 0x93 (Receive Maximum exceeded) [MQTT 5.0 §3.3.4]. QoS 2 control path only:
 * nothing here runs for QoS 0/1.
 */

/** Aedes 1.2's default. */
export const DEFAULT_MAX_INFLIGHT_INBOUND = 1000;

const INBOUND_QOS2 = Symbol('inboundQos2AwaitingPubrel');
const RECEIVE_MAXIMUM_EXCEEDED = 0x93;

interface IncomingStore {
  incomingStorePacket(client: object, packet: { messageId?: number }): Promise<void>;
  incomingDelPacket(client: object, packet: { messageId?: number }): Promise<void>;
}

type TrackedClient = {
  [INBOUND_QOS2]?: Set<number>;
  version?: number | null;
  disconnect(options: { reasonCode: number }, done: () => void): void;
};

export function limitInboundQos2(persistence: IncomingStore, limit: number): void {
  if (limit <= 0) return;
  const store = persistence.incomingStorePacket;
  const release = persistence.incomingDelPacket;
  persistence.incomingStorePacket = function (client, packet) {
    const tracked = client as TrackedClient;
    const awaiting = (tracked[INBOUND_QOS2] ??= new Set());
    const id = packet.messageId!;
    if (!awaiting.has(id) && awaiting.size >= limit) {
      return refuse(tracked, new Error(`maxInflightInbound exceeded: ${limit} inbound QoS 2 messages already await PUBREL`));
    }
    // Reserved before the store answers: one read's packets are handled concurrently.
    awaiting.add(id);
    return store.call(this, client, packet).catch((error: unknown) => {
      awaiting.delete(id);
      throw error;
    });
  };
  persistence.incomingDelPacket = function (client, packet) {
    return release.call(this, client, packet).then((result) => {
      (client as TrackedClient)[INBOUND_QOS2]?.delete(packet.messageId!);
      return result;
    });
  };
}

/** The store's refusal closes the connection; a v5 client hears why before it does. */
function refuse(client: TrackedClient, error: Error): Promise<never> {
  if (client.version !== 5) return Promise.reject(error);
  return new Promise((_, reject) => client.disconnect({ reasonCode: RECEIVE_MAXIMUM_EXCEEDED }, () => reject(error)));
}

/**
 * [MQTT-3.1.2-6] A clean session ends with its connection, and so do the QoS 2 messages it left
 * awaiting PUBREL. Aedes 1.2 removed them (`cleanIncoming`); 2.0.0-beta.1 does not, so a client that
 * publishes QoS 2 and never sends PUBREL, again and again with fresh client ids, grows the store.
 * The identifiers tracked above are removed when a clean session's client disconnects.
 */
export function releaseInboundQos2OnCleanClose(broker: { on(event: 'clientDisconnect', listener: (client: object) => void): unknown }, persistence: IncomingStore): void {
  broker.on('clientDisconnect', (client) => {
    const awaiting = (client as TrackedClient)[INBOUND_QOS2];
    if (awaiting === undefined || awaiting.size === 0 || !(client as { clean?: boolean }).clean) return;
    for (const messageId of awaiting) persistence.incomingDelPacket(client, { messageId }).catch(ignore);
  });
}

function ignore(): void {}
