import type { Stream } from '@onair/protocol';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/database';
import { liveStreams, users } from '../db/schema';
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

/**
 * Locks the stream's row whoever may see it (who may is `access.ts`'s to say); undefined when
 * there is no such stream. Every change of a stream's presence or counts happens under this
 * lock, which is what makes the counts exact.
 */
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
