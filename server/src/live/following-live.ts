import type { Stream } from '@onair/protocol';
import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../db/database';
import { follows, liveStreams, users } from '../db/schema';
import { hostColumns, toStream } from './stream-rows';

/**
 * The live streams of the hosts `userId` follows, newest first: the home page's "Following" row.
 * Every one is visible to them: followers see private streams too.
 */
export async function followedLiveStreams(db: Db, userId: string): Promise<Stream[]> {
  const rows = await db
    .select({ stream: liveStreams, host: hostColumns })
    .from(follows)
    .innerJoin(
      liveStreams,
      and(eq(liveStreams.hostId, follows.followeeId), eq(liveStreams.status, 'live')),
    )
    .innerJoin(users, eq(users.id, liveStreams.hostId))
    .where(eq(follows.followerId, userId))
    .orderBy(desc(liveStreams.startedAt))
    .limit(200);
  return rows.map((r) => toStream(r.stream, r.host));
}
