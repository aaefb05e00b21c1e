import type { CommentPage, LiveComment, PublicUser, Reaction, LiveReaction } from '@onair/protocol';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/database';
import { liveComments, users } from '../db/schema';
import { AppError } from './errors';
import type { LiveEvents } from './events';
import type { Limit } from './rate-limits';
import type { Actor } from './presence';
import type { StreamService } from './streams';
import { toPublicUser } from './users';

type CommentRow = typeof liveComments.$inferSelect;

const toComment = (row: CommentRow, user: PublicUser): LiveComment => ({
  id: row.id,
  streamId: row.streamId,
  userId: row.userId,
  username: user.username,
  user,
  comment: row.text,
  timestamp: row.createdAt.toISOString(),
});

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
    await this.streams.liveRow(streamId, actor.userId);
    const [row] = await this.db
      .insert(liveComments)
      .values({ streamId, userId: actor.userId, text })
      .returning();
    const [author] = await this.db.select().from(users).where(eq(users.id, actor.userId)).limit(1);
    if (!row || !author) throw AppError.notFound('User');
    const comment = toComment(row, toPublicUser(author));
    this.events.emit('comment_added', comment);
    return comment;
  }

  /** Newest `limit` comments older than `before`, returned oldest first. */
  async history(
    streamId: string,
    viewerId: string | undefined,
    page: { limit: number; before?: string | undefined },
  ): Promise<CommentPage> {
    await this.streams.visibleRow(streamId, viewerId);
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
      comments: shown.map((r) => toComment(r.comment, toPublicUser(r.user))),
      nextBefore: hasMore && shown[0] ? shown[0].comment.id : null,
    };
  }

  async react(streamId: string, actor: Actor, reaction: Reaction): Promise<LiveReaction> {
    await this.limits.reactions.take(actor.userId);
    await this.streams.liveRow(streamId, actor.userId);
    const sent: LiveReaction = {
      streamId,
      userId: actor.userId,
      username: actor.username,
      reaction,
      timestamp: new Date().toISOString(),
    };
    this.events.emit('reaction_sent', sent);
    return sent;
  }
}
