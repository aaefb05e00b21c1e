import type { ChatRole, PublicUser } from '@onair/protocol';
import { eq, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Db } from '../db/database';
import {
  channelBans,
  channelModerators,
  chatTimeouts,
  follows,
  liveStreams,
  users,
} from '../db/schema';
import { AppError } from './errors';
import type { StreamRow } from './stream-rows';
import { toPublicUser } from './users';

/**
 * Who may do what with a stream, decided here and nowhere else: REST, sockets, WHIP/WHEP and
 * presence gather the facts their own way (one row, or a batch of joins under the stream's lock)
 * and ask the same rules. The transports only translate a refusal into their own answer.
 */

/** Why someone may not do what they asked. */
export type Denial =
  | { reason: 'not_found' }
  /** A private stream, and they neither host it nor follow its host. */
  | { reason: 'followers_only'; owner: PublicUser }
  | { reason: 'ended' }
  | { reason: 'banned' }
  | { reason: 'timed_out'; until: Date; now: number }
  | { reason: 'not_host' }
  | { reason: 'not_moderator' };

export type DenialReason = Denial['reason'];

/** The stream when the actor may do it, else why not. */
export type Access =
  { ok: true; stream: StreamRow; role: ChatRole } | { ok: false; denial: Denial };

/** What the rules need to know about one actor (undefined `userId`: anonymous) and one stream. */
export interface Standing {
  stream: Pick<StreamRow, 'hostId' | 'isPrivate' | 'status'>;
  userId: string | undefined;
  /** The host's public identity: the one thing an outsider learns of a private stream. */
  owner: PublicUser;
  follows: boolean;
  banned: boolean;
  role: ChatRole;
  /** When their chat timeout on this stream ends, if one is running. */
  timedOutUntil: Date | null;
  /** The database's clock (ms since the epoch), which timeouts are measured by. */
  now: number;
}

/**
 * May see the stream at all (its page, its history): a public stream anyone, a private one its
 * host and the host's followers. An ended stream may still be seen.
 */
export function judgeSight(
  s: Pick<Standing, 'stream' | 'userId' | 'owner' | 'follows'>,
): Denial | null {
  if (!s.stream.isPrivate || s.userId === s.stream.hostId || (s.userId && s.follows)) return null;
  return { reason: 'followers_only', owner: s.owner };
}

/** May watch (join the room, open media): sees it, it is live, and the host has not banned them. */
export function judgeWatch(
  s: Pick<Standing, 'stream' | 'userId' | 'owner' | 'follows' | 'banned'>,
): Denial | null {
  const sight = judgeSight(s);
  if (sight) return sight;
  if (s.stream.status !== 'live') return { reason: 'ended' };
  if (s.userId && s.userId !== s.stream.hostId && s.banned) return { reason: 'banned' };
  return null;
}

/**
 * May play its media outside WebRTC (live HLS, the recording): sees it and the host has not
 * banned them; live or ended alike.
 */
export function judgePlay(
  s: Pick<Standing, 'stream' | 'userId' | 'owner' | 'follows' | 'banned'>,
): Denial | null {
  const sight = judgeSight(s);
  if (sight) return sight;
  if (s.userId && s.userId !== s.stream.hostId && s.banned) return { reason: 'banned' };
  return null;
}

/** May chat: may watch, and no timeout is running (anonymous watchers never chat). */
export function judgeChat(s: Standing): Denial | null {
  const watch = judgeWatch(s);
  if (watch) return watch;
  if (s.timedOutUntil) return { reason: 'timed_out', until: s.timedOutUntil, now: s.now };
  return null;
}

/**
 * The host's own actions (publish, end, thumbnail, summary): to someone who may not see the
 * stream it does not exist, so trying them tells nobody a private stream is there.
 */
export function judgeHost(
  s: Pick<Standing, 'stream' | 'userId' | 'owner' | 'follows'>,
): Denial | null {
  if (judgeSight(s)) return { reason: 'not_found' };
  if (s.userId !== s.stream.hostId) return { reason: 'not_host' };
  return null;
}

/** May moderate the chat: the host or one of their moderators (hidden as for `judgeHost`). */
export function judgeModerate(s: Standing): Denial | null {
  if (judgeSight(s)) return { reason: 'not_found' };
  if (s.role === 'viewer') return { reason: 'not_moderator' };
  return null;
}

/** SQL that holds when `viewerId` may see the stream (`judgeSight` for lists and batch reads). */
export function visibleTo(viewerId: string | undefined): SQL {
  if (!viewerId) return sql`${liveStreams.isPrivate} = false`;
  return sql`(${liveStreams.isPrivate} = false or ${liveStreams.hostId} = ${viewerId} or exists (
    select 1 from ${follows} where ${follows.followerId} = ${viewerId} and ${follows.followeeId} = ${liveStreams.hostId}))`;
}

/** Sentences for refusals whose words depend on what was asked. */
export interface DenialWording {
  /** For `not_host`: e.g. "Only the host can end this stream". */
  notHost?: string;
}

