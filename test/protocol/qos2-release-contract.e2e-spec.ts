/**
 * The QoS 2 release fix against the stores themselves and its start-up contract check: what
 * lib/broker/aedes/qos2-release.ts relies on, tested so that the next Aedes or aedes-persistence runs
 * the same assertions unchanged. The end-to-end behaviour is in qos2-release.e2e-spec.ts.
 */
import type { Aedes } from 'aedes';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import {
  assertQos2ReleaseContract,
  assertQos2ReleaseVersions,
  installQos2ReleaseFix,
  QOS2_RELEASE_SUPPORTED_VERSIONS,
} from '../../lib/broker/aedes/qos2-release.js';

interface StoredPacket {
  cmd: string;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
  topic?: string;
}

/** The promise API of a persistence, as Aedes 1.2 calls it. */
interface OutgoingStore {
  outgoingEnqueueCombi(subscriptions: { clientId: string }[], packet: StoredPacket): Promise<void>;
  outgoingUpdate(client: { id: string }, packet: StoredPacket): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: { messageId: number }): Promise<StoredPacket | undefined>;
  outgoingStream(client: { id: string }): Readable;
}

const client = { id: 'resumed' };
/** aedes-persistence's factory of its in-memory store (a CommonJS module whose typings declare an ES default export). */
const memoryPersistence = createRequire(import.meta.url)('aedes-persistence') as () => unknown;

/** A fresh in-memory store of aedes-persistence, the default of Aedes, with the fix installed as the module does. */
function fixedMemoryStore(): OutgoingStore {
  const store = memoryPersistence() as unknown as OutgoingStore;
  installQos2ReleaseFix({ persistence: store } as unknown as Aedes);
  return store;
}

async function records(store: OutgoingStore): Promise<StoredPacket[]> {
  const packets: StoredPacket[] = [];
  for await (const packet of store.outgoingStream(client)) packets.push(packet as StoredPacket);
  return packets;
}

/** Three QoS 2 messages queued for the offline session, then sent on resume with packet identifiers 7, 8, 9. */
async function threeSent(store: OutgoingStore): Promise<number[]> {
  const ids = [7, 8, 9];
  for (let i = 0; i < ids.length; i++) {
    const publish = { cmd: 'publish', topic: 't/a', qos: 2, brokerId: 'broker-a', brokerCounter: i + 1 };
    await store.outgoingEnqueueCombi([{ clientId: client.id }], publish);
    await store.outgoingUpdate(client, { ...publish, messageId: ids[i] });
  }
  return ids;
}

describe('QoS 2 release fix: the in-memory store', () => {
  it('keeps one PUBREL record per packet identifier when PUBRECs are handled in one turn, and leaves the PUBRELs it was given untouched', async () => {
    const store = fixedMemoryStore();
    const ids = await threeSent(store);

    // As Aedes' handlers/pubrec.js does for PUBRECs read together: every update starts before any resolves.
    const pubrels = ids.map((messageId) => ({ cmd: 'pubrel', messageId }));
    await Promise.all(pubrels.map((pubrel) => store.outgoingUpdate(client, pubrel)));

    expect(pubrels.map((pubrel) => pubrel.messageId)).toEqual(ids);
    const stored = await records(store);
    expect(stored.map((record) => [record.cmd, record.messageId])).toEqual(ids.map((id) => ['pubrel', id]));
    for (const record of stored) expect(pubrels).not.toContain(record);
  });

  it('matches a PUBREL resent on resume with its own record, then clears each exchange on PUBCOMP', async () => {
    const store = fixedMemoryStore();
    const ids = await threeSent(store);
    await Promise.all(ids.map((messageId) => store.outgoingUpdate(client, { cmd: 'pubrel', messageId })));

    // On resume Aedes (handlers/connect.js) hands every queued record back, rebuilt, to outgoingUpdate.
    const resumed = (await records(store)).map((record) => ({ ...record }));
    await Promise.all(resumed.reverse().map((record) => store.outgoingUpdate(client, record)));
    expect((await records(store)).map((record) => [record.cmd, record.messageId])).toEqual(ids.map((id) => ['pubrel', id]));

    const cleared = await Promise.all(ids.map((messageId) => store.outgoingClearMessageId(client, { messageId })));
    expect(cleared.map((record) => [record?.cmd, record?.messageId])).toEqual(ids.map((id) => ['pubrel', id]));
    expect(await records(store)).toEqual([]);
  });

  it('installs once: a second call keeps the first wrapper', () => {
    const store = fixedMemoryStore();
    const update = store.outgoingUpdate;
    installQos2ReleaseFix({ persistence: store } as unknown as Aedes);
    expect(store.outgoingUpdate).toBe(update);
  });
});

describe('QoS 2 release fix: the start-up contract check', () => {
  const supported = { ...QOS2_RELEASE_SUPPORTED_VERSIONS };

  it('accepts the installed packages, and tells the in-memory store from others', () => {
    expect(() => assertQos2ReleaseVersions()).not.toThrow();
    expect(assertQos2ReleaseContract(memoryPersistence())).toEqual({ inMemory: true });
    expect(assertQos2ReleaseContract({ persistence: memoryPersistence() })).toEqual({ inMemory: true });
    expect(assertQos2ReleaseContract({ outgoingUpdate: async () => undefined })).toEqual({ inMemory: false });
  });

  it.each([
    ['aedes', '1.3.0'],
    ['aedes', '1.2.0'],
    ['aedes-persistence', '11.0.0'],
    ['aedes-persistence', undefined],
  ] as const)('refuses %s %s, naming the package, the version found and the version supported', (name, found) => {
    const expected = QOS2_RELEASE_SUPPORTED_VERSIONS[name];
    const message = `nestjs-mqtt-ws: ${name} ${found ?? '(not found)'} is installed, but this version supports ${name} ${expected} only`;
    expect(() => assertQos2ReleaseVersions({ ...supported, [name]: found })).toThrow(message);
    expect(() => assertQos2ReleaseContract(memoryPersistence(), { ...supported, [name]: found })).toThrow(message);
  });

  it('refuses a persistence without outgoingUpdate', () => {
    expect(() => assertQos2ReleaseContract({}, supported)).toThrow('the broker persistence has no outgoingUpdate(client, packet) method');
    expect(() => installQos2ReleaseFix({ persistence: {} } as unknown as Aedes)).toThrow('has no outgoingUpdate');
  });
});
