import type { TagStreams } from '@onair/protocol';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/database';
import { liveStreams, users } from '../db/schema';
import { visibleTo } from './access';
import { hostColumns, toStream } from './stream-rows';

const liveMax = 100;
const recentMax = 24;

/**
 * The streams of one tag a caller may see: live ones, newest first, then ended ones. Tags match
 * regardless of case, as a stream's own tags are kept unique regardless of case. Private streams
 * appear only to their host and the host's followers, as on the live list.
 */
export async function streamsTagged(
  db: Db,
  tag: string,
  viewerId: string | undefined,
): Promise<TagStreams> {
  const tagged = sql`exists (select 1 from unnest(${liveStreams.tags}) as t(tag) where lower(t.tag) = lower(${tag}))`;
  const read = (status: 'live' | 'ended', limit: number) =>
    db
      .select({ stream: liveStreams, host: hostColumns })
      .from(liveStreams)
      .innerJoin(users, eq(users.id, liveStreams.hostId))
      .where(and(eq(liveStreams.status, status), tagged, visibleTo(viewerId)))
      .orderBy(desc(liveStreams.startedAt))
      .limit(limit);
  const [live, recent] = await Promise.all([read('live', liveMax), read('ended', recentMax)]);
  return {
    tag,
    live: live.map((r) => toStream(r.stream, r.host)),
    recent: recent.map((r) => toStream(r.stream, r.host)),
  };
}
