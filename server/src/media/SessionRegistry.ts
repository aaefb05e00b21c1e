import { MediaError } from './MediaError';
import type { MediaWorker } from './MediaWorker';

export type SessionRole = 'publish' | 'watch';

export interface Session {
  streamId: string;
  role: SessionRole;
  worker: MediaWorker;
  owner: string | undefined;
  createdAt: number;
}

/**
 * Every media session of this node and the worker holding it, kept in the main process so it
 * answers who owns what, and how loaded each worker is, without asking a worker.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();

  add(
    sessionId: string,
    streamId: string,
    role: SessionRole,
    worker: MediaWorker,
    owner: string | undefined,
  ): void {
    this.sessions.set(sessionId, { streamId, role, worker, owner, createdAt: performance.now() });
  }

  /** Whether any session of `role` (any role by default) is on the stream. */
  onStream(streamId: string, role?: SessionRole): boolean {
    for (const s of this.sessions.values())
      if (s.streamId === streamId && (role === undefined || s.role === role)) return true;
    return false;
  }

  get(sessionId: string): Session | undefined {
    return this.sessions.get(sessionId);
  }

  delete(sessionId: string): boolean {
    return this.sessions.delete(sessionId);
  }

  clear(): void {
    this.sessions.clear();
  }

  /** The ids of `owner`'s watching sessions of a stream. */
  watchingOf(streamId: string, owner: string): string[] {
    const ids: string[] = [];
    for (const [id, s] of this.sessions)
      if (s.role === 'watch' && s.streamId === streamId && s.owner === owner) ids.push(id);
    return ids;
  }

  /** The ids of `owner`'s watching sessions of a stream beyond the newest `keep - 1`, oldest first. */
  oldestBeyond(streamId: string, owner: string, keep: number): string[] {
    const mine = [...this.sessions.entries()]
      .filter(([, s]) => s.role === 'watch' && s.streamId === streamId && s.owner === owner)
      .sort(([, a], [, b]) => a.createdAt - b.createdAt);
    return mine.slice(0, Math.max(0, mine.length - keep + 1)).map(([id]) => id);
  }

  /** Refuses (`too_many_sessions`) an owner already holding `maxSessions` watching sessions. */
  refuseBeyond(owner: string, maxSessions: number, replaces: string | undefined): void {
    let held = 0;
    for (const [id, session] of this.sessions)
      if (session.role === 'watch' && session.owner === owner && id !== replaces) held += 1;
    if (held >= maxSessions)
      throw new MediaError('too_many_sessions', 'Too many viewing sessions; close one first');
  }

  /** Forgets a stream's sessions (its media ended as a whole). */
  dropStream(streamId: string): void {
    for (const [id, session] of this.sessions)
      if (session.streamId === streamId) this.sessions.delete(id);
  }

  /** Forgets a dead worker's sessions and returns them. */
  dropWorker(worker: MediaWorker): [string, Session][] {
    const dropped: [string, Session][] = [];
    for (const [id, session] of [...this.sessions]) {
      if (session.worker !== worker) continue;
      this.sessions.delete(id);
      dropped.push([id, session]);
    }
    return dropped;
  }

  publishers(): { streamId: string; sessionId: string }[] {
    const found: { streamId: string; sessionId: string }[] = [];
    for (const [sessionId, s] of this.sessions)
      if (s.role === 'publish') found.push({ streamId: s.streamId, sessionId });
    return found;
  }

  holdsAny(worker: MediaWorker): boolean {
    for (const s of this.sessions.values()) if (s.worker === worker) return true;
    return false;
  }

  /** Sessions per worker, counting only the workers given. */
  load(workers: Iterable<MediaWorker>): Map<MediaWorker, number> {
    const load = new Map<MediaWorker, number>();
    for (const worker of workers) load.set(worker, 0);
    for (const session of this.sessions.values())
      if (load.has(session.worker)) load.set(session.worker, (load.get(session.worker) ?? 0) + 1);
    return load;
  }

  counts(): { publishers: number; subscribers: number } {
    let publishers = 0;
    let subscribers = 0;
    for (const session of this.sessions.values()) {
      if (session.role === 'publish') publishers += 1;
      else subscribers += 1;
    }
    return { publishers, subscribers };
  }
}
