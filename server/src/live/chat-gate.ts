import type { ChatRole, PublicUser } from '@onair/protocol';
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { alias, type AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Db } from '../db/database';
import {
  channelBans,
  channelBlockedWords,
  channelModerators,
  chatCooldowns,
  chatTimeouts,
  follows,
  liveStreams,
  users,
} from '../db/schema';
import { denialError, judgeChat, judgeSight, type Standing } from './access';
import type { BlockedWordsCache } from './blocked-words';
import { AppError } from './errors';
import { toPublicUser } from './users';

/** Milliseconds since the epoch of a timestamp expression, as a number on both drivers. */
const epochMs = (value: SQL | AnyPgColumn) =>
  sql<number | null>`(extract(epoch from ${value}) * 1000)::float8`;

/** SQL for a user's part in a host's chat: the host, one of their moderators, or a viewer. */
export function chatRoleSql(hostId: SQL | AnyPgColumn | string, userId: SQL | AnyPgColumn) {
  return sql<ChatRole>`case when ${userId} = ${hostId} then 'host'
    when exists (select 1 from ${channelModerators} m where m.host_id = ${hostId} and m.user_id = ${userId}) then 'moderator'
    else 'viewer' end`;
}

/** SQL that holds when `userId` is banned from the channel of `hostId`. */
export function bannedSql(hostId: SQL | AnyPgColumn | string, userId: SQL | AnyPgColumn | string) {
  return sql<boolean>`exists (select 1 from ${channelBans} b where b.host_id = ${hostId} and b.user_id = ${userId})`;
}

/** Everything the chat's rules need to judge one user's comment on one stream. */
export interface ChatGate {
  hostId: string;
  status: 'live' | 'ended';
  role: ChatRole;
  banned: boolean;
  /** When their timeout ends, if one is running. */
  timedOutUntil: Date | null;
  slowModeSeconds: number;
  blockedWords: string[];
  /** When they last commented under slow mode (ms since the epoch). */
  lastCommentAt: number | null;
  /** The database's clock (ms since the epoch), which timeouts and slow mode are measured by. */
  now: number;
  author: PublicUser;
  /** What `access.ts` judges their chatting by. */
  standing: Standing;
}

const owner = alias(users, 'owner');

/**
 * Reads the stream, the author and the chat's rules for them in one query: the chat's hot path
 * pays one round trip for its checks, and every node sees the same rules at once. A stream the
 * user may not see is refused as `access.ts` says (`followers_only`, naming its owner).
 */
export async function readChatGate(db: Db, streamId: string, userId: string): Promise<ChatGate> {
  const [row] = await db
    .select({
      hostId: liveStreams.hostId,
      status: liveStreams.status,
      isPrivate: liveStreams.isPrivate,
      follows: sql<boolean>`exists (select 1 from ${follows} f where f.follower_id = ${users.id} and f.followee_id = ${liveStreams.hostId})`,
      owner: {
        id: owner.id,
        username: owner.username,
        displayName: owner.displayName,
        avatarUrl: owner.avatarUrl,
      },
      slowModeSeconds: liveStreams.slowModeSeconds,
      role: chatRoleSql(liveStreams.hostId, users.id),
      banned: bannedSql(liveStreams.hostId, users.id),
      timedOutUntil: epochMs(
        sql`(select t.until from ${chatTimeouts} t where t.stream_id = ${liveStreams.streamId} and t.user_id = ${users.id} and t.until > now())`,
      ),
      blockedWords: sql<
        string[] | null
      >`(select w.words from ${channelBlockedWords} w where w.host_id = ${liveStreams.hostId})`,
      lastCommentAt: epochMs(
        sql`(select c.last_comment_at from ${chatCooldowns} c where c.stream_id = ${liveStreams.streamId} and c.user_id = ${users.id})`,
      ),
      now: epochMs(sql`now()`),
      user: {
        id: users.id,
        username: users.username,
        displayName: users.displayName,
        avatarUrl: users.avatarUrl,
      },
    })
    .from(liveStreams)
    .innerJoin(users, eq(users.id, userId))
    .innerJoin(owner, eq(owner.id, liveStreams.hostId))
    .where(eq(liveStreams.streamId, streamId))
    .limit(1);
  if (!row) throw AppError.notFound();
  const timedOutUntil = row.timedOutUntil === null ? null : new Date(row.timedOutUntil);
  const now = row.now ?? Date.now();
  const standing: Standing = {
    stream: row,
    userId,
    owner: toPublicUser(row.owner),
    follows: row.follows,
    banned: row.banned,
    role: row.role,
    timedOutUntil,
    now,
  };
  const hidden = judgeSight(standing);
  if (hidden) throw denialError(hidden);
  return {
    hostId: row.hostId,
    status: row.status,
    role: row.role,
    banned: row.banned,
    timedOutUntil,
    slowModeSeconds: row.slowModeSeconds,
    blockedWords: row.blockedWords ?? [],
    lastCommentAt: row.lastCommentAt,
    now,
    author: toPublicUser(row.user),
    standing,
  };
}

