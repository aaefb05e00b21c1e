import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type {
  BroadcastMediaState,
  StartStreamBody,
  Stream,
  StreamDetails,
  StreamSummary,
} from '@onair/protocol';
import { and, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { RecordingService } from './recordings';
import type { Db } from '../db/database';
import { liveComments, liveStreams, users } from '../db/schema';
import { allowedOrThrow, StreamAccess, visibleTo } from './access';
import { AppError } from './errors';
import type { Audience, EndReason, LiveEvents } from './events';
import type { PresenceService } from './presence';
import { isUniqueViolation } from './sql-errors';
import { hostColumns, readHost, toStream, type HostRow, type StreamRow } from './stream-rows';
import type { UserService } from './users';

export { toStream } from './stream-rows';

/** How long the public list of live streams may be served from memory. */
const activeCacheMs = 1000;

const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex');

/** Streams and their lifecycle; who watches them is the presence service's. */
export class StreamService {
  private publicActive: { at: number; streams: Promise<Stream[]> } | undefined;
  /** Who may do what with a stream: every transport asks it rather than deciding itself. */
  readonly access: StreamAccess;

  constructor(
    private readonly db: Db,
    private readonly events: LiveEvents,
    private readonly userService: UserService,
    private readonly presence: PresenceService,
    /** This process's node id, recorded on the streams whose media it holds. */
    private readonly nodeId: string,
    private readonly recordings: RecordingService,
  ) {
    this.access = new StreamAccess(db);
  }

  /**
   * Starts a stream. A host has one live stream at a time: while one is live, `already_live`
   * carries its id (the database's unique index settles two starts racing each other).
   */
  async start(
    hostId: string,
    body: StartStreamBody,
  ): Promise<{ stream: Stream; streamKey: string }> {
    const streamKey = randomBytes(24).toString('base64url');
    const row = await this.insertLive(hostId, body, streamKey);
    await this.recordings.create(row.streamId, body.record);
    this.publicActive = undefined;
    const stream = toStream(row, await this.host(hostId));
    this.events.emit('stream_started', stream, await this.audience(row));
    return { stream, streamKey };
  }

  private async insertLive(
    hostId: string,
    body: StartStreamBody,
    streamKey: string,
  ): Promise<StreamRow> {
    // Twice at most: the live stream that refused us may end before we read its id.
    for (let attempt = 0; ; attempt += 1) {
      try {
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
        return row;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        const live = await this.liveStreamOf(hostId);
        if (live) throw AppError.alreadyLive(live);
        if (attempt > 0) throw error;
      }
    }
  }

  /** The id of the host's live stream, if they have one. */
  async liveStreamOf(hostId: string): Promise<string | undefined> {
    const [live] = await this.db
      .select({ streamId: liveStreams.streamId })
      .from(liveStreams)
      .where(and(eq(liveStreams.hostId, hostId), eq(liveStreams.status, 'live')))
      .limit(1);
    return live?.streamId;
  }

  /** Ends a stream on its host's request: 403 for anyone else, 409 when it has already ended. */
  async end(streamId: string, userId: string): Promise<Stream> {
    allowedOrThrow(await this.access.mayHost(streamId, userId), {
      notHost: 'Only the host can end this stream',
    });
    const stream = await this.finish(streamId, 'host');
    if (!stream) throw AppError.streamEnded();
    return stream;
  }

  /**
   * Ends a live stream for a reason other than its host's request. Returns null when it had
   * already ended (so a race between the host and a timer ends it once).
   */
  async finish(
    streamId: string,
    reason: EndReason,
    { onlyIfMediaHere = false }: { onlyIfMediaHere?: boolean } = {},
  ): Promise<Stream | null> {
    const result = await this.db.transaction(async (tx) => {
      const [locked] = await tx
        .select()
        .from(liveStreams)
        .where(eq(liveStreams.streamId, streamId))
        .for('update');
      if (!locked || locked.status !== 'live') return null;
      // Checked under the row's lock: a publisher claiming the stream on another node wins.
      if (onlyIfMediaHere && locked.mediaNode !== this.nodeId) return null;
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
      await this.presence.endAll(tx, streamId);
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

  /** `viewers` names who watched to the host only; anyone else gets the list empty. */
  async details(streamId: string, viewerId: string | undefined): Promise<StreamDetails> {
    const row = await this.visibleRow(streamId, viewerId);
    const viewers = row.hostId === viewerId ? await this.presence.viewersOf(streamId) : [];
    return {
      ...toStream(row, await this.host(row.hostId)),
      viewers,
      ...(await this.recordings.view(row, viewerId)),
    };
  }

  /**
   * The stream if `viewerId` may see it (`StreamAccess.maySee`): a private stream they may not
   * see is `followers_only`, naming its owner and nothing else.
   */
  async visibleRow(streamId: string, viewerId: string | undefined): Promise<StreamRow> {
    return allowedOrThrow(await this.access.maySee(streamId, viewerId));
  }

  /** The stream whoever may see it: for the server's own bookkeeping, never shown as it is. */
  async anyRow(streamId: string): Promise<StreamRow | undefined> {
    const [row] = await this.db
      .select()
      .from(liveStreams)
      .where(eq(liveStreams.streamId, streamId))
      .limit(1);
    return row;
  }

  async getStream(streamId: string, viewerId: string | undefined): Promise<Stream> {
    const row = await this.visibleRow(streamId, viewerId);
    return toStream(row, await this.host(row.hostId));
  }

  /**
   * The host announces their camera and microphone. Stored on the stream, so every node and
   * everyone who joins later sees the same; the room is told through `media_state`.
   */
  async setMediaState(
    streamId: string,
    userId: string,
    state: BroadcastMediaState,
  ): Promise<BroadcastMediaState> {
    allowedOrThrow(await this.access.mayHost(streamId, userId), {
      notHost: 'Only the host can change this',
    });
    const [updated] = await this.db
      .update(liveStreams)
      .set({ camera: state.camera, microphone: state.microphone, updatedAt: sql`now()` })
      .where(and(eq(liveStreams.streamId, streamId), eq(liveStreams.status, 'live')))
      .returning({ camera: liveStreams.camera, microphone: liveStreams.microphone });
    if (!updated) throw AppError.streamEnded();
    this.events.emit('media_state', { streamId, ...updated });
    return updated;
  }

  /**
   * The host's end screen: how long, how many at most, how many in all (signed in or not) and
   * how much chat. Only the host may see it; it works while live and after the end.
   */
  async summary(streamId: string, userId: string): Promise<StreamSummary> {
    allowedOrThrow(await this.access.mayHost(streamId, userId), {
      notHost: 'Only the host can see this summary',
    });
    const [[comments], [current], uniqueViewers] = await Promise.all([
      this.db
        .select({ n: sql<number>`count(*)::int` })
        .from(liveComments)
        .where(eq(liveComments.streamId, streamId)),
      // Read again for the latest peak, and timed by the database's clock, as `finish` does.
      this.db
        .select({
          status: liveStreams.status,
          peakViewers: liveStreams.peakViewers,
          duration: sql<number>`case when ${liveStreams.status} = 'live'
            then greatest(0, floor(extract(epoch from now() - ${liveStreams.startedAt})))::int
            else ${liveStreams.duration} end`,
        })
        .from(liveStreams)
        .where(eq(liveStreams.streamId, streamId)),
      this.presence.uniqueViewers(streamId),
    ]);
    if (!current) throw AppError.notFound();
    return {
      streamId,
      status: current.status,
      duration: current.duration,
      peakViewers: current.peakViewers,
      uniqueViewers,
      commentCount: comments?.n ?? 0,
    };
  }

  /**
   * A host's streams for their profile page, as `viewerId` may see them: the one live now, and
   * the ended ones newest first (at most 50).
   */
  async ofProfile(
    hostId: string,
    viewerId: string | undefined,
  ): Promise<{ liveStream: Stream | null; pastStreams: Stream[] }> {
    const read = (status: 'live' | 'ended', limit: number) =>
      this.db
        .select({ stream: liveStreams, host: hostColumns })
        .from(liveStreams)
        .innerJoin(users, eq(users.id, liveStreams.hostId))
        .where(
          and(eq(liveStreams.hostId, hostId), eq(liveStreams.status, status), visibleTo(viewerId)),
        )
        .orderBy(desc(liveStreams.startedAt))
        .limit(limit);
    const [live, past] = await Promise.all([read('live', 1), read('ended', 50)]);
    const toStreams = (rows: { stream: StreamRow; host: HostRow }[]) =>
      rows.map((r) => toStream(r.stream, r.host));
    return { liveStream: toStreams(live)[0] ?? null, pastStreams: toStreams(past) };
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
   * Records that this node now holds the live stream's publisher, wherever the stream was
   * started: the other nodes' grace timers for it stand down (see `finish`'s `onlyIfMediaHere`),
   * and it is this node's to recover after a restart.
   */
  async holdMedia(streamId: string): Promise<void> {
    await this.db
      .update(liveStreams)
      .set({ mediaNode: this.nodeId })
      .where(and(eq(liveStreams.streamId, streamId), eq(liveStreams.status, 'live')));
  }

  /** Which of `streamIds` are no longer live (ended, or unknown to the database). */
  async notLive(streamIds: string[]): Promise<string[]> {
    if (streamIds.length === 0) return [];
    const live = await this.db
      .select({ streamId: liveStreams.streamId })
      .from(liveStreams)
      .where(and(inArray(liveStreams.streamId, streamIds), eq(liveStreams.status, 'live')));
    const stillLive = new Set(live.map((row) => row.streamId));
    return streamIds.filter((id) => !stillLive.has(id));
  }

  /**
   * After this node restarts nothing it held is real any more: its presence handles are dropped
   * and the streams whose media it held are returned, for the caller to end or to wait for.
   */
  async recoverNode(): Promise<string[]> {
    await this.presence.forgetNode();
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

  private host(hostId: string): Promise<HostRow> {
    return readHost(this.db, hostId);
  }
}
