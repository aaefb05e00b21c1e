import { and, eq, inArray, isNotNull, ne, notInArray, sql } from 'drizzle-orm';
import type { Db } from '../db/database';
import { clusterNodes, liveStreams } from '../db/schema';
import { AppError } from './errors';

/** A publishing session as the database records it: which node holds it. */
export interface ClaimedPublisher {
  node: string;
  sessionId: string;
}

export interface ClaimOptions {
  /** The caller's own earlier session of this stream, which it may always replace. */
  replaces?: string | undefined;
}

/**
 * Who publishes each live stream, deployment-wide: a publishing session is claimed on the stream
 * before it is negotiated, and released when it ends. One claim at a time; a new publisher takes
 * the stream over only from a claimed one that has gone quiet (it sent nothing for 2 s, as its node
 * reported) or whose node is gone (`nodeAlive`), and is refused with `conflict` otherwise, as a
 * second publisher always was on one node (issue 17).
 */
export class PublisherClaims {
  constructor(
    private readonly db: Db,
    /** This process's node id. */
    private readonly nodeId: string,
    /** Whether a node of the deployment still runs (its heartbeat is recent). */
    private readonly nodeAlive: (nodeId: string) => boolean = () => true,
  ) {}

  /**
   * Claims `streamId` for `sessionId` on this node. Returns the publisher it takes over from, if
   * any (its node is to close it); throws `conflict` while another publisher holds the stream and
   * `stream_ended` when it is not live.
   */
  async claim(
    streamId: string,
    sessionId: string,
    { replaces }: ClaimOptions = {},
  ): Promise<ClaimedPublisher | undefined> {
    // Read first, outside the lock, so the registry's answer is at hand inside it.
    const [seen] = await this.db
      .select({ node: liveStreams.mediaNode, session: liveStreams.publisherSession })
      .from(liveStreams)
      .where(eq(liveStreams.streamId, streamId))
      .limit(1);
    const deadNode =
      seen?.session && seen.node !== this.nodeId && !this.nodeAlive(seen.node)
        ? seen.node
        : undefined;
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .select({
          status: liveStreams.status,
          node: liveStreams.mediaNode,
          session: liveStreams.publisherSession,
          quietSince: liveStreams.publisherQuietSince,
        })
        .from(liveStreams)
        .where(eq(liveStreams.streamId, streamId))
        .for('update');
      if (!row) throw AppError.notFound();
      if (row.status !== 'live') throw AppError.streamEnded();
      const holder = row.session ? { node: row.node, sessionId: row.session } : undefined;
      const free =
        !holder ||
        holder.sessionId === replaces ||
        row.quietSince !== null ||
        holder.node === deadNode;
      if (!free) throw new AppError('conflict', 'This stream already has a publisher');
      await tx
        .update(liveStreams)
        .set({ mediaNode: this.nodeId, publisherSession: sessionId, publisherQuietSince: null })
        .where(eq(liveStreams.streamId, streamId));
      return holder;
    });
  }

  /** Ends `sessionId`'s claim, if it still holds its stream; true if it did. */
  async release(streamId: string, sessionId: string): Promise<boolean> {
    const released = await this.db
      .update(liveStreams)
      .set({ publisherSession: null, publisherQuietSince: null })
      .where(and(eq(liveStreams.streamId, streamId), eq(liveStreams.publisherSession, sessionId)))
      .returning({ streamId: liveStreams.streamId });
    return released.length > 0;
  }

  /** Records that the claimed publisher went quiet (`true`) or sends again (`false`). */
  async setQuiet(streamId: string, sessionId: string, quiet: boolean): Promise<void> {
    await this.db
      .update(liveStreams)
      .set({ publisherQuietSince: quiet ? sql`now()` : null })
      .where(and(eq(liveStreams.streamId, streamId), eq(liveStreams.publisherSession, sessionId)));
  }

  /** Which of the publishing sessions held here no longer hold their stream's claim. */
  async superseded(held: { streamId: string; sessionId: string }[]): Promise<string[]> {
    if (held.length === 0) return [];
    const rows = await this.db
      .select({ session: liveStreams.publisherSession, status: liveStreams.status })
      .from(liveStreams)
      .where(
        inArray(
          liveStreams.streamId,
          held.map((h) => h.streamId),
        ),
      );
    const claimed = new Set(
      rows.flatMap((r) => (r.status === 'live' && r.session ? [r.session] : [])),
    );
    return held.filter((h) => !claimed.has(h.sessionId)).map((h) => h.sessionId);
  }

  /**
   * Releases this node's claims for sessions it does not hold (their end was never recorded, e.g.
   * the database was away then) and returns their streams. `held` also names sessions being
   * negotiated, whose claim comes before the media knows them.
   */
  async releaseUnheld(held: string[]): Promise<string[]> {
    const released = await this.db
      .update(liveStreams)
      .set({ publisherSession: null, publisherQuietSince: null })
      .where(
        and(
          eq(liveStreams.status, 'live'),
          eq(liveStreams.mediaNode, this.nodeId),
          isNotNull(liveStreams.publisherSession),
          held.length > 0 ? notInArray(liveStreams.publisherSession, held) : undefined,
        ),
      )
      .returning({ streamId: liveStreams.streamId });
    return released.map((r) => r.streamId);
  }

  /**
   * Takes over the live streams of a node that is gone: their claims are released and this node
   * answers for them (their grace period, then their end). Returns their ids; one node gets each.
   */
  async adoptStreamsOf(goneNode: string): Promise<string[]> {
    return this.adopt(eq(liveStreams.mediaNode, goneNode));
  }

  /**
   * As `adoptStreamsOf`, for the streams of every other node without a heartbeat in the last
   * `silentSeconds` (its departure was missed, e.g. no node was running to see it).
   */
  async adoptUnattended(silentSeconds: number): Promise<string[]> {
    const heard = this.db
      .select({ nodeId: clusterNodes.nodeId })
      .from(clusterNodes)
      .where(sql`${clusterNodes.heartbeatAt} > now() - make_interval(secs => ${silentSeconds})`);
    return this.adopt(
      and(ne(liveStreams.mediaNode, this.nodeId), notInArray(liveStreams.mediaNode, heard)),
    );
  }

  private async adopt(whose: ReturnType<typeof and>): Promise<string[]> {
    const adopted = await this.db
      .update(liveStreams)
      .set({ mediaNode: this.nodeId, publisherSession: null, publisherQuietSince: null })
      .where(and(eq(liveStreams.status, 'live'), whose))
      .returning({ streamId: liveStreams.streamId });
    return adopted.map((r) => r.streamId);
  }
}
