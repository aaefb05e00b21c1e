/**
 * This node's rooms and their members. A socket keeps its own rooms as a short list; this is the
 * other direction, for broadcasts. An empty room is forgotten.
 */
export class Rooms<Member> {
  private readonly byName = new Map<string, Set<Member>>();

  add(room: string, member: Member): void {
    let members = this.byName.get(room);
    if (!members) this.byName.set(room, (members = new Set()));
    members.add(member);
  }

  remove(room: string, member: Member): void {
    const members = this.byName.get(room);
    if (!members) return;
    members.delete(member);
    if (members.size === 0) this.byName.delete(room);
  }

  size(room: string): number {
    return this.byName.get(room)?.size ?? 0;
  }

  /** Every room and its members, as they are now. */
  all(): ReadonlyMap<string, ReadonlySet<Member>> {
    return this.byName;
  }

  /** The members of any of `rooms`, each once. */
  membersOf(rooms: readonly string[]): Set<Member> {
    const found = new Set<Member>();
    for (const room of rooms) for (const member of this.byName.get(room) ?? []) found.add(member);
    return found;
  }

  /**
   * Who a broadcast reaches: the members of any of `rooms` (`everyone` when null) that are in
   * none of `except`, each once.
   */
  audience(
    rooms: readonly string[] | null,
    except: readonly string[],
    everyone: () => Iterable<Member>,
  ): Iterable<Member> {
    if (except.length > 0) {
      const excluded = this.membersOf(except);
      const included = rooms === null ? everyone() : this.membersOf(rooms);
      return filter(included, (member) => !excluded.has(member));
    }
    if (rooms === null) return everyone();
    const [only, ...more] = rooms;
    // The common case, a stream's room, needs no set of its own. Writing to a member may drop it
    // from the room's set; a Set's iteration allows that.
    if (only !== undefined && more.length === 0) return this.byName.get(only) ?? [];
    return this.membersOf(rooms);
  }
}

function* filter<T>(items: Iterable<T>, keep: (item: T) => boolean): Iterable<T> {
  for (const item of items) if (keep(item)) yield item;
}
