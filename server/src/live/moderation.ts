import type {
  ChannelBan,
  ChatRole,
  ChatTimeout,
  ModerationAction,
  ModerationActionBody,
  ModerationLogEntry,
  ModerationResult,
  ModerationState,
  ModerationView,
  RemovedComment,
} from '@onair/protocol';
import { and, asc, desc, eq, gt, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Db } from '../db/database';
import {
  channelBans,
  channelBlockedWords,
  channelModerators,
  chatTimeouts,
  liveComments,
  liveStreams,
  moderationLog,
  users,
} from '../db/schema';
import { isBanned, isModerator } from './chat-gate';
import { denialError } from './access';
import { AppError } from './errors';
import type { LiveEvents } from './events';
import type { PresenceService } from './presence';
import type { Limit } from './rate-limits';
import { hostColumns, readHost, type StreamRow } from './stream-rows';
import type { StreamService } from './streams';
import { toPublicUser } from './users';

/** Who may moderate a stream: its host, or one of the host's moderators. */
type Authority = 'host' | 'moderator';

type UserRow = typeof users.$inferSelect;

/** What applying an action did: whom it concerned, and what to tell once it is committed. */
interface Applied {
  /** The log entry's id: a new one, or the one an idempotent repeat answers with. */
  entryId: string;
  /** Emits the action's domain events and effects; runs after the commit. */
  after?: () => unknown;
}

/** Actions that only mean something while the stream is live. */
const needsLiveStream = new Set<ModerationAction['action']>(['timeout', 'slow_mode']);
/** Actions only the host may take. */
const hostOnly = new Set<ModerationAction['action']>(['add_moderator', 'remove_moderator']);

/**
 * What a log entry stores in `details`: the action as taken and, for a ban or timeout, the ids of
 * the target's comments it hid (so the log can show them; the comments themselves stay stored).
 */
type LogDetails = ModerationAction & { removedCommentIds?: string[] };

/** Comments a ban or timeout hid, by stream, to tell each stream's room. */
type Removal = { streamId: string; commentIds: string[] };

const target = alias(users, 'target');
const actorUser = alias(users, 'actor');

/**
 * Chat moderation: who may do what to whom, applying an action together with its log entry,
 * and telling the transports through `LiveEvents`. Bans, moderators and blocked words belong to
 * the host's channel (all their streams); timeouts and slow mode to one stream. All of it lives
 * in the database, so every node enforces the same rules the moment an action is committed.
 */
export class ModerationService {
  constructor(
    private readonly db: Db,
    private readonly events: LiveEvents,
    private readonly streams: StreamService,
    private readonly presence: PresenceService,
    /** Actions per user, over every transport; spent before anything is read. */
    private readonly limits: { actions: Limit },
  ) {}

  /** Takes one action on `streamId` as `actorId`; answers the entry logged and the state after. */
  async act(
    streamId: string,
    actorId: string,
    action: ModerationActionBody,
  ): Promise<ModerationResult> {
    await this.limits.actions.take(actorId);
    const { stream, authority } = await this.authorityOver(streamId, actorId);
    if (hostOnly.has(action.action) && authority !== 'host')
      throw AppError.forbidden('Only the host can appoint or remove moderators');
    if (needsLiveStream.has(action.action) && stream.status !== 'live')
      throw AppError.streamEnded();
    const applied = await this.apply(stream, actorId, authority, action);
    await applied.after?.();
    const [entry] = await this.entries(eq(moderationLog.id, applied.entryId), 1);
    if (!entry) throw new Error('moderation log entry vanished');
    return { entry, state: await this.stateOf(stream) };
  }

  /** The state and the log of a stream, newest first; host and moderators only. */
  async view(
    streamId: string,
    userId: string,
    page: { limit: number; before?: string | undefined },
  ): Promise<ModerationView> {
    const { stream } = await this.authorityOver(streamId, userId);
    const rows = await this.entries(
      and(
        eq(moderationLog.streamId, streamId),
        page.before
          ? sql`(${moderationLog.createdAt}, ${moderationLog.id}) < (select l.created_at, l.id from ${moderationLog} l where l.id = ${page.before})`
          : undefined,
      ),
      page.limit + 1,
    );
    const actions = rows.slice(0, page.limit);
    const last = actions.at(-1);
    return {
      state: await this.stateOf(stream),
      actions,
      nextBefore: rows.length > page.limit && last ? last.id : null,
    };
  }

