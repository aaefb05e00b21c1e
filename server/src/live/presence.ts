import { and, desc, eq, isNotNull, isNull, lte, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { LIMITS, type Stream, type StreamViewer, type ViewerList } from '@onair/protocol';
import type { Db } from '../db/database';
import {
  channelBans,
  follows,
  liveStreams,
  streamPresence,
  streamViewers,
  users,
} from '../db/schema';
import { denialError, judgeWatch } from './access';
import { AppError } from './errors';
import type { LiveEvents } from './events';
import { KeyedBatches, type Settlement } from './KeyedBatches';
import { hostColumns, iso, lockStream, readHost, toStream, type StreamRow } from './stream-rows';
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
  /** An HLS player, named by a hash of its address and agent (it holds no connection). */
  hls: (key: string): AnonymousViewer => ({ anonymousId: `anon:hls:${key}` }),
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
  /** The stream's slow mode as the join found it (what an anonymous watcher's chat state needs). */
  slowModeSeconds: number;
}

/**
 * Called under the stream's lock once a viewer may enter, before their presence is written;
 * false when the caller no longer wants it (its socket went), and nothing is written. What it
 * does (a socket joining the room) is done before any later ban, unfollow or end of the stream
 * is stored, so that change finds it and undoes it: nothing needs checking afterwards.
 */
export type ConfirmEntry = () => boolean;

interface Entering {
  kind: 'enter';
  viewer: Viewer;
  handle: PresenceHandle;
  leaseSeconds: number | null;
  confirm: ConfirmEntry | undefined;
  /** A signed-in viewer's earlier anonymous visits on the same device (see `enter`). */
  formerly: AnonymousViewer[];
}

interface Leaving {
  kind: 'leave';
  viewer: Viewer;
  handle: PresenceHandle;
}

type PresenceChange = Entering | Leaving;

export interface PresenceOptions {
  /** This process's node id, recorded on the handles it holds (dropped when it restarts). */
  nodeId: string;
  /** How long a REST view lasts unless renewed (`VIEW_LEASE_SECONDS`, default 60). */
  leaseSeconds: number;
}

/** Expired leases handled per sweep; the rest wait for the next one. */
const sweepBatch = 500;
/** Joins or leaves of one stream written in one transaction at most (bounds a statement's size). */
const maxBatch = 500;

/**
 * `column = any(values)` with the values as one array parameter: a batch of 500 is one value to
 * bind, not 500 (building and parsing those costs more than the statement itself).
 */
const anyOf = (column: SQL | AnyPgColumn, values: string[], type: 'text' | 'uuid'): SQL =>
  sql`${column} = any(${sql.param(values)}::${sql.raw(type)}[])`;

/** Which of the viewers `keys` hold some presence in the stream. */
async function presentAmong(tx: Db, streamId: string, keys: string[]): Promise<Set<string>> {
  const rows = await tx
    .selectDistinct({ viewer: streamPresence.viewer })
    .from(streamPresence)
    .where(and(eq(streamPresence.streamId, streamId), anyOf(streamPresence.viewer, keys, 'text')));
  return new Set(rows.map((r) => r.viewer));
}

async function followersAmong(tx: Db, hostId: string, userIds: string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await tx
    .select({ userId: follows.followerId })
    .from(follows)
    .where(and(eq(follows.followeeId, hostId), anyOf(follows.followerId, userIds, 'uuid')));
  return new Set(rows.map((r) => r.userId));
}

async function bannedAmong(tx: Db, hostId: string, userIds: string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await tx
    .select({ userId: channelBans.userId })
    .from(channelBans)
    .where(and(eq(channelBans.hostId, hostId), anyOf(channelBans.userId, userIds, 'uuid')));
  return new Set(rows.map((r) => r.userId));
}

