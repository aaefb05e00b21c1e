import { and, desc, eq, isNotNull, isNull, lte, sql, type SQL } from 'drizzle-orm';
import type { Stream, StreamViewer } from '@onair/protocol';
import type { Db } from '../db/database';
import { liveStreams, streamPresence, streamViewers, users } from '../db/schema';
import { isBanned } from './chat-gate';
import { AppError } from './errors';
import type { LiveEvents } from './events';
import {
  hostColumns,
  iso,
  lockStream,
  lockVisibleStream,
  readHost,
  toStream,
  type StreamRow,
} from './stream-rows';
import { toPublicUser } from './users';

/** Who acts, as the verified token says. */
export interface Actor {
  userId: string;
  username: string;
}

/**
 * A watcher without an account (public streams only), named by what holds it for its whole
 * life: its socket (`anon:<socket id>`) or its WHEP session (`anon:whep:<session id>`).
 */
export interface AnonymousViewer {
  anonymousId: `anon:${string}`;
}

/** Someone who may be present in a stream: a signed-in user or an anonymous watcher. */
export type Viewer = Actor | AnonymousViewer;

export const anonymousViewer = {
  socket: (socketId: string): AnonymousViewer => ({ anonymousId: `anon:${socketId}` }),
  whep: (sessionId: string): AnonymousViewer => ({ anonymousId: `anon:whep:${sessionId}` }),
} as const;

export const isSignedIn = (viewer: Viewer): viewer is Actor => 'userId' in viewer;

/** The user id, or undefined for an anonymous watcher (who sees public streams only). */
export const userIdOf = (viewer: Viewer): string | undefined =>
  isSignedIn(viewer) ? viewer.userId : undefined;

/** The `viewer` column's value: what rows are keyed, locked and counted by. */
const keyOf = (viewer: Viewer): string => (isSignedIn(viewer) ? viewer.userId : viewer.anonymousId);

const columnsOf = (viewer: Viewer) =>
  isSignedIn(viewer)
    ? { userId: viewer.userId, anonymousId: null }
    : { userId: null, anonymousId: viewer.anonymousId };

/**
 * Why someone is present. A connection holds its handle until it goes: a socket in the room,
 * a WHEP session, a media session signalled over a socket. A REST view is a lease instead.
 */
export type ConnectionHandle = `socket:${string}` | `whep:${string}` | `media:${string}`;
export type PresenceHandle = 'rest' | ConnectionHandle;

export const presenceHandle = {
  rest: 'rest',
  socket: (socketId: string) => `socket:${socketId}`,
  whep: (sessionId: string) => `whep:${sessionId}`,
  media: (sessionId: string) => `media:${sessionId}`,
} as const satisfies Record<string, PresenceHandle | ((id: string) => ConnectionHandle)>;

export interface JoinOutcome {
  stream: Stream;
  viewerCount: number;
  /** True for the host, who is in the room but never counted. */
  isHost: boolean;
}

export interface PresenceOptions {
  /** This process's node id, recorded on the handles it holds (dropped when it restarts). */
  nodeId: string;
  /** How long a REST view lasts unless renewed (`VIEW_LEASE_SECONDS`, default 60). */
  leaseSeconds: number;
}

/** Expired leases handled per sweep; the rest wait for the next one. */
const sweepBatch = 500;

/**
 * Who is watching which stream, for every transport alike: each calls `enter`/`leave` with its
 * own handle (or `view` for a REST lease). A viewer (a user, or an anonymous watcher) counts once
 * however many handles they hold; counts are recomputed from the rows under the stream's row
 * lock, so they are exact on one node or many. The host may hold handles (to be in the room) but
 * is never counted.
 */
export class PresenceService {
  constructor(
    private readonly db: Db,
    private readonly events: LiveEvents,
    private readonly options: PresenceOptions,
  ) {}

  get leaseSeconds(): number {
    return this.options.leaseSeconds;
  }

  /** Holds `viewer` in the stream through a connection until `leave` (or the stream ends). */
  enter(streamId: string, viewer: Viewer, handle: ConnectionHandle): Promise<JoinOutcome> {
    return this.add(streamId, viewer, handle, null);
  }

  /** A REST view: present for `leaseSeconds`; calling again renews the lease. */
  view(streamId: string, actor: Actor): Promise<JoinOutcome> {
    return this.add(streamId, actor, presenceHandle.rest, this.options.leaseSeconds);
  }

  /** Drops one handle; the viewer leaves when it was their last. Unknown handles are a no-op. */
  async leave(streamId: string, viewer: Viewer, handle: PresenceHandle): Promise<void> {
    await this.remove(streamId, viewer, eq(streamPresence.handle, handle));
  }

