/** What Aedes passes to the persistence for a PUBACK (aedes-persistence's interface). */
interface AckedClient {
  clean: boolean;
}
interface OutgoingAcks {
  outgoingClearMessageId(client: AckedClient, packet: { cmd?: string }): Promise<unknown>;
}

const NOTHING_TO_CLEAR = Promise.resolve(undefined);

/**
 * A clean session's PUBACK has nothing to clear in the persistence: Aedes records an outgoing QoS 1
 * message there (`outgoingUpdate`) only for a session that outlives its connection (client.js,
 * `if (that.clean || packet.retain)`: checked by aedes-contract.ts). The persistence would still build
 * two keys and look them up per PUBACK (aedes-persistence-redis: an LRU of message ids); the lookup
 * is skipped. QoS 2 (PUBCOMP) is left alone: Aedes records its PUBREL for clean sessions too.
 */
export function skipCleanSessionAckLookups(persistence: OutgoingAcks): void {
  const clear = persistence.outgoingClearMessageId;
  persistence.outgoingClearMessageId = function (client, packet) {
    if (client.clean === true && packet.cmd === 'puback') return NOTHING_TO_CLEAR;
    return clear.call(this, client, packet);
  };
}
