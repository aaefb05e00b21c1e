import type { Stream } from '@onair/protocol';
import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/database';
import { follows, liveStreams, users } from '../db/schema';
import { AppError } from './errors';
import { toPublicUser } from './users';

export type StreamRow = typeof liveStreams.$inferSelect;
export type HostRow = Pick<
  typeof users.$inferSelect,
  'id' | 'username' | 'displayName' | 'avatarUrl'
>;

export const hostColumns = {
  id: users.id,
  username: users.username,
  displayName: users.displayName,
  avatarUrl: users.avatarUrl,
};

export const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toStream(row: StreamRow, host: HostRow): Stream {
  return {
    streamId: row.streamId,
    title: row.title,
    description: row.description,
    status: row.status,
    isPrivate: row.isPrivate,
    tags: row.tags,
    thumbnail: row.thumbnail,
    host: toPublicUser(host),
    media: { camera: row.camera, microphone: row.microphone },
    viewerCount: row.viewerCount,
    peakViewers: row.peakViewers,
    duration: row.duration,
    startedAt: row.startedAt.toISOString(),
    endedAt: iso(row.endedAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** SQL that holds when `viewerId` may see the stream: it is public, theirs, or its host is followed. */
export function visibleTo(viewerId: string | undefined): SQL {
  if (!viewerId) return sql`${liveStreams.isPrivate} = false`;
  return sql`(${liveStreams.isPrivate} = false or ${liveStreams.hostId} = ${viewerId} or exists (
    select 1 from ${follows} where ${follows.followerId} = ${viewerId} and ${follows.followeeId} = ${liveStreams.hostId}))`;
}

/**
 * Locks the stream's row if `viewerId` (undefined: an anonymous watcher) may see it (404 otherwise). Every change of a stream's
 * presence or counts happens under this lock, which is what makes the counts exact.
 */
export async function lockVisibleStream(
  tx: Db,
  streamId: string,
  viewerId: string | undefined,
): Promise<StreamRow> {
  const [row] = await tx
    .select()
    .from(liveStreams)
    .where(and(eq(liveStreams.streamId, streamId), visibleTo(viewerId)))
    .for('update', { of: liveStreams });
  if (!row) throw AppError.notFound();
  return row;
}

/** Locks the stream's row whoever may see it; undefined when there is no such stream. */
export async function lockStream(tx: Db, streamId: string): Promise<StreamRow | undefined> {
  const [row] = await tx
    .select()
    .from(liveStreams)
    .where(eq(liveStreams.streamId, streamId))
    .for('update');
  return row;
}

export async function readHost(db: Db, hostId: string): Promise<HostRow> {
  const [row] = await db.select(hostColumns).from(users).where(eq(users.id, hostId)).limit(1);
  if (!row) throw AppError.notFound('User');
  return row;
}
