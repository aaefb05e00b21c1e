import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { StartStreamBody, Stream, StreamDetails, StreamViewer } from '@onair/protocol';
import { and, desc, eq, isNull, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/database';
import { follows, liveStreams, streamPresence, streamViewers, users } from '../db/schema';
import { AppError } from './errors';
import type { Audience, EndReason, LiveEvents } from './events';
import { toPublicUser, type UserService } from './users';

type StreamRow = typeof liveStreams.$inferSelect;
type HostRow = Pick<typeof users.$inferSelect, 'id' | 'username' | 'displayName' | 'avatarUrl'>;

const hostColumns = {
  id: users.id,
  username: users.username,
  displayName: users.displayName,
  avatarUrl: users.avatarUrl,
};

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toStream(row: StreamRow, host: HostRow): Stream {
  return {
    streamId: row.streamId,
    title: row.title,
    description: row.description,
    status: row.status,
    isPrivate: row.isPrivate,
    tags: row.tags,
    thumbnail: row.thumbnail,
    host: toPublicUser(host),
    viewerCount: row.viewerCount,
    peakViewers: row.peakViewers,
    duration: row.duration,
    startedAt: row.startedAt.toISOString(),
    endedAt: iso(row.endedAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** SQL that holds when `viewerId` may see the stream: it is public, theirs, or its host is followed. */
function visibleTo(viewerId: string | undefined): SQL {
  if (!viewerId) return sql`${liveStreams.isPrivate} = false`;
  return sql`(${liveStreams.isPrivate} = false or ${liveStreams.hostId} = ${viewerId} or exists (
    select 1 from ${follows} where ${follows.followerId} = ${viewerId} and ${follows.followeeId} = ${liveStreams.hostId}))`;
}

/** How long the public list of live streams may be served from memory. */
const activeCacheMs = 1000;

const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex');

/** Who acts, as the verified token says. */
export interface Actor {
  userId: string;
  username: string;
}

export interface JoinOutcome {
  stream: Stream;
  viewerCount: number;
  /** True for the host, who is in the room but never counted. */
  isHost: boolean;
}

/** Streams, who watches them, and their lifecycle. Counts are written only under the stream's row lock. */
export class StreamService {
  private publicActive: { at: number; streams: Promise<Stream[]> } | undefined;

  constructor(
    private readonly db: Db,
    private readonly events: LiveEvents,
    private readonly userService: UserService,
    /** This process's node id, recorded on the streams whose media it holds. */
    private readonly nodeId: string,
  ) {}

  async start(
    hostId: string,
    body: StartStreamBody,
  ): Promise<{ stream: Stream; streamKey: string }> {
    const streamKey = randomBytes(24).toString('base64url');
    const [row] = await this.db
      .insert(liveStreams)
      .values({
        hostId,
        title: body.title,
        description: body.description,
        isPrivate: body.isPrivate,
        tags: body.tags,
        thumbnail: body.thumbnail ?? null,
        streamKeyHash: hashKey(streamKey),
        mediaNode: this.nodeId,
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    this.publicActive = undefined;
    const stream = toStream(row, await this.host(hostId));
    this.events.emit('stream_started', stream, await this.audience(row));
    return { stream, streamKey };
  }

  /** Ends a stream on its host's request: 403 for anyone else, 409 when it has already ended. */
  async end(streamId: string, userId: string): Promise<Stream> {
    const row = await this.visibleRow(streamId, userId);
    if (row.hostId !== userId) throw AppError.forbidden('Only the host can end this stream');
    const stream = await this.finish(streamId, 'host');
    if (!stream) throw AppError.streamEnded();
    return stream;
  }

  /**
   * Ends a live stream for a reason other than its host's request. Returns null when it had
   * already ended (so a race between the host and a timer ends it once).
   */
  async finish(streamId: string, reason: EndReason): Promise<Stream | null> {
    const result = await this.db.transaction(async (tx) => {
      const [locked] = await tx
        .select()
        .from(liveStreams)
        .where(eq(liveStreams.streamId, streamId))
        .for('update');
      if (!locked || locked.status !== 'live') return null;
      const [row] = await tx
        .update(liveStreams)
        .set({
          status: 'ended',
          endedAt: sql`now()`,
          duration: sql`greatest(0, floor(extract(epoch from now() - ${liveStreams.startedAt})))::int`,
          viewerCount: 0,
          updatedAt: sql`now()`,
        })
        .where(eq(liveStreams.streamId, streamId))
        .returning();
      await tx.delete(streamPresence).where(eq(streamPresence.streamId, streamId));
      await tx
        .update(streamViewers)
        .set({ leftAt: sql`now()` })
        .where(and(eq(streamViewers.streamId, streamId), isNull(streamViewers.leftAt)));
      return row ?? null;
    });
    if (!result) return null;
    this.publicActive = undefined;
    const stream = toStream(result, await this.host(result.hostId));
    this.events.emit('stream_ended', stream, await this.audience(result), reason);
    return stream;
  }

  /**
   * Live streams `viewerId` may see, newest first. The public part is the same for everyone and
   * is what a busy list page asks for most, so it is kept for up to a second (and dropped at once
   * when a stream starts or ends here); the private streams a user may see are read each time.
   */
  async active(viewerId: string | undefined): Promise<Stream[]> {
    const now = Date.now();
    if (!this.publicActive || now - this.publicActive.at > activeCacheMs) {
      this.publicActive = {
        at: now,
        streams: this.readActive(sql`${liveStreams.isPrivate} = false`),
      };
    }
    const publicStreams = await this.publicActive.streams.catch((error: unknown) => {
      this.publicActive = undefined;
      throw error;
    });
    if (!viewerId) return publicStreams;
    const privateStreams = await this.readActive(
      sql`${liveStreams.isPrivate} = true and ${visibleTo(viewerId)}`,
    );
    if (privateStreams.length === 0) return publicStreams;
    return [...publicStreams, ...privateStreams].sort((a, b) =>
      b.startedAt.localeCompare(a.startedAt),
    );
  }

  private async readActive(condition: SQL): Promise<Stream[]> {
    const rows = await this.db
      .select({ stream: liveStreams, host: hostColumns })
      .from(liveStreams)
      .innerJoin(users, eq(users.id, liveStreams.hostId))
      .where(and(eq(liveStreams.status, 'live'), condition))
      .orderBy(desc(liveStreams.startedAt))
      .limit(500);
    return rows.map((r) => toStream(r.stream, r.host));
  }

  async byUser(hostId: string, viewerId: string | undefined): Promise<Stream[]> {
    await this.userService.get(hostId);
    const rows = await this.db
      .select({ stream: liveStreams, host: hostColumns })
      .from(liveStreams)
      .innerJoin(users, eq(users.id, liveStreams.hostId))
      .where(and(eq(liveStreams.hostId, hostId), visibleTo(viewerId)))
      .orderBy(desc(liveStreams.startedAt))
      .limit(100);
    return rows.map((r) => toStream(r.stream, r.host));
  }

  async details(streamId: string, viewerId: string | undefined): Promise<StreamDetails> {
    const row = await this.visibleRow(streamId, viewerId);
    const viewerRows = await this.db
      .select({ viewer: streamViewers, user: hostColumns })
      .from(streamViewers)
      .innerJoin(users, eq(users.id, streamViewers.userId))
      .where(eq(streamViewers.streamId, streamId))
      .orderBy(desc(streamViewers.joinedAt))
      .limit(200);
    const viewers: StreamViewer[] = viewerRows.map((r) => ({
      user: toPublicUser(r.user),
      joinedAt: r.viewer.joinedAt.toISOString(),
      leftAt: iso(r.viewer.leftAt),
    }));
    return { ...toStream(row, await this.host(row.hostId)), viewers };
  }

  /** The stream if `viewerId` may see it; a private stream they may not see is "not found". */
  async visibleRow(streamId: string, viewerId: string | undefined): Promise<StreamRow> {
    const [row] = await this.db
      .select()
      .from(liveStreams)
      .where(and(eq(liveStreams.streamId, streamId), visibleTo(viewerId)))
      .limit(1);
    if (!row) throw AppError.notFound();
    return row;
  }

  /** The stream if it is live and `viewerId` may see it: 404 when hidden or unknown, 409 when ended. */
  async liveRow(streamId: string, viewerId: string): Promise<StreamRow> {
    const row = await this.visibleRow(streamId, viewerId);
    if (row.status !== 'live') throw AppError.streamEnded();
    return row;
  }

  async getStream(streamId: string, viewerId: string | undefined): Promise<Stream> {
    const row = await this.visibleRow(streamId, viewerId);
    return toStream(row, await this.host(row.hostId));
  }

  /** Checks a WHIP stream key against the one issued for this stream, in constant time. */
  async verifyStreamKey(streamId: string, key: string): Promise<StreamRow | null> {
    const [row] = await this.db
      .select()
      .from(liveStreams)
      .where(eq(liveStreams.streamId, streamId))
      .limit(1);
    if (!row?.streamKeyHash) return null;
    const a = Buffer.from(row.streamKeyHash, 'hex');
    const b = Buffer.from(hashKey(key), 'hex');
    return a.length === b.length && timingSafeEqual(a, b) ? row : null;
  }

  /**
   * Records that `userId` is present through `handle` (`rest`, `socket:<id>`, `whep:<id>`).
   * The host may join (to be in the room) but is never counted.
   */
  async join(streamId: string, actor: Actor, handle: string): Promise<JoinOutcome> {
    const { userId } = actor;
    const change = await this.db.transaction(async (tx) => {
      const stream = await this.lockVisible(tx, streamId, userId);
      if (stream.status !== 'live') throw AppError.streamEnded();
      if (stream.hostId === userId) return { stream, changed: false };
      const inserted = await tx
        .insert(streamPresence)
        .values({ streamId, userId, handle, node: this.nodeId })
        .onConflictDoNothing()
        .returning({ handle: streamPresence.handle });
      const [others] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(streamPresence)
        .where(and(eq(streamPresence.streamId, streamId), eq(streamPresence.userId, userId)));
      const changed = inserted.length === 1 && others?.n === 1;
      if (!changed) return { stream, changed };
      await tx
        .insert(streamViewers)
        .values({ streamId, userId })
        .onConflictDoUpdate({
          target: [streamViewers.streamId, streamViewers.userId],
          set: { joinedAt: sql`now()`, leftAt: null },
        });
      return { stream: await this.recount(tx, streamId), changed };
    });
    if (change.changed) this.report(change.stream, actor, 'viewer_joined');
    return {
      stream: toStream(change.stream, await this.host(change.stream.hostId)),
      viewerCount: change.stream.viewerCount,
      isHost: change.stream.hostId === userId,
    };
  }

  /** Drops one presence handle; the user leaves when it was their last. Unknown handles are a no-op. */
  async leave(streamId: string, actor: Actor, handle: string): Promise<void> {
    const { userId } = actor;
    const changed = await this.db.transaction(async (tx): Promise<StreamRow | null> => {
      const [stream] = await tx
        .select()
        .from(liveStreams)
        .where(eq(liveStreams.streamId, streamId))
        .for('update');
      if (!stream) return null;
      const removed = await tx
        .delete(streamPresence)
        .where(
          and(
            eq(streamPresence.streamId, streamId),
            eq(streamPresence.userId, userId),
            eq(streamPresence.handle, handle),
          ),
        )
        .returning({ handle: streamPresence.handle });
      if (removed.length === 0) return null;
      const [remaining] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(streamPresence)
        .where(and(eq(streamPresence.streamId, streamId), eq(streamPresence.userId, userId)));
      if ((remaining?.n ?? 0) > 0) return null;
      await tx
        .update(streamViewers)
        .set({ leftAt: sql`now()` })
        .where(and(eq(streamViewers.streamId, streamId), eq(streamViewers.userId, userId)));
      return this.recount(tx, streamId);
    });
    if (changed) this.report(changed, actor, 'viewer_left');
  }

  /** The user's presence handles in a stream, e.g. to check that a socket is in the room. */
  async isPresent(streamId: string, userId: string, handle: string): Promise<boolean> {
    const [row] = await this.db
      .select({ one: sql`1` })
      .from(streamPresence)
      .where(
        and(
          eq(streamPresence.streamId, streamId),
          eq(streamPresence.userId, userId),
          eq(streamPresence.handle, handle),
        ),
      )
      .limit(1);
    return row !== undefined;
  }

  /**
   * After this node restarts nothing it held is real any more: its presence handles are dropped
   * and the streams whose media it held are returned, for the caller to end or to wait for.
   */
  async recoverNode(): Promise<string[]> {
    const stale = await this.db
      .delete(streamPresence)
      .where(eq(streamPresence.node, this.nodeId))
      .returning({ streamId: streamPresence.streamId, userId: streamPresence.userId });
    for (const streamId of new Set(stale.map((s) => s.streamId))) {
      await this.db.transaction(async (tx) => {
        await tx.select().from(liveStreams).where(eq(liveStreams.streamId, streamId)).for('update');
        await tx.execute(sql`update ${streamViewers} set left_at = now()
          where ${streamViewers.streamId} = ${streamId} and ${streamViewers.leftAt} is null
          and not exists (select 1 from ${streamPresence} p where p.stream_id = ${streamViewers.streamId} and p.user_id = ${streamViewers.userId})`);
        await this.recount(tx, streamId);
      });
    }
    const orphans = await this.db
      .select({ streamId: liveStreams.streamId })
      .from(liveStreams)
      .where(and(eq(liveStreams.status, 'live'), eq(liveStreams.mediaNode, this.nodeId)));
    return orphans.map((o) => o.streamId);
  }

  async liveCount(): Promise<{ streams: number; viewers: number }> {
    const [row] = await this.db
      .select({
        streams: sql<number>`count(*)::int`,
        viewers: sql<number>`coalesce(sum(${liveStreams.viewerCount}), 0)::int`,
      })
      .from(liveStreams)
      .where(eq(liveStreams.status, 'live'));
    return { streams: row?.streams ?? 0, viewers: row?.viewers ?? 0 };
  }

  async audience(row: Pick<StreamRow, 'isPrivate' | 'hostId'>): Promise<Audience> {
    if (!row.isPrivate) return { kind: 'public' };
    return { kind: 'users', userIds: await this.userService.audienceOf(row.hostId) };
  }

  private report(stream: StreamRow, actor: Actor, kind: 'viewer_joined' | 'viewer_left'): void {
    this.events.emit(kind, {
      streamId: stream.streamId,
      userId: actor.userId,
      username: actor.username,
    });
    this.events.emit('viewer_count', {
      streamId: stream.streamId,
      viewerCount: stream.viewerCount,
    });
  }

  private async lockVisible(tx: Db, streamId: string, viewerId: string): Promise<StreamRow> {
    const [row] = await tx
      .select()
      .from(liveStreams)
      .where(and(eq(liveStreams.streamId, streamId), visibleTo(viewerId)))
      .for('update', { of: liveStreams });
    if (!row) throw AppError.notFound();
    return row;
  }

  /** Sets the count from presence itself; exact because callers hold the stream's row lock. */
  private async recount(tx: Db, streamId: string): Promise<StreamRow> {
    const [row] = await tx
      .update(liveStreams)
      .set({
        viewerCount: sql`(select count(distinct ${streamPresence.userId})::int from ${streamPresence} where ${streamPresence.streamId} = ${streamId})`,
        peakViewers: sql`greatest(${liveStreams.peakViewers}, (select count(distinct ${streamPresence.userId})::int from ${streamPresence} where ${streamPresence.streamId} = ${streamId}))`,
        updatedAt: sql`now()`,
      })
      .where(eq(liveStreams.streamId, streamId))
      .returning();
    if (!row) throw AppError.notFound();
    return row;
  }

  private async host(hostId: string): Promise<HostRow> {
    const [row] = await this.db
      .select(hostColumns)
      .from(users)
      .where(eq(users.id, hostId))
      .limit(1);
    if (!row) throw AppError.notFound('User');
    return row;
  }
}
