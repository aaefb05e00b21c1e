import {
  LIMITS,
  type ChatRole,
  type CommentPage,
  type LiveComment,
  type PublicUser,
  type Reaction,
} from '@onair/protocol';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/database';
import { liveComments, liveStreams, users } from '../db/schema';
import { chatRoleOf } from './chat-roles';
import { AppError } from './errors';
import type { LiveEvents, SentReaction } from './events';
import type { Limit } from './rate-limits';
import type { Actor } from './presence';
import type { StreamService } from './streams';
import { toPublicUser } from './users';

type CommentRow = typeof liveComments.$inferSelect;

const toComment = (row: CommentRow, user: PublicUser, role: ChatRole): LiveComment => ({
  id: row.id,
  streamId: row.streamId,
  userId: row.userId,
  username: user.username,
  user,
  comment: row.text,
  timestamp: row.createdAt.toISOString(),
  role,
});

/**
 * Comments after `commentId` in the order chat shows them, (created_at, id). The anchor's own
 * columns are compared in SQL: a JavaScript Date would drop created_at's microseconds.
 */
const after = (commentId: string) =>
  sql`(${liveComments.createdAt}, ${liveComments.id}) > (select c.created_at, c.id from ${liveComments} c where c.id = ${commentId})`;

/** Chat and reactions of a live stream. Comments are stored before anyone is told of them. */
export class CommentService {
  constructor(
    private readonly db: Db,
    private readonly events: LiveEvents,
    private readonly streams: StreamService,
    /** Per-user budgets; each refusal is `rate_limited` and stores nothing. */
    private readonly limits: { comments: Limit; reactions: Limit },
  ) {}

  async add(streamId: string, actor: Actor, text: string): Promise<LiveComment> {
    await this.limits.comments.take(actor.userId);
    const stream = await this.streams.liveRow(streamId, actor.userId);
    const [row] = await this.db
      .insert(liveComments)
      .values({ streamId, userId: actor.userId, text })
      .returning();
    const [author] = await this.db.select().from(users).where(eq(users.id, actor.userId)).limit(1);
    if (!row || !author) throw AppError.notFound('User');
    const comment = toComment(row, toPublicUser(author), chatRoleOf(stream.hostId, actor.userId));
    this.events.emit('comment_added', comment);
    return comment;
  }

  /** Newest `limit` comments older than `before`, returned oldest first. */
  async history(
    streamId: string,
    viewerId: string | undefined,
    page: { limit: number; before?: string | undefined },
  ): Promise<CommentPage> {
    const stream = await this.streams.visibleRow(streamId, viewerId);
    const rows = await this.db
      .select({ comment: liveComments, user: users })
      .from(liveComments)
      .innerJoin(users, eq(users.id, liveComments.userId))
      .where(
        and(
          eq(liveComments.streamId, streamId),
          page.before
            ? sql`(${liveComments.createdAt}, ${liveComments.id}) < (select c.created_at, c.id from ${liveComments} c where c.id = ${page.before})`
            : undefined,
        ),
      )
      .orderBy(desc(liveComments.createdAt), desc(liveComments.id))
      .limit(page.limit + 1);
    const hasMore = rows.length > page.limit;
    const shown = rows.slice(0, page.limit).reverse();
    return {
      comments: shown.map((r) =>
        toComment(r.comment, toPublicUser(r.user), chatRoleOf(stream.hostId, r.user.id)),
      ),
      nextBefore: hasMore && shown[0] ? shown[0].comment.id : null,
    };
  }

  /**
   * Refuses, with `invalid_input`, an id that is not a comment of this stream. A rejoining client
   * is checked before it joins anything. Deleted comments still count: a client may hold one as
   * its last before it heard of the deletion.
   */
  async assertInStream(streamId: string, commentId: string): Promise<void> {
    const [found] = await this.db
      .select({ id: liveComments.id })
      .from(liveComments)
      .where(and(eq(liveComments.id, commentId), eq(liveComments.streamId, streamId)))
      .limit(1);
    if (!found) throw AppError.invalidInput('That comment is not in this stream');
  }

  /**
   * What a client that dropped off missed: the comments of the stream stored after `commentId`,
   * oldest first, at most `LIMITS.missedCommentsMax` of them (the newest). Read after the socket
   * is back in the room, so every comment is either here or in the room's live events (or both:
   * clients dedupe by id). The caller has checked that the stream is visible to the reader.
   */
  async missedSince(streamId: string, commentId: string): Promise<LiveComment[]> {
    await this.assertInStream(streamId, commentId);
    const rows = await this.db
      .select({ comment: liveComments, user: users, hostId: liveStreams.hostId })
      .from(liveComments)
      .innerJoin(users, eq(users.id, liveComments.userId))
      .innerJoin(liveStreams, eq(liveStreams.streamId, liveComments.streamId))
      .where(and(eq(liveComments.streamId, streamId), after(commentId)))
      .orderBy(desc(liveComments.createdAt), desc(liveComments.id))
      .limit(LIMITS.missedCommentsMax);
    return rows
      .reverse()
      .map((r) => toComment(r.comment, toPublicUser(r.user), chatRoleOf(r.hostId, r.user.id)));
  }

  /** One reaction: checked against the sender's budget and the stream, then reported. */
  async react(streamId: string, actor: Actor, reaction: Reaction): Promise<SentReaction> {
    await this.limits.reactions.take(actor.userId);
    await this.streams.liveRow(streamId, actor.userId);
    const sent: SentReaction = {
      streamId,
      reaction,
      userId: actor.userId,
      username: actor.username,
    };
    this.events.emit('reaction_sent', sent);
    return sent;
  }
}
