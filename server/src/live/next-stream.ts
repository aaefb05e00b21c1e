import type { NextStreamBody, NextStreamSettings, StartStreamBody } from '@onair/protocol';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/database';
import { nextStreamSettings, users } from '../db/schema';
import { AppError } from './errors';

/** What a stream started from OBS is called: the host's next-stream settings, kept per user. */
export class NextStreamService {
  constructor(private readonly db: Db) {}

  /** The settings, defaults filled in: "<display name> is live", public, no description or tags. */
  async get(userId: string): Promise<NextStreamSettings> {
    const [row] = await this.db
      .select({ displayName: users.displayName, settings: nextStreamSettings })
      .from(users)
      .leftJoin(nextStreamSettings, eq(nextStreamSettings.userId, users.id))
      .where(eq(users.id, userId))
      .limit(1);
    if (!row) throw AppError.notFound('User');
    const { settings, displayName } = row;
    return {
      // An empty title follows the display name, so renaming oneself renames the next stream.
      title: settings?.title || `${displayName} is live`,
      description: settings?.description ?? '',
      tags: settings?.tags ?? [],
      isPrivate: settings?.isPrivate ?? false,
      record: settings?.record ?? true,
    };
  }

  async put(userId: string, body: NextStreamBody): Promise<NextStreamSettings> {
    const values = {
      title: body.title,
      description: body.description,
      tags: body.tags,
      isPrivate: body.isPrivate,
      record: body.record,
    };
    await this.db
      .insert(nextStreamSettings)
      .values({ userId, ...values })
      .onConflictDoUpdate({
        target: nextStreamSettings.userId,
        set: { ...values, updatedAt: sql`now()` },
      });
    return this.get(userId);
  }

  /** The body a stream started from OBS is started with. */
  async startBody(userId: string): Promise<StartStreamBody> {
    const { title, description, tags, isPrivate, record } = await this.get(userId);
    return { title, description, tags, isPrivate, record };
  }
}
