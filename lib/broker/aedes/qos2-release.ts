import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Aedes } from 'aedes';

/**
 * The lost QoS 2 message (issue 11 item 7; the upstream reports are in docs/upstream-reports.md).
 *
 * For each PUBREC of a persistent session, Aedes' `handlers/pubrec.js` builds a PUBREL, hands that
 * very object to `persistence.outgoingUpdate` and writes it once the store's promise resolves. The
 * in-memory store of aedes-persistence (a) keeps that object as the session's record, and (b)
 * matches a PUBREL, which carries no `brokerId`/`brokerCounter`, against the first record whose
 * `brokerId` is undefined too: an earlier PUBREL still waiting for its PUBCOMP, whose packet
 * identifier it rewrites. The PUBLISH record the new PUBREL should replace stays queued, so the next
 * connection replays a message already delivered; and when PUBRECs arrive in one read (all handled
 * in one turn, before any write), the rewritten identifier goes on the wire: one packet identifier
 * is released twice and another never [MQTT-4.3.3-1].
 *
 * Why the persistence and not the PUBREC handler: the handler is a module-private function that
 * Aedes' packet switch calls directly, and the only way in front of it is the parser's per-packet
 * listener (every packet of every client). `outgoingUpdate` is public persistence API, is where
 * every PUBREL the broker keeps passes (on PUBREC, and again when a session is resumed), and is
 * called only for QoS > 0 traffic of persistent sessions. So the fix wraps that one method of the
 * broker's persistence instance:
 * - Every store gets a record of its own instead of the PUBREL Aedes will write, so no store can
 *   change a packet after the fact (aedes-persistence-redis adds fields to the object it is given).
 * - The in-memory store gets a record that names its packet identifier in `brokerId`/`brokerCounter`
 *   (a broker id no broker has, a counter equal to the packet identifier). Its matching rules then
 *   find only that PUBREL's own record: a stored PUBREL only when its identifier is the same, else
 *   the PUBLISH with that identifier. aedes-persistence-redis needs no such record: it finds a
 *   PUBREL's record by client and packet identifier, and this change would break its lookup
 *   (`'brokerId' in packet`), so it and every other store get the plain copy.
 * PUBLISH packets pass as they are: the stores match them by `brokerId`/`brokerCounter` and change
 * only their own record; allocating per message there would buy nothing.
 */
export function installQos2ReleaseFix(broker: Aedes): void {
  const contract = assertQos2ReleaseContract(broker);
  const store = persistenceOf(broker) as OutgoingStore & { [ORIGINAL_OUTGOING_UPDATE]?: OutgoingUpdate };
  if (store[ORIGINAL_OUTGOING_UPDATE] !== undefined) return;
  store[ORIGINAL_OUTGOING_UPDATE] = store.outgoingUpdate;
  store.outgoingUpdate = contract.inMemory ? updateWithInMemoryPubrelRecord : updateWithPubrelCopy;
}

/** What the fix relies on; the checks below refuse anything else. */
export const QOS2_RELEASE_SUPPORTED_VERSIONS = { aedes: '2.0.0-beta.1', 'aedes-persistence': '10.3.1' } as const;

export type Qos2ReleasePackage = keyof typeof QOS2_RELEASE_SUPPORTED_VERSIONS;

export type InstalledVersions = Record<Qos2ReleasePackage, string | undefined>;

/**
 * Verifies, at start-up, every internal the fix relies on, and tells whether the persistence (of a
 * broker, or given itself) is aedes-persistence's in-memory store. Throws when the versions do not
 * match (see `assertQos2ReleaseVersions`) or when the persistence has no `outgoingUpdate`.
 * `installed` is for tests of a drifted install.
 */
export function assertQos2ReleaseContract(brokerOrPersistence: unknown, installed: InstalledVersions = installedVersions()): { inMemory: boolean } {
  assertQos2ReleaseVersions(installed);
  const persistence = persistenceOf(brokerOrPersistence) ?? brokerOrPersistence;
  if (typeof (persistence as Partial<OutgoingStore> | undefined)?.outgoingUpdate !== 'function') {
    throw new Error(
      'nestjs-mqtt-ws: the broker persistence has no outgoingUpdate(client, packet) method; the Aedes persistence interface ' +
        `of aedes ${QOS2_RELEASE_SUPPORTED_VERSIONS.aedes} requires one. Give "persistence" an aedes-persistence compatible store.`,
    );
  }
  const store = (persistence as { asyncPersistence?: unknown }).asyncPersistence ?? persistence;
  return { inMemory: store instanceof memoryStoreClass() };
}

