/**
 * Who is in which shared subscription group, as one broker instance sees it: every instance of a
 * cluster keeps the same records (shared-groups.replication.ts carries the changes), so each can
 * make the same choice of member for a message on its own, with no round trip per message.
 *
 * Each record has an owner, the instance that answers for it: where the member is connected, where
 * its persistent session ended, or (once that instance is gone) the one that adopted it. Changes
 * about a record are taken from its owner only, so that an old connection's last words do not undo
 * a newer connection's state when they arrive in the other order.
 */

export interface SharedMember {
  readonly clientId: string;
  owner: string;
  online: boolean;
  /** The session outlives its connection (Session Expiry > 0): a message can wait in its queue. */
  persistent: boolean;
  /** The granted QoS: 0 gets no queued message, as for any subscription. */
  qos: number;
}

/** A member as a snapshot carries it: [group key, client id, persistent 0/1, online 0/1, qos]. */
export type MemberSnapshot = [string, string, number, number, number];

export class SharedGroup {
  readonly members = new Map<string, SharedMember>();
  /** Client ids, sorted: every instance orders them alike. */
  online: readonly string[] = [];
  offline: readonly string[] = [];
  readonly filter: string;

  constructor(readonly key: string) {
    this.filter = key.slice(key.indexOf('/') + 1);
  }

  refresh(): void {
    const online: string[] = [];
    const offline: string[] = [];
    for (const member of this.members.values()) (member.online ? online : offline).push(member.clientId);
    this.online = online.sort();
    this.offline = offline.sort();
  }
}

export class SharedGroupsRegistry {
  readonly groups = new Map<string, SharedGroup>();
  /** The group keys of each client id. */
  private readonly keysByClient = new Map<string, Set<string>>();
  /** A number per origin broker id, so that two origins' counters do not pick the same members in step. */
  private readonly originOffsets = new Map<string, number>();

  constructor(readonly self: string) {}

  /**
   * The member a message goes to: among the online members if there are any, else among the
   * offline (persistent) ones, by the message's origin and counter. The same on every instance that
   * has the same records.
   */
  chosen(group: SharedGroup, brokerId: string | undefined, brokerCounter: number | undefined): SharedMember | undefined {
    const ids = group.online.length > 0 ? group.online : group.offline;
    if (ids.length === 0) return undefined;
    const index = (this.originOffset(brokerId) + (brokerCounter ?? 0)) % ids.length;
    return group.members.get(ids[index]);
  }

  keysOf(clientId: string): ReadonlySet<string> | undefined {
    return this.keysByClient.get(clientId);
  }

  /** The member joined (or came back) through `owner`. */
  join(owner: string, key: string, clientId: string, persistent: boolean, qos: number): void {
    let group = this.groups.get(key);
    if (group === undefined) this.groups.set(key, (group = new SharedGroup(key)));
    const member = group.members.get(clientId);
    if (member === undefined) {
      group.members.set(clientId, { clientId, owner, online: true, persistent, qos });
      let keys = this.keysByClient.get(clientId);
      if (keys === undefined) this.keysByClient.set(clientId, (keys = new Set()));
      keys.add(key);
    } else {
      member.owner = owner;
      member.online = true;
      member.persistent = persistent;
      member.qos = qos;
    }
    group.refresh();
  }

  /** UNSUBSCRIBE (or a plain subscription replacing the shared one), said by the member's owner. */
  leave(from: string, key: string, clientId: string): void {
    const member = this.groups.get(key)?.members.get(clientId);
    if (member !== undefined && member.owner === from) this.remove(key, clientId);
  }

  /** The connection ended: a persistent member waits offline, the others leave; only its owner says so. */
  disconnect(from: string, clientId: string, persistent: boolean): void {
    for (const key of [...(this.keysByClient.get(clientId) ?? [])]) {
      const group = this.groups.get(key)!;
      const member = group.members.get(clientId)!;
      if (member.owner !== from) continue;
      if (persistent && member.persistent) {
        member.online = false;
        group.refresh();
      } else {
        this.remove(key, clientId);
      }
    }
  }