  /** The stream, if `userId` may moderate it (`StreamAccess.mayModerate`), and as whom. */
  private async authorityOver(
    streamId: string,
    userId: string,
  ): Promise<{ stream: StreamRow; authority: Authority }> {
    const access = await this.streams.access.mayModerate(streamId, userId);
    if (!access.ok) throw denialError(access.denial);
    return { stream: access.stream, authority: access.role === 'host' ? 'host' : 'moderator' };
  }

  private apply(
    stream: StreamRow,
    actorId: string,
    authority: Authority,
    action: ModerationActionBody,
  ): Promise<Applied> {
    switch (action.action) {
      case 'delete_comment':
        return this.deleteComment(stream, actorId, authority, action);
      case 'timeout':
        return this.timeout(stream, actorId, authority, action);
      case 'ban':
        return this.ban(stream, actorId, authority, action);
      case 'unban':
        return this.unban(stream, actorId, action);
      case 'slow_mode':
        return this.slowMode(stream, actorId, action);
      case 'blocked_words':
        return this.blockedWords(stream, actorId, action);
      case 'add_moderator':
      case 'remove_moderator':
        return this.setModerator(stream, actorId, action);
    }
  }

  private async deleteComment(
    stream: StreamRow,
    actorId: string,
    authority: Authority,
    action: Extract<ModerationActionBody, { action: 'delete_comment' }>,
  ): Promise<Applied> {
    const { streamId } = stream;
    const [comment] = await this.db
      .select({ userId: liveComments.userId })
      .from(liveComments)
      .where(and(eq(liveComments.id, action.commentId), eq(liveComments.streamId, streamId)))
      .limit(1);
    if (!comment) throw AppError.notFound('Comment');
    // Anyone who may moderate may take their own comment back.
    if (comment.userId !== actorId) await this.assertMayActOn(stream, authority, comment.userId);
    const entryId = await this.db.transaction(async (tx) => {
      const deleted = await tx
        .update(liveComments)
        .set({ deletedAt: sql`now()`, deletedBy: actorId })
        .where(and(eq(liveComments.id, action.commentId), isNull(liveComments.deletedAt)))
        .returning({ id: liveComments.id });
      if (deleted.length === 0) return null;
      return this.log(tx, stream, actorId, action, comment.userId);
    });
    if (entryId) {
      return {
        entryId,
        after: () => this.events.emit('comment_deleted', { streamId, commentId: action.commentId }),
      };
    }
    // Deleted already: the same answer as the first time, and nobody is told twice.
    const [first] = await this.db
      .select({ id: moderationLog.id })
      .from(moderationLog)
      .where(
        and(
          eq(moderationLog.streamId, streamId),
          eq(moderationLog.action, 'delete_comment'),
          sql`${moderationLog.details}->>'commentId' = ${action.commentId}`,
        ),
      )
      .orderBy(asc(moderationLog.createdAt))
      .limit(1);
    return {
      entryId: first?.id ?? (await this.log(this.db, stream, actorId, action, comment.userId)),
    };
  }

  private async timeout(
    stream: StreamRow,
    actorId: string,
    authority: Authority,
    action: Extract<ModerationActionBody, { action: 'timeout' }>,
  ): Promise<Applied> {
    const user = await this.targetOf(action.userId, actorId);
    await this.assertMayActOn(stream, authority, user.id);
    const { streamId } = stream;
    const { entryId, until, removals } = await this.db.transaction(async (tx) => {
      const until = sql`now() + make_interval(secs => ${action.seconds})`;
      const [row] = await tx
        .insert(chatTimeouts)
        .values({ streamId, userId: user.id, until })
        // Timing out again replaces the end, sooner or later.
        .onConflictDoUpdate({
          target: [chatTimeouts.streamId, chatTimeouts.userId],
          set: { until },
        })
        .returning({ until: chatTimeouts.until });
      if (!row) throw new Error('upsert returned no row');
      const removals = await this.hideCommentsOf(tx, [streamId], user.id, actorId);
      return {
        entryId: await this.log(tx, stream, actorId, action, user.id, removals),
        until: row.until,
        removals,
      };
    });
    return {
      entryId,
      after: () => {
        this.events.emit('user_timed_out', {
          streamId,
          userId: user.id,
          until: until.toISOString(),
          seconds: action.seconds,
        });
        this.tellRemovals(removals, user.id);
      },
    };
  }