  /** Who watched a stream and when, newest first (at most 200): the plan's `viewers[]`. */
  async viewersOf(streamId: string): Promise<StreamViewer[]> {
    const rows = await this.db
      .select({ viewer: streamViewers, user: hostColumns })
      .from(streamViewers)
      .innerJoin(users, eq(users.id, streamViewers.userId))
      .where(eq(streamViewers.streamId, streamId))
      .orderBy(desc(streamViewers.joinedAt))
      .limit(200);
    return rows.map((r) => ({
      user: toPublicUser(r.user),
      joinedAt: r.viewer.joinedAt.toISOString(),
      leftAt: iso(r.viewer.leftAt),
    }));
  }

  /** Distinct viewers ever present, signed in or anonymous (the host never is). */
  async uniqueViewers(streamId: string): Promise<number> {
    const [row] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(streamViewers)
      .where(eq(streamViewers.streamId, streamId));
    return row?.n ?? 0;
  }

  async isPresent(streamId: string, viewer: Viewer, handle: PresenceHandle): Promise<boolean> {
    const [row] = await this.db
      .select({ one: sql`1` })
      .from(streamPresence)
      .where(
        and(
          eq(streamPresence.streamId, streamId),
          eq(streamPresence.viewer, keyOf(viewer)),
          eq(streamPresence.handle, handle),
        ),
      )
      .limit(1);
    return row !== undefined;
  }

  /**
   * Takes a user out of a stream at once, whatever holds them there (a ban): the caller tells
   * the transports to close their rooms and media. Call it after the ban is stored, so a join
   * that slips in meanwhile either sees the ban or is removed here.
   */
  async expel(streamId: string, actor: Actor): Promise<void> {
    await this.remove(streamId, actor, undefined);
  }

  /**
   * `userId` no longer follows `hostId`: they leave every live private stream of that host at
   * once, whatever held them there, and `access_revoked` tells the transports to close their
   * rooms and media. Call it after the follow is gone, so no new join can slip in meanwhile.
   */
  async revokeFollower(hostId: string, userId: string): Promise<void> {
    const streams = await this.db
      .select({ streamId: liveStreams.streamId })
      .from(liveStreams)
      .where(
        and(
          eq(liveStreams.hostId, hostId),
          eq(liveStreams.status, 'live'),
          eq(liveStreams.isPrivate, true),
        ),
      );
    if (streams.length === 0) return;
    const [user] = await this.db
      .select({ username: users.username })
      .from(users)
      .where(eq(users.id, userId))
      .limit(1);
    if (!user) return;
    for (const { streamId } of streams) {
      await this.remove(streamId, { userId, username: user.username }, undefined);
      this.events.emit('access_revoked', { streamId, userId });
    }
  }

  /** Ends the REST views whose lease ran out; returns how many users left because of it. */
  async expireLeases(): Promise<number> {
    const due = await this.db
      .selectDistinct({
        streamId: streamPresence.streamId,
        userId: users.id,
        username: users.username,
      })
      .from(streamPresence)
      .innerJoin(users, eq(users.id, streamPresence.userId))
      .where(and(isNotNull(streamPresence.expiresAt), lte(streamPresence.expiresAt, sql`now()`)))
      .limit(sweepBatch);
    let left = 0;
    for (const { streamId, userId, username } of due) {
      // Checked again under the lock: a renewal may have come in since the read.
      const lapsed = and(
        eq(streamPresence.handle, presenceHandle.rest),
        lte(streamPresence.expiresAt, sql`now()`),
      );
      if (await this.remove(streamId, { userId, username }, lapsed)) left += 1;
    }
    return left;
  }

