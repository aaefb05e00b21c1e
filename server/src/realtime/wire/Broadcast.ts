import type { ServerToClientEvents } from '@onair/protocol';

/** What a broadcast needs of the server that made it (the server's own, not its public API). */
export interface BroadcastTarget {
  broadcast(rooms: string[] | null, except: string[], event: string, args: unknown[]): void;
  socketsLeave(rooms: string[], room: string): void;
}

export const roomList = (rooms: string | readonly string[]): string[] =>
  typeof rooms === 'string' ? [rooms] : [...rooms];

/**
 * Emits to the sockets in some rooms (every socket when `rooms` is null), on every node. No rooms
 * at all reaches nobody.
 */
export class Broadcast {
  constructor(
    private readonly target: BroadcastTarget,
    private readonly rooms: string[] | null,
    private readonly excluded: string[],
  ) {}

  /** The same sockets but those in any of `rooms`. */
  except(rooms: string | readonly string[]): Broadcast {
    return new Broadcast(this.target, this.rooms, [...this.excluded, ...roomList(rooms)]);
  }

  emit<E extends keyof ServerToClientEvents>(
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void {
    if (this.rooms?.length !== 0) this.target.broadcast(this.rooms, this.excluded, event, args);
  }

  /** The sockets in these rooms, on every node, leave `room`. */
  socketsLeave(room: string): void {
    if (this.rooms === null) throw new Error('socketsLeave needs rooms');
    if (this.rooms.length > 0) this.target.socketsLeave(this.rooms, room);
  }
}