  private async ban(
    stream: StreamRow,
    actorId: string,
    authority: Authority,
    action: Extract<ModerationActionBody, { action: 'ban' }>,
  ): Promise<Applied> {
    const user = await this.targetOf(action.userId, actorId);
    await this.assertMayActOn(stream, authority, user.id);
    const { hostId } = stream;
    // Their messages go from the stream the ban was given on and from the host's live one.
    const live =
      stream.status === 'live' ? stream.streamId : await this.streams.liveStreamOf(hostId);
    const from = [...new Set([stream.streamId, ...(live ? [live] : [])])];
    const { entryId, wasModerator, removals } = await this.db.transaction(async (tx) => {
      await tx
        .insert(channelBans)
        .values({ hostId, userId: user.id, bannedBy: actorId })
        .onConflictDoNothing();
      // A banned moderator is a moderator no more.
      const unmade = await tx
        .delete(channelModerators)
        .where(and(eq(channelModerators.hostId, hostId), eq(channelModerators.userId, user.id)))
        .returning({ userId: channelModerators.userId });
      const removals = await this.hideCommentsOf(tx, from, user.id, actorId);
      return {
        entryId: await this.log(tx, stream, actorId, action, user.id, removals),
        wasModerator: unmade.length > 0,
        removals,
      };
    });
    return {
      entryId,
      after: async () => {
        // The ban is stored: a join from now on is refused, and one that slipped in is undone.
        if (live) await this.presence.expel(live, { userId: user.id, username: user.username });
        const streamId = live ?? stream.streamId;
        if (wasModerator)
          this.events.emit('chat_role_changed', { streamId, userId: user.id, role: 'viewer' });
        this.events.emit('user_banned', { streamId, userId: user.id });
        this.tellRemovals(removals, user.id);
      },
    };
  }

  private async unban(
    stream: StreamRow,
    actorId: string,
    action: Extract<ModerationActionBody, { action: 'unban' }>,
  ): Promise<Applied> {
    const user = await this.targetOf(action.userId, actorId);
    const entryId = await this.db.transaction(async (tx) => {
      await tx
        .delete(channelBans)
        .where(and(eq(channelBans.hostId, stream.hostId), eq(channelBans.userId, user.id)));
      return this.log(tx, stream, actorId, action, user.id);
    });
    return { entryId };
  }

  private async slowMode(
    stream: StreamRow,
    actorId: string,
    action: Extract<ModerationActionBody, { action: 'slow_mode' }>,
  ): Promise<Applied> {
    const { streamId } = stream;
    const entryId = await this.db.transaction(async (tx) => {
      const changed = await tx
        .update(liveStreams)
        .set({ slowModeSeconds: action.seconds })
        .where(and(eq(liveStreams.streamId, streamId), eq(liveStreams.status, 'live')))
        .returning({ streamId: liveStreams.streamId });
      if (changed.length === 0) throw AppError.streamEnded();
      return this.log(tx, stream, actorId, action, null);
    });
    return {
      entryId,
      after: () => this.events.emit('slow_mode_changed', { streamId, seconds: action.seconds }),
    };
  }

  private async blockedWords(
    stream: StreamRow,
    actorId: string,
    action: Extract<ModerationActionBody, { action: 'blocked_words' }>,
  ): Promise<Applied> {
    const entryId = await this.db.transaction(async (tx) => {
      await tx
        .insert(channelBlockedWords)
        .values({ hostId: stream.hostId, words: action.words })
        .onConflictDoUpdate({
          target: channelBlockedWords.hostId,
          set: { words: action.words, updatedAt: sql`now()` },
        });
      return this.log(tx, stream, actorId, action, null);
    });
    return { entryId };
  }