/**
 * Who is watching which stream, for every transport alike: each calls `enter`/`leave` with its
 * own handle (or `view` for a REST lease). A viewer (a user, or an anonymous watcher) counts once
 * however many handles they hold; counts are recomputed from the rows under the stream's row
 * lock, so they are exact on one node or many. The host may hold handles (to be in the room) but
 * is never counted.
 *
 * Joins and leaves of a stream are written in batches (group commit): those that arrive while
 * one batch is being written go into the next, in one transaction, and each caller is answered
 * once its batch is committed. A room filling at thousands of joins a second then takes a few
 * dozen transactions a second, not one per join queueing for the row lock.
 */
export class PresenceService {
  constructor(
    private readonly db: Db,
    private readonly events: LiveEvents,
    private readonly options: PresenceOptions,
  ) {}

  /** Joins and leaves of one stream, written in batches (see `KeyedBatches`). */
  private readonly changes = new KeyedBatches<PresenceChange, JoinOutcome | undefined>(
    (streamId, changes) => this.write(streamId, changes),
    maxBatch,
  );

  get leaseSeconds(): number {
    return this.options.leaseSeconds;
  }

  /**
   * Holds `viewer` in the stream through a connection until `leave` (or the stream ends);
   * `confirm` is asked under the stream's lock whether the entry is still wanted. `formerly`: a
   * signed-in viewer's anonymous visits of this stream from the same device, before signing in;
   * those that are over are merged into the user, so unique viewers count the person once.
   */
  enter(
    streamId: string,
    viewer: Viewer,
    handle: ConnectionHandle,
    confirm?: ConfirmEntry,
    formerly: AnonymousViewer[] = [],
  ): Promise<JoinOutcome> {
    return this.add(streamId, viewer, handle, null, confirm, formerly);
  }

  /** A REST view: present for `leaseSeconds`; calling again renews the lease. */
  view(streamId: string, actor: Actor): Promise<JoinOutcome> {
    return this.add(streamId, actor, presenceHandle.rest, this.options.leaseSeconds);
  }

  /** An HLS player polling a live playlist: a lease as a REST view, for anyone who may play it. */
  viewHls(streamId: string, viewer: Viewer): Promise<JoinOutcome> {
    return this.add(streamId, viewer, presenceHandle.rest, this.options.leaseSeconds);
  }