  /** The session ended (expired, or a Clean Start replaced it): said by its owner, or anyone for an offline member. */
  end(from: string, clientId: string): void {
    for (const key of [...(this.keysByClient.get(clientId) ?? [])]) {
      const member = this.groups.get(key)!.members.get(clientId)!;
      if (member.owner === from || !member.online) this.remove(key, clientId);
    }
  }

  /**
   * A connection of this client id is now on `owner` and holds exactly these memberships (restored
   * from its session, or none): its other records are gone, whoever owned them.
   */
  claim(owner: string, clientId: string, persistent: boolean, held: readonly (readonly [string, number])[]): void {
    const kept = new Set<string>();
    for (const [key, qos] of held) {
      kept.add(key);
      this.join(owner, key, clientId, persistent, qos);
    }
    for (const key of [...(this.keysByClient.get(clientId) ?? [])]) if (!kept.has(key)) this.remove(key, clientId);
  }

  /** What `owner` answers for, as it says: its records are replaced by these. */
  replaceOwned(owner: string, snapshot: readonly MemberSnapshot[]): void {
    const listed = new Set<string>();
    for (const [key, clientId, persistent, online, qos] of snapshot) {
      listed.add(`${clientId}\0${key}`);
      const member = this.groups.get(key)?.members.get(clientId);
      // A record another instance owns and has online is newer than this snapshot.
      if (member !== undefined && member.owner !== owner && member.online) continue;
      this.join(owner, key, clientId, persistent === 1, qos);
      if (online === 0) this.disconnect(owner, clientId, true);
    }
    for (const group of [...this.groups.values()]) {
      for (const member of [...group.members.values()]) {
        if (member.owner === owner && !listed.has(`${member.clientId}\0${group.key}`)) this.remove(group.key, member.clientId);
      }
    }
  }

  /** `owner` stopped or died: its persistent members wait offline, now answered for by `adopter`; the others are gone. */
  ownerGone(owner: string, adopter: string): void {
    for (const group of [...this.groups.values()]) {
      let changed = false;
      for (const member of [...group.members.values()]) {
        if (member.owner !== owner) continue;
        if (member.persistent) {
          member.owner = adopter;
          member.online = false;
          changed = true;
        } else {
          this.remove(group.key, member.clientId);
        }
      }
      if (changed && this.groups.has(group.key)) group.refresh();
    }
  }

  /** The records this instance answers for. */
  owned(): MemberSnapshot[] {
    const snapshot: MemberSnapshot[] = [];
    for (const group of this.groups.values()) {
      for (const member of group.members.values()) {
        if (member.owner === this.self) snapshot.push([group.key, member.clientId, member.persistent ? 1 : 0, member.online ? 1 : 0, member.qos]);
      }
    }
    return snapshot;
  }

  /** The owners of records other than this instance. */
  otherOwners(): Set<string> {
    const owners = new Set<string>();
    for (const group of this.groups.values()) for (const member of group.members.values()) if (member.owner !== this.self) owners.add(member.owner);
    return owners;
  }

  private remove(key: string, clientId: string): void {
    const group = this.groups.get(key);
    if (group === undefined || !group.members.delete(clientId)) return;
    const keys = this.keysByClient.get(clientId);
    keys?.delete(key);
    if (keys?.size === 0) this.keysByClient.delete(clientId);
    if (group.members.size === 0) this.groups.delete(key);
    else group.refresh();
  }

  private originOffset(brokerId: string | undefined): number {
    if (brokerId === undefined) return 0;
    let offset = this.originOffsets.get(brokerId);
    if (offset === undefined) {
      offset = 0;
      for (let i = 0; i < brokerId.length; i++) offset = (offset * 31 + brokerId.charCodeAt(i)) >>> 0;
      // Broker ids come from the emitter: bounded by the instances a cluster ever had.
      if (this.originOffsets.size < 1024) this.originOffsets.set(brokerId, offset);
    }
    return offset;
  }
}