  private async setModerator(
    stream: StreamRow,
    actorId: string,
    action: Extract<ModerationActionBody, { action: 'add_moderator' | 'remove_moderator' }>,
  ): Promise<Applied> {
    const user = await this.targetOf(action.userId, actorId);
    const { hostId, streamId } = stream;
    const role: ChatRole = action.action === 'add_moderator' ? 'moderator' : 'viewer';
    const entryId = await this.db.transaction(async (tx) => {
      const which = and(
        eq(channelModerators.hostId, hostId),
        eq(channelModerators.userId, user.id),
      );
      if (role === 'moderator') {
        if (await isBanned(tx, hostId, user.id))
          throw new AppError('conflict', 'This user is banned: unban them first');
        await tx
          .insert(channelModerators)
          .values({ hostId, userId: user.id, addedBy: actorId })
          .onConflictDoNothing();
      } else {
        await tx.delete(channelModerators).where(which);
      }
      return this.log(tx, stream, actorId, action, user.id);
    });
    return {
      entryId,
      after: () => this.events.emit('chat_role_changed', { streamId, userId: user.id, role }),
    };
  }

  /** The user an action names: they must exist, and nobody moderates themselves. */
  private async targetOf(userId: string, actorId: string): Promise<UserRow> {
    if (userId === actorId) throw AppError.invalidInput('You cannot do that to yourself');
    const [user] = await this.db.select().from(users).where(eq(users.id, userId)).limit(1);
    if (!user) throw AppError.notFound('User');
    return user;
  }

  /** Nobody acts on the host; a moderator does not act on another moderator. */
  private async assertMayActOn(
    stream: StreamRow,
    authority: Authority,
    userId: string,
  ): Promise<void> {
    if (userId === stream.hostId) throw AppError.forbidden('Nobody can do that to the host');
    if (authority === 'host') return;
    if (await isModerator(this.db, stream.hostId, userId))
      throw AppError.forbidden('Only the host can do that to a moderator');
  }

  /**
   * Hides every shown comment of `userId` in `streamIds`, as a moderator's deletion does (Twitch
   * clears a banned or timed-out user's messages the same way): history and the missed-comment
   * replay leave them out from now on.
   */
  private async hideCommentsOf(
    tx: Db,
    streamIds: string[],
    userId: string,
    actorId: string,
  ): Promise<Removal[]> {
    const hidden = await tx
      .update(liveComments)
      .set({ deletedAt: sql`now()`, deletedBy: actorId })
      .where(
        and(
          inArray(liveComments.streamId, streamIds),
          eq(liveComments.userId, userId),
          isNull(liveComments.deletedAt),
        ),
      )
      .returning({ id: liveComments.id, streamId: liveComments.streamId });
    return streamIds
      .map((streamId) => ({
        streamId,
        commentIds: hidden.filter((c) => c.streamId === streamId).map((c) => c.id),
      }))
      .filter((removal) => removal.commentIds.length > 0);
  }

  /** Tells each stream's room which of the user's comments left its chat. */
  private tellRemovals(removals: Removal[], userId: string): void {
    for (const { streamId, commentIds } of removals)
      this.events.emit('comments_removed', { streamId, userId, commentIds });
  }

  private async log(
    tx: Db,
    stream: StreamRow,
    actorId: string,
    action: ModerationActionBody,
    targetUserId: string | null,
    removals: Removal[] = [],
  ): Promise<string> {
    const removedCommentIds = removals.flatMap((r) => r.commentIds);
    const details: LogDetails = removedCommentIds.length
      ? { ...action, removedCommentIds }
      : action;
    const [row] = await tx
      .insert(moderationLog)
      .values({
        streamId: stream.streamId,
        hostId: stream.hostId,
        actorId,
        action: action.action,
        targetUserId,
        details,
      })
      .returning({ id: moderationLog.id });
    if (!row) throw new Error('insert returned no row');
    return row.id;
  }