/**
 * The part of the check that needs no broker: throws, naming the package, the version found and the
 * version supported, when the installed `aedes` (its `handlers/pubrec.js` and `handlers/connect.js`,
 * which hand PUBRELs to `outgoingUpdate`) or `aedes-persistence` (its in-memory store's matching
 * rules), as Aedes resolves it, is not the one the fix was written against.
 */
export function assertQos2ReleaseVersions(installed: InstalledVersions = installedVersions()): void {
  for (const name of Object.keys(QOS2_RELEASE_SUPPORTED_VERSIONS) as Qos2ReleasePackage[]) {
    const supported = QOS2_RELEASE_SUPPORTED_VERSIONS[name];
    if (installed[name] !== supported) {
      throw new Error(
        `nestjs-mqtt-ws: ${name} ${installed[name] ?? '(not found)'} is installed, but this version supports ${name} ${supported} only: ` +
          `its fix of the lost QoS 2 message (lib/broker/aedes/qos2-release.ts) relies on that version's internals. Install ${name}@${supported}.`,
      );
    }
  }
}

type OutgoingUpdate = (client: unknown, packet: OutgoingPacket, done?: unknown) => unknown;

interface OutgoingStore {
  outgoingUpdate: OutgoingUpdate;
}

interface OutgoingPacket {
  cmd: string;
  messageId?: number;
}

const ORIGINAL_OUTGOING_UPDATE = Symbol('outgoingUpdate without the QoS 2 release fix');

/**
 * The `brokerId` of the in-memory store's PUBREL records. No broker has it, so the store compares a
 * PUBREL with other PUBRELs by `brokerCounter` (its packet identifier) and with PUBLISH records by
 * packet identifier. Aedes' own PUBREL records have `brokerId` undefined, which is what let one
 * PUBREL take another's record.
 */
const PUBREL_RECORD_BROKER_ID = 'nestjs-mqtt-ws/pubrel';

type FixedStore = OutgoingStore & { [ORIGINAL_OUTGOING_UPDATE]: OutgoingUpdate };

function updateWithPubrelCopy(this: FixedStore, client: unknown, packet: OutgoingPacket, done?: unknown) {
  return update(this, client, packet.cmd === 'pubrel' ? { cmd: 'pubrel', messageId: packet.messageId } : packet, done);
}

function updateWithInMemoryPubrelRecord(this: FixedStore, client: unknown, packet: OutgoingPacket, done?: unknown) {
  const record =
    packet.cmd === 'pubrel'
      ? { cmd: 'pubrel', messageId: packet.messageId, brokerId: PUBREL_RECORD_BROKER_ID, brokerCounter: packet.messageId }
      : packet;
  return update(this, client, record, done);
}

/** The store's own method, with a callback only when Aedes gave one (stores may look at the arity). */
function update(store: FixedStore, client: unknown, record: OutgoingPacket, done: unknown) {
  return done === undefined ? store[ORIGINAL_OUTGOING_UPDATE](client, record) : store[ORIGINAL_OUTGOING_UPDATE](client, record, done);
}

function persistenceOf(broker: unknown): unknown {
  return (broker as { persistence?: unknown } | undefined)?.persistence;
}

/** The `require` of Aedes itself: the aedes-persistence it loads is the one that matters. */
function requireFromAedes(): NodeJS.Require {
  return createRequire(createRequire(import.meta.url).resolve('aedes'));
}

function installedVersions(): InstalledVersions {
  return {
    aedes: readVersion(() => join(dirname(createRequire(import.meta.url).resolve('aedes')), 'package.json')),
    'aedes-persistence': readVersion(() => requireFromAedes().resolve('aedes-persistence/package.json')),
  };
}

function readVersion(packageJson: () => string): string | undefined {
  try {
    return (JSON.parse(readFileSync(packageJson(), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** The class of aedes-persistence's in-memory store, which Aedes uses when given no persistence. */
function memoryStoreClass(): abstract new (...args: never[]) => unknown {
  return requireFromAedes()('aedes-persistence/asyncPersistence.js') as abstract new (...args: never[]) => unknown;
}