  /** Drops one handle; the viewer leaves when it was their last. Unknown handles are a no-op. */
  async leave(streamId: string, viewer: Viewer, handle: PresenceHandle): Promise<void> {
    await this.changes.submit(streamId, { kind: 'leave', viewer, handle });
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

  /**
   * Who is present now (the host's viewer list): signed-in viewers by name, at most
   * `LIMITS.viewerListMax`, and how many are anonymous. Read from the shared table, so it is the
   * same whichever node asks.
   */
  async currentViewers(streamId: string): Promise<ViewerList> {
    const here = eq(streamPresence.streamId, streamId);
    const [named, [counts]] = await Promise.all([
      this.db
        .selectDistinct(hostColumns)
        .from(streamPresence)
        .innerJoin(users, eq(users.id, streamPresence.userId))
        .where(here)
        .orderBy(users.displayName, users.id)
        .limit(LIMITS.viewerListMax),
      this.db
        .select({
          signedIn: sql<number>`count(distinct ${streamPresence.userId})::int`,
          anonymous: sql<number>`count(distinct ${streamPresence.anonymousId})::int`,
        })
        .from(streamPresence)
        .where(here),
    ]);
    return {
      streamId,
      viewers: named.map(toPublicUser),
      signedInCount: counts?.signedIn ?? 0,
      anonymousCount: counts?.anonymous ?? 0,
    };
  }

  /** Distinct viewers ever present, signed in or anonymous (the host never is). */
  async uniqueViewers(streamId: string): Promise<number> {
    const [row] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(streamViewers)
      .where(eq(streamViewers.streamId, streamId));
    return row?.n ?? 0;
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
    const streams = await this.livePrivateStreamsOf(hostId);
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

  /**
   * `userId` now follows `hostId`: `access_granted` tells their open pages of the host's live
   * private streams (kept out until now) that they may join. Call it after the follow is stored,
   * so the join it prompts is admitted.
   */
  async grantFollower(hostId: string, userId: string): Promise<void> {
    for (const { streamId } of await this.livePrivateStreamsOf(hostId))
      this.events.emit('access_granted', { streamId, userId });
  }

  private livePrivateStreamsOf(hostId: string): Promise<{ streamId: string }[]> {
    return this.db
      .select({ streamId: liveStreams.streamId })
      .from(liveStreams)
      .where(
        and(
          eq(liveStreams.hostId, hostId),
          eq(liveStreams.status, 'live'),
          eq(liveStreams.isPrivate, true),
        ),
      );
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
   * The connections a node held are gone, after it restarted (this node, by default) or died
   * (another, once the registry sees it gone): their handles are dropped and the counts of their
   * streams recomputed and announced. Leases are not tied to a node and run their course. Any
   * node may do it, and several at once: a handle is deleted once.
   */
  async forgetNode(nodeId = this.options.nodeId): Promise<void> {
    const stale = await this.db
      .delete(streamPresence)
      .where(and(eq(streamPresence.node, nodeId), isNull(streamPresence.expiresAt)))
      .returning({ streamId: streamPresence.streamId });
    for (const streamId of new Set(stale.map((s) => s.streamId))) {
      const row = await this.db.transaction(async (tx) => {
        await lockStream(tx, streamId);
        await tx.execute(sql`update ${streamViewers} set left_at = now()
          where ${streamViewers.streamId} = ${streamId} and ${streamViewers.leftAt} is null
          and not exists (select 1 from ${streamPresence} p where p.stream_id = ${streamViewers.streamId} and p.viewer = ${streamViewers.viewer})`);
        return this.recount(tx, streamId);
      });
      this.events.emit('viewer_count', { streamId, viewerCount: row.viewerCount });
    }
  }

  private async add(
    streamId: string,
    viewer: Viewer,
    handle: PresenceHandle,
    leaseSeconds: number | null,
    confirm?: ConfirmEntry,
    formerly: AnonymousViewer[] = [],
  ): Promise<JoinOutcome> {
    const outcome = await this.changes.submit(streamId, {
      kind: 'enter',
      viewer,
      handle,
      leaseSeconds,
      confirm,
      formerly,
    });
    if (!outcome) throw new Error('a join was settled without its outcome');
    return outcome;
  }

  /**
   * Writes a batch of one stream: each run of consecutive joins, or of leaves, in one
   * transaction, in order, so a leave is never written before the join it follows.
   */
  private async write(
    streamId: string,
    changes: PresenceChange[],
  ): Promise<Settlement<JoinOutcome | undefined>[]> {
    const settled: Settlement<JoinOutcome | undefined>[] = [];
    // One of the two holds the current run, the other is empty.
    let entering: Entering[] = [];
    let leaving: Leaving[] = [];
    const writeRun = async () => {
      try {
        if (entering.length > 0) settled.push(...(await this.enterAll(streamId, entering)));
        else if (leaving.length > 0) {
          await this.leaveAll(streamId, leaving);
          settled.push(...leaving.map(() => ({ ok: true as const, value: undefined })));
        }
      } catch (error) {
        settled.push(...[...entering, ...leaving].map(() => ({ ok: false as const, error })));
      }
      entering = [];
      leaving = [];
    };
    for (const change of changes) {
      if (change.kind === 'enter') {
        if (leaving.length > 0) await writeRun();
        entering.push(change);
      } else {
        if (entering.length > 0) await writeRun();
        leaving.push(change);
      }
    }
    await writeRun();
    return settled;
  }

  /**
   * Joins of one stream in one transaction under its row lock: one read of who may enter (the
   * stream, followers of a private one, bans), one insert of their handles and one of the
   * viewers who were not present, and the count moved once by how many came.
   */
  private async enterAll(
    streamId: string,
    entries: Entering[],
  ): Promise<Settlement<JoinOutcome>[]> {
    const refusals = new Map<number, AppError>();
    const change = await this.db.transaction(async (tx) => {
      const stream = await lockStream(tx, streamId);
      if (!stream) {
        entries.forEach((_, i) => refusals.set(i, AppError.notFound()));
        return null;
      }
      const guests = [
        ...new Set(
          entries.flatMap((e) => {
            const userId = userIdOf(e.viewer);
            return userId && userId !== stream.hostId ? [userId] : [];
          }),
        ),
      ];
      const followers = stream.isPrivate
        ? await followersAmong(tx, stream.hostId, guests)
        : new Set<string>();
      // Read under the stream's lock, which a ban's `expel` takes after storing it: a join
      // either sees the ban or is undone by the expel.
      const banned = await bannedAmong(tx, stream.hostId, guests);
      const host = await readHost(tx, stream.hostId);
      const owner = toPublicUser(host);
      const admitted: Entering[] = [];
      entries.forEach((entry, i) => {
        const userId = userIdOf(entry.viewer);
        // The same rule as every transport's (`access.ts`), over facts read for the whole batch.
        const denial = judgeWatch({
          stream,
          userId,
          owner,
          follows: userId !== undefined && followers.has(userId),
          banned: userId !== undefined && banned.has(userId),
        });
        if (denial) refusals.set(i, denialError(denial));
        else if (entry.confirm && !entry.confirm())
          refusals.set(i, AppError.unauthorized('Disconnected'));
        else if (userId !== stream.hostId) admitted.push(entry);
      });
      if (admitted.length === 0) return { stream, host, arrived: [] as Viewer[] };
      await this.mergeFormerVisits(tx, streamId, admitted);
      // One row per viewer and handle: a statement may not upsert the same row twice.
      const rows = new Map<string, Entering>();
      for (const entry of admitted) rows.set(`${keyOf(entry.viewer)} ${entry.handle}`, entry);
      const keys = [...new Set(admitted.map((e) => keyOf(e.viewer)))];
      const present = await presentAmong(tx, streamId, keys);
      const written = [...rows.values()];
      const ids = written.map((e) => columnsOf(e.viewer));
      // Entering again through the same handle renews a lease and changes nothing else.
      await tx.execute(sql`insert into ${streamPresence}
          (stream_id, user_id, anonymous_id, handle, node, expires_at)
        select ${streamId}, u, a, h, ${this.options.nodeId},
          case when s is null then null else now() + make_interval(secs => s) end
        from unnest(${sql.param(ids.map((c) => c.userId))}::uuid[],
          ${sql.param(ids.map((c) => c.anonymousId))}::text[],
          ${sql.param(written.map((e) => e.handle))}::text[],
          ${sql.param(written.map((e) => e.leaseSeconds))}::int[]) as t(u, a, h, s)
        on conflict (stream_id, viewer, handle) do update set expires_at = excluded.expires_at`);
      const arrived = new Map<string, Viewer>();
      for (const entry of admitted) {
        const key = keyOf(entry.viewer);
        if (!present.has(key)) arrived.set(key, entry.viewer);
      }
      if (arrived.size === 0) return { stream, host, arrived: [] as Viewer[] };
      const arrivals = [...arrived.values()].map(columnsOf);
      await tx.execute(sql`insert into ${streamViewers} (stream_id, user_id, anonymous_id)
        select ${streamId}, u, a
        from unnest(${sql.param(arrivals.map((c) => c.userId))}::uuid[],
          ${sql.param(arrivals.map((c) => c.anonymousId))}::text[]) as t(u, a)
        on conflict (stream_id, viewer) do update set joined_at = now(), left_at = null`);
      return {
        stream: await this.adjustCount(tx, streamId, arrived.size),
        host,
        arrived: [...arrived.values()],
      };
    });
    if (change === null) return entries.map((_, i) => ({ ok: false, error: refusals.get(i) }));
    if (change.arrived.length > 0) this.report(change.stream, change.arrived, 'viewer_joined');
    const stream = toStream(change.stream, change.host);
    return entries.map((entry, i) => {
      const refusal = refusals.get(i);
      if (refusal) return { ok: false, error: refusal };
      return {
        ok: true,
        value: {
          stream,
          viewerCount: change.stream.viewerCount,
          isHost: change.stream.hostId === userIdOf(entry.viewer),
          slowModeSeconds: change.stream.slowModeSeconds,
        },
      };
    });
  }

  /**
   * A person who watched anonymously and then signed in on the same device is one viewer: the
   * records of their anonymous visits that are over go (the user's own record stands for them).
   * One still present stays: it is another connection, counted as such until it leaves.
   */
  private async mergeFormerVisits(tx: Db, streamId: string, admitted: Entering[]): Promise<void> {
    const former = [
      ...new Set(
        admitted.flatMap((e) => (isSignedIn(e.viewer) ? e.formerly.map((f) => f.anonymousId) : [])),
      ),
    ];
    if (former.length === 0) return;
    const present = await presentAmong(tx, streamId, former);
    const over = former.filter((key) => !present.has(key));
    if (over.length === 0) return;
    await tx
      .delete(streamViewers)
      .where(
        and(eq(streamViewers.streamId, streamId), anyOf(streamViewers.anonymousId, over, 'text')),
      );
  }

  /**
   * Leaves of one stream in one transaction under its row lock: their handles go in one
   * statement, and the viewers who held no other handle leave, the count moved once.
   */
  private async leaveAll(streamId: string, leaving: Leaving[]): Promise<void> {
    const change = await this.db.transaction(async (tx) => {
      const stream = await lockStream(tx, streamId);
      if (!stream) return null;
      const viewers = new Map(leaving.map((l) => [keyOf(l.viewer), l.viewer]));
      const pairs = new Map(leaving.map((l) => [`${keyOf(l.viewer)} ${l.handle}`, l]));
      const removed = await tx
        .delete(streamPresence)
        .where(
          and(
            eq(streamPresence.streamId, streamId),
            sql`(${streamPresence.viewer}, ${streamPresence.handle}) in (select * from unnest(
              ${sql.param([...pairs.values()].map((l) => keyOf(l.viewer)))}::text[],
              ${sql.param([...pairs.values()].map((l) => l.handle))}::text[]))`,
          ),
        )
        .returning({ viewer: streamPresence.viewer });
      if (removed.length === 0) return null;
      const keys = [...new Set(removed.map((r) => r.viewer))];
      const remaining = await presentAmong(tx, streamId, keys);
      const gone = keys.filter((key) => !remaining.has(key));
      if (gone.length === 0) return null;
      await tx
        .update(streamViewers)
        .set({ leftAt: sql`now()` })
        .where(
          and(eq(streamViewers.streamId, streamId), anyOf(streamViewers.viewer, gone, 'text')),
        );
      return {
        stream: await this.adjustCount(tx, streamId, -gone.length),
        gone: gone.flatMap((key) => viewers.get(key) ?? []),
      };
    });
    if (change) this.report(change.stream, change.gone, 'viewer_left');
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
    if (left) this.report(left, [viewer], 'viewer_left');
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
   * Viewers came (their first handle) or went (their last): the count moves by as many. Exact
   * because callers hold the stream's row lock, and cheap in a room of thousands, where counting
   * the presence rows on every join made each join slower than the last.
   */
  private adjustCount(tx: Db, streamId: string, delta: number): Promise<StreamRow> {
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

  private report(
    stream: StreamRow,
    viewers: Viewer[],
    kind: 'viewer_joined' | 'viewer_left',
  ): void {
    // The host hears who came and went among signed-in users; anonymous watchers are a count.
    for (const viewer of viewers)
      if (isSignedIn(viewer))
        this.events.emit(
          kind,
          { streamId: stream.streamId, userId: viewer.userId, username: viewer.username },
          stream.hostId,
        );
    this.events.emit('viewer_count', {
      streamId: stream.streamId,
      viewerCount: stream.viewerCount,
    });
  }
}