  /** Log entries matching `where`, newest first. */
  private async entries(where: SQL | undefined, limit: number): Promise<ModerationLogEntry[]> {
    const rows = await this.db
      .select({
        entry: moderationLog,
        actor: {
          id: actorUser.id,
          username: actorUser.username,
          displayName: actorUser.displayName,
          avatarUrl: actorUser.avatarUrl,
        },
        target: {
          id: target.id,
          username: target.username,
          displayName: target.displayName,
          avatarUrl: target.avatarUrl,
        },
      })
      .from(moderationLog)
      .innerJoin(actorUser, eq(actorUser.id, moderationLog.actorId))
      .leftJoin(target, eq(target.id, moderationLog.targetUserId))
      .where(where)
      .orderBy(desc(moderationLog.createdAt), desc(moderationLog.id))
      .limit(limit);
    const removed = await this.removedComments(
      rows.flatMap((r) => (r.entry.details as LogDetails).removedCommentIds ?? []),
    );
    return rows.map((r): ModerationLogEntry => {
      const { removedCommentIds, ...action } = r.entry.details as LogDetails;
      const entry: ModerationLogEntry = {
        id: r.entry.id,
        streamId: r.entry.streamId,
        actor: toPublicUser(r.actor),
        action: action as ModerationAction,
        target: r.target ? toPublicUser(r.target) : null,
        createdAt: r.entry.createdAt.toISOString(),
      };
      if (removedCommentIds) {
        const ids = new Set(removedCommentIds);
        // The map is in the order chat showed them.
        entry.removedComments = [...removed.values()].filter((c) => ids.has(c.id));
      }
      return entry;
    });
  }

  /** The hidden comments with these ids (a deleted stream or account takes its own away). */
  private async removedComments(ids: string[]): Promise<Map<string, RemovedComment>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db
      .select({ id: liveComments.id, text: liveComments.text, createdAt: liveComments.createdAt })
      .from(liveComments)
      .where(inArray(liveComments.id, ids))
      .orderBy(asc(liveComments.createdAt), asc(liveComments.id));
    return new Map(
      rows.map((r) => [r.id, { id: r.id, comment: r.text, timestamp: r.createdAt.toISOString() }]),
    );
  }

  /** The stream's moderation settings as its host and moderators see them. */
  private async stateOf(stream: StreamRow): Promise<ModerationState> {
    const { streamId, hostId } = stream;
    const bannedBy = alias(users, 'banned_by');
    const [host, [current], [blocked], moderators, bans, timeouts] = await Promise.all([
      readHost(this.db, hostId),
      this.db
        .select({ slowModeSeconds: liveStreams.slowModeSeconds })
        .from(liveStreams)
        .where(eq(liveStreams.streamId, streamId)),
      this.db
        .select({ words: channelBlockedWords.words })
        .from(channelBlockedWords)
        .where(eq(channelBlockedWords.hostId, hostId)),
      this.db
        .select(hostColumns)
        .from(channelModerators)
        .innerJoin(users, eq(users.id, channelModerators.userId))
        .where(eq(channelModerators.hostId, hostId))
        .orderBy(asc(channelModerators.createdAt)),
      this.db
        .select({
          user: hostColumns,
          bannedBy: {
            id: bannedBy.id,
            username: bannedBy.username,
            displayName: bannedBy.displayName,
            avatarUrl: bannedBy.avatarUrl,
          },
          bannedAt: channelBans.createdAt,
        })
        .from(channelBans)
        .innerJoin(users, eq(users.id, channelBans.userId))
        .leftJoin(bannedBy, eq(bannedBy.id, channelBans.bannedBy))
        .where(eq(channelBans.hostId, hostId))
        .orderBy(desc(channelBans.createdAt)),
      this.db
        .select({ user: hostColumns, until: chatTimeouts.until })
        .from(chatTimeouts)
        .innerJoin(users, eq(users.id, chatTimeouts.userId))
        .where(and(eq(chatTimeouts.streamId, streamId), gt(chatTimeouts.until, sql`now()`)))
        .orderBy(asc(chatTimeouts.until)),
    ]);
    return {
      streamId,
      slowModeSeconds: current?.slowModeSeconds ?? 0,
      blockedWords: blocked?.words ?? [],
      moderators: moderators.map(toPublicUser),
      bans: bans.map((b): ChannelBan => ({
        user: toPublicUser(b.user),
        // Whoever banned them may have deleted their account since: the host stands for them.
        bannedBy: toPublicUser(b.bannedBy ?? host),
        bannedAt: b.bannedAt.toISOString(),
      })),
      timeouts: timeouts.map((t): ChatTimeout => ({
        user: toPublicUser(t.user),
        until: t.until.toISOString(),
      })),
    };
  }
}
