import {
  LIMITS,
  type ChatRole,
  type ChatState,
  type CommentPage,
  type LiveComment,
  type PublicUser,
  type Reaction,
} from '@onair/protocol';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/database';
import { liveComments, liveStreams, users } from '../db/schema';
import { BlockedWordsCache } from './blocked-words';
import {
  assertMayComment,
  chatRoleSql,
  claimSlowModeTurn,
  readChatGate,
  slowModeApplies,
} from './chat-gate';
import { allowedOrThrow } from './access';
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

/** The first key of the advisory locks that order a stream's comments (the second: the stream). */
const commentOrderLock = 0x6f6e6301;

/**
 * A new comment's created_at, taken while it holds its stream's comment lock until it commits.
 * With `now()` (when the statement started) a comment could commit after a later-stamped one that
 * a client had already shown, and a client that rejoins asks for what came after the last it
 * showed: the early-stamped, late-committed comment was in neither the replay nor its live events.
 * Under the lock, comments commit in the order of their stamps.
 */
const inStreamOrder = (streamId: string) =>
  sql`(select clock_timestamp() from (select pg_advisory_xact_lock(${commentOrderLock}, hashtext(${streamId}))) as ordered)`;

/**
 * A transport's own precondition for chatting (a socket must be in the stream's room), checked
 * once the sender's budget is spent: a refused sender costs no query, however it is refused.
 */
export type Admission = () => Promise<void>;

/** Chat and reactions of a live stream. Comments are stored before anyone is told of them. */
export class CommentService {
  private readonly blockedWords = new BlockedWordsCache();

  constructor(
    private readonly db: Db,
    private readonly events: LiveEvents,
    private readonly streams: StreamService,
    /** Per-user budgets; each refusal is `rate_limited` and stores nothing. */
    private readonly limits: { comments: Limit; reactions: Limit },
  ) {}

  /**
   * Stores a comment the chat's rules let through (`assertMayComment`): one query reads them all,
   * one more takes a slow-mode turn when slow mode applies, and one stores the comment.
   */
  async add(streamId: string, actor: Actor, text: string, admit?: Admission): Promise<LiveComment> {
    await this.limits.comments.take(actor.userId);
    await admit?.();
    const gate = await readChatGate(this.db, streamId, actor.userId);
    assertMayComment(gate, text, this.blockedWords);
    if (
      slowModeApplies(gate) &&
      !(await claimSlowModeTurn(this.db, streamId, actor.userId, gate.slowModeSeconds))
    )
      // Another comment of theirs took the turn a moment ago (on this node or another).
      throw AppError.slowMode(gate.slowModeSeconds);
    const [row] = await this.db
      .insert(liveComments)
      .values({ streamId, userId: actor.userId, text, createdAt: inStreamOrder(streamId) })
      .returning();
    if (!row) throw new Error('insert returned no row');
    const comment = toComment(row, gate.author, gate.role);
    this.events.emit('comment_added', comment);
    return comment;
  }

  /** The chat as `userId` (undefined: someone anonymous) finds it on joining. */
  async chatState(
    streamId: string,
    userId: string | undefined,
    /** The stream as the caller just read it, if it did: an anonymous watcher's state needs no read. */
    known?: { slowModeSeconds: number },
  ): Promise<ChatState> {
    if (!userId) {
      const { slowModeSeconds } = known ?? (await this.streams.visibleRow(streamId, undefined));
      return { slowModeSeconds, role: 'viewer', timedOutUntil: null };
    }
    const gate = await readChatGate(this.db, streamId, userId);
    return {
      slowModeSeconds: gate.slowModeSeconds,
      role: gate.role,
      timedOutUntil: gate.timedOutUntil?.toISOString() ?? null,
    };
  }

  /** Newest `limit` comments older than `before`, returned oldest first. */
  async history(
    streamId: string,
    viewerId: string | undefined,
    page: { limit: number; before?: string | undefined },
  ): Promise<CommentPage> {
    const stream = await this.streams.visibleRow(streamId, viewerId);
    const rows = await this.db
      .select({
        comment: liveComments,
        user: users,
        role: chatRoleSql(stream.hostId, liveComments.userId),
      })
      .from(liveComments)
      .innerJoin(users, eq(users.id, liveComments.userId))
      .where(
        and(
          eq(liveComments.streamId, streamId),
          // Deleted by a moderator: gone from everyone's history.
          isNull(liveComments.deletedAt),
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
      comments: shown.map((r) => toComment(r.comment, toPublicUser(r.user), r.role)),
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
      .select({
        comment: liveComments,
        user: users,
        role: chatRoleSql(liveStreams.hostId, liveComments.userId),
      })
      .from(liveComments)
      .innerJoin(users, eq(users.id, liveComments.userId))
      .innerJoin(liveStreams, eq(liveStreams.streamId, liveComments.streamId))
      .where(
        and(
          eq(liveComments.streamId, streamId),
          // Deleted by a moderator while the client was away: never shown again.
          isNull(liveComments.deletedAt),
          after(commentId),
        ),
      )
      .orderBy(desc(liveComments.createdAt), desc(liveComments.id))
      .limit(LIMITS.missedCommentsMax);
    return rows.reverse().map((r) => toComment(r.comment, toPublicUser(r.user), r.role));
  }

  /** One reaction: checked against the sender's budget and the stream, then reported. */
  async react(
    streamId: string,
    actor: Actor,
    reaction: Reaction,
    admit?: Admission,
  ): Promise<SentReaction> {
    await this.limits.reactions.take(actor.userId);
    await admit?.();
    allowedOrThrow(await this.streams.access.mayWatch(streamId, actor.userId));
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