/** Whether `userId` is banned from the channel of `hostId`. */
export async function isBanned(db: Db, hostId: string, userId: string): Promise<boolean> {
  const [row] = await db
    .select({ one: sql`1` })
    .from(channelBans)
    .where(and(eq(channelBans.hostId, hostId), eq(channelBans.userId, userId)))
    .limit(1);
  return row !== undefined;
}

/** Whether `userId` is one of the moderators of the channel of `hostId`. */
export async function isModerator(db: Db, hostId: string, userId: string): Promise<boolean> {
  const [row] = await db
    .select({ one: sql`1` })
    .from(channelModerators)
    .where(and(eq(channelModerators.hostId, hostId), eq(channelModerators.userId, userId)))
    .limit(1);
  return row !== undefined;
}

/**
 * Takes the author's slow-mode turn: one conditional upsert, so of two comments racing (on any
 * nodes) one wins. False when their interval has not run out.
 */
export async function claimSlowModeTurn(
  db: Db,
  streamId: string,
  userId: string,
  seconds: number,
): Promise<boolean> {
  const claimed = await db
    .insert(chatCooldowns)
    .values({ streamId, userId, lastCommentAt: sql`now()` })
    .onConflictDoUpdate({
      target: [chatCooldowns.streamId, chatCooldowns.userId],
      set: { lastCommentAt: sql`now()` },
      setWhere: sql`${chatCooldowns.lastCommentAt} <= now() - make_interval(secs => ${seconds})`,
    })
    .returning({ streamId: chatCooldowns.streamId });
  return claimed.length > 0;
}

/**
 * Refuses a comment the chat's rules do not let through, cheapest rule first: who may chat at
 * all (`judgeChat`: an ended stream, a ban, a running timeout), then a blocked word (everyone,
 * the host too: the list is the channel's own standard), then slow mode (the host and
 * moderators are exempt). Slow mode's check here is a first look; `claimSlowModeTurn` settles it.
 */
export function assertMayComment(gate: ChatGate, text: string, blocked: BlockedWordsCache): void {
  const refused = judgeChat(gate.standing);
  if (refused) throw denialError(refused);
  if (gate.blockedWords.length > 0 && blocked.of(gate.blockedWords).matches(text))
    throw AppError.blockedWord();
  if (slowModeApplies(gate) && gate.lastCommentAt !== null) {
    const nextAt = gate.lastCommentAt + gate.slowModeSeconds * 1000;
    if (nextAt > gate.now) throw AppError.slowMode((nextAt - gate.now) / 1000);
  }
}

/** Slow mode holds back viewers only: the host and moderators keep the conversation going. */
export const slowModeApplies = (gate: ChatGate): boolean =>
  gate.slowModeSeconds > 0 && gate.role === 'viewer';