  /**
   * Expires leases every `everyMs` until the returned function is called. Every node may sweep:
   * each removal re-checks the lease under the stream's lock, so sweeps never double-count.
   */
  sweepLeases(everyMs: number, onError: (error: unknown) => void): () => void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      this.expireLeases()
        .catch(onError)
        .finally(() => (running = false));
    }, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Everyone leaves a stream that ends; to be called in the transaction that ends it. */
  async endAll(tx: Db, streamId: string): Promise<void> {
    await tx.delete(streamPresence).where(eq(streamPresence.streamId, streamId));
    await tx
      .update(streamViewers)
      .set({ leftAt: sql`now()` })
      .where(and(eq(streamViewers.streamId, streamId), isNull(streamViewers.leftAt)));
  }

  /**
   * After this node restarts, the connections it held are gone: their handles are dropped and
   * the counts of their streams recomputed. Leases are not tied to a node and run their course.
   */
  async forgetNode(): Promise<void> {
    const stale = await this.db
      .delete(streamPresence)
      .where(and(eq(streamPresence.node, this.options.nodeId), isNull(streamPresence.expiresAt)))
      .returning({ streamId: streamPresence.streamId });
    for (const streamId of new Set(stale.map((s) => s.streamId))) {
      await this.db.transaction(async (tx) => {
        await lockStream(tx, streamId);
        await tx.execute(sql`update ${streamViewers} set left_at = now()
          where ${streamViewers.streamId} = ${streamId} and ${streamViewers.leftAt} is null
          and not exists (select 1 from ${streamPresence} p where p.stream_id = ${streamViewers.streamId} and p.viewer = ${streamViewers.viewer})`);
        await this.recount(tx, streamId);
      });
    }
  }

  private async add(
    streamId: string,
    viewer: Viewer,
    handle: PresenceHandle,
    leaseSeconds: number | null,
  ): Promise<JoinOutcome> {
    const userId = userIdOf(viewer);
    const key = keyOf(viewer);
    const change = await this.db.transaction(async (tx) => {
      // An anonymous watcher sees public streams only: a private one is "not found".
      const stream = await lockVisibleStream(tx, streamId, userId);
      if (stream.status !== 'live') throw AppError.streamEnded();
      if (stream.hostId === userId) return { stream, changed: false };
      // Read under the stream's lock, which a ban's `expel` takes after storing it: a join
      // either sees the ban or is undone by the expel.
      if (userId && (await isBanned(tx, stream.hostId, userId))) throw AppError.banned();
      const before = await this.handlesOf(tx, streamId, key);
      const expiresAt =
        leaseSeconds === null ? null : sql`now() + make_interval(secs => ${leaseSeconds})`;
      await tx
        .insert(streamPresence)
        .values({ streamId, ...columnsOf(viewer), handle, node: this.options.nodeId, expiresAt })
        .onConflictDoUpdate({
          target: [streamPresence.streamId, streamPresence.viewer, streamPresence.handle],
          // Entering again through the same handle renews a lease and changes nothing else.
          set: { expiresAt },
        });
      if (before > 0) return { stream, changed: false };
      await tx
        .insert(streamViewers)
        .values({ streamId, ...columnsOf(viewer) })
        .onConflictDoUpdate({
          target: [streamViewers.streamId, streamViewers.viewer],
          set: { joinedAt: sql`now()`, leftAt: null },
        });
      return { stream: await this.adjustCount(tx, streamId, 1), changed: true };
    });
    if (change.changed) this.report(change.stream, viewer, 'viewer_joined');
    return {
      stream: toStream(change.stream, await readHost(this.db, change.stream.hostId)),
      viewerCount: change.stream.viewerCount,
      isHost: change.stream.hostId === userId,
    };
  }

  /** Removes the viewer's handles that match `which` (all when undefined); true when they left. */
  private async remove(streamId: string, viewer: Viewer, which: SQL | undefined): Promise<boolean> {
    const key = keyOf(viewer);
    const left = await this.db.transaction(async (tx): Promise<StreamRow | null> => {
      const stream = await lockStream(tx, streamId);
      if (!stream) return null;
      const removed = await tx
        .delete(streamPresence)
        .where(and(eq(streamPresence.streamId, streamId), eq(streamPresence.viewer, key), which))
        .returning({ handle: streamPresence.handle });
      if (removed.length === 0) return null;
      if ((await this.handlesOf(tx, streamId, key)) > 0) return null;
      await tx
        .update(streamViewers)
        .set({ leftAt: sql`now()` })
        .where(and(eq(streamViewers.streamId, streamId), eq(streamViewers.viewer, key)));
      return this.adjustCount(tx, streamId, -1);
    });
    if (left) this.report(left, viewer, 'viewer_left');
    return left !== null;
  }

  private async handlesOf(tx: Db, streamId: string, key: string): Promise<number> {
    const [row] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(streamPresence)
      .where(and(eq(streamPresence.streamId, streamId), eq(streamPresence.viewer, key)));
    return row?.n ?? 0;
  }

  /**
   * One viewer came (their first handle) or went (their last): the count moves by one. Exact
   * because callers hold the stream's row lock, and cheap in a room of thousands, where counting
   * the presence rows on every join made each join slower than the last.
   */
  private adjustCount(tx: Db, streamId: string, delta: 1 | -1): Promise<StreamRow> {
    return this.setCount(tx, streamId, sql`greatest(${liveStreams.viewerCount} + ${delta}, 0)`);
  }

  /** Sets the count from presence itself, after changes in bulk; exact under the row lock. */
  private recount(tx: Db, streamId: string): Promise<StreamRow> {
    const present = sql`(select count(distinct ${streamPresence.viewer})::int from ${streamPresence} where ${streamPresence.streamId} = ${streamId})`;
    return this.setCount(tx, streamId, present);
  }

  private async setCount(tx: Db, streamId: string, count: SQL): Promise<StreamRow> {
    const [row] = await tx
      .update(liveStreams)
      .set({
        viewerCount: count,
        peakViewers: sql`greatest(${liveStreams.peakViewers}, ${count})`,
        updatedAt: sql`now()`,
      })
      .where(eq(liveStreams.streamId, streamId))
      .returning();
    if (!row) throw AppError.notFound();
    return row;
  }

  private report(stream: StreamRow, viewer: Viewer, kind: 'viewer_joined' | 'viewer_left'): void {
    // The room hears who came and went among signed-in users; anonymous watchers are a count.
    if (isSignedIn(viewer))
      this.events.emit(kind, {
        streamId: stream.streamId,
        userId: viewer.userId,
        username: viewer.username,
      });
    this.events.emit('viewer_count', {
      streamId: stream.streamId,
      viewerCount: stream.viewerCount,
    });
  }
}