/** The error a refusal is answered with, the same over every transport. */
export function denialError(denial: Denial, wording: DenialWording = {}): AppError {
  switch (denial.reason) {
    case 'not_found':
      return AppError.notFound();
    case 'followers_only':
      return new AppError('followers_only', 'This stream is for followers of its host', {
        owner: denial.owner,
      });
    case 'ended':
      return AppError.streamEnded();
    case 'banned':
      return AppError.banned();
    case 'timed_out':
      return AppError.timedOut(denial.until, denial.now);
    case 'not_host':
      return AppError.forbidden(wording.notHost ?? 'Only the host can do this');
    case 'not_moderator':
      return AppError.forbidden('Only the host and their moderators can moderate this chat');
  }
}

const owner = alias(users, 'owner');
const epochMs = (value: SQL) => sql<number | null>`(extract(epoch from ${value}) * 1000)::float8`;

/** The rules over one stream and one actor, each read in one query. */
export class StreamAccess {
  constructor(private readonly db: Db) {}

  /** Everything the rules need about `userId` (undefined: anonymous) and the stream; undefined when there is no such stream. */
  async standing(
    streamId: string,
    userId: string | undefined,
  ): Promise<{ row: StreamRow; standing: Standing } | undefined> {
    // Facts about an anonymous actor are all false: compared with null, nothing matches.
    const who = userId ?? null;
    const [found] = await this.db
      .select({
        row: liveStreams,
        owner: {
          id: owner.id,
          username: owner.username,
          displayName: owner.displayName,
          avatarUrl: owner.avatarUrl,
        },
        follows: sql<boolean>`exists (select 1 from ${follows} f where f.follower_id = ${who}::uuid and f.followee_id = ${liveStreams.hostId})`,
        banned: sql<boolean>`exists (select 1 from ${channelBans} b where b.host_id = ${liveStreams.hostId} and b.user_id = ${who}::uuid)`,
        role: sql<ChatRole>`case when ${liveStreams.hostId} = ${who}::uuid then 'host'
          when exists (select 1 from ${channelModerators} m where m.host_id = ${liveStreams.hostId} and m.user_id = ${who}::uuid) then 'moderator'
          else 'viewer' end`,
        timedOutUntil: epochMs(
          sql`(select t.until from ${chatTimeouts} t where t.stream_id = ${liveStreams.streamId} and t.user_id = ${who}::uuid and t.until > now())`,
        ),
        now: epochMs(sql`now()`),
      })
      .from(liveStreams)
      .innerJoin(owner, eq(owner.id, liveStreams.hostId))
      .where(eq(liveStreams.streamId, streamId))
      .limit(1);
    if (!found) return undefined;
    return {
      row: found.row,
      standing: {
        stream: found.row,
        userId,
        owner: toPublicUser(found.owner),
        follows: found.follows,
        banned: found.banned,
        role: found.role,
        timedOutUntil: found.timedOutUntil === null ? null : new Date(found.timedOutUntil),
        now: found.now ?? Date.now(),
      },
    };
  }

  private async judge(
    streamId: string,
    userId: string | undefined,
    rule: (s: Standing) => Denial | null,
  ): Promise<Access> {
    const read = await this.standing(streamId, userId);
    if (!read) return { ok: false, denial: { reason: 'not_found' } };
    const denial = rule(read.standing);
    return denial
      ? { ok: false, denial }
      : { ok: true, stream: read.row, role: read.standing.role };
  }

  /** May see the stream's page and history (ended streams too). */
  maySee(streamId: string, userId: string | undefined): Promise<Access> {
    return this.judge(streamId, userId, judgeSight);
  }

  mayWatch(streamId: string, userId: string | undefined): Promise<Access> {
    return this.judge(streamId, userId, judgeWatch);
  }

  mayPlay(streamId: string, userId: string | undefined): Promise<Access> {
    return this.judge(streamId, userId, judgePlay);
  }

  mayChat(streamId: string, userId: string): Promise<Access> {
    return this.judge(streamId, userId, judgeChat);
  }

  /** May publish into the live stream: the host's, and live. */
  mayPublish(streamId: string, userId: string): Promise<Access> {
    return this.judge(streamId, userId, (s) => {
      const host = judgeHost(s);
      if (host) return host;
      return s.stream.status === 'live' ? null : { reason: 'ended' };
    });
  }

  /** May act as the stream's host (end it, its summary, its thumbnail), live or not. */
  mayHost(streamId: string, userId: string): Promise<Access> {
    return this.judge(streamId, userId, judgeHost);
  }

  mayModerate(streamId: string, userId: string): Promise<Access> {
    return this.judge(streamId, userId, judgeModerate);
  }
}

/** The stream of an allowed access; the refusal's error otherwise. */
export function allowedOrThrow(access: Access, wording?: DenialWording): StreamRow {
  if (!access.ok) throw denialError(access.denial, wording);
  return access.stream;
}
