import { createHash } from 'node:crypto';
import { AVATAR_MAX_BYTES, AVATAR_MAX_SIZE, avatarPath, type User } from '@onair/protocol';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/database';
import { userAvatars, users } from '../db/schema';
import { AppError } from './errors';
import { checkImageSize, sniffImageType } from './image-header';
import type { Limit } from './rate-limits';
import { toUser } from './users';

export interface Avatar {
  image: Buffer;
  contentType: string;
  /** Names this upload: the `?v=` of its URL and its ETag. */
  version: string;
}

/**
 * Profile pictures, kept in the database so every node serves them. A picture is public, as the
 * profile it belongs to is; its URL in `users.avatar_url` carries a hash of its bytes, so it can
 * be cached for good and changes with every new picture.
 *
 * Pictures larger than `AVATAR_MAX_SIZE` are refused rather than resized here: decoding and
 * re-encoding a megabyte image costs the server far more than the upload itself, and the web app
 * scales a large picture down in the browser before sending it.
 */
export class AvatarService {
  constructor(
    private readonly db: Db,
    /** Uploads per user, taken before the body is read. */
    private readonly uploads: Limit,
  ) {}

  /** Spends one of the user's uploads; `rate_limited` once they are spent. */
  async admitUpload(userId: string): Promise<void> {
    await this.uploads.take(userId);
  }

  /** Stores `image` as the user's picture and returns the user with its new URL. */
  async upload(userId: string, image: Buffer): Promise<User> {
    if (image.length > AVATAR_MAX_BYTES)
      throw new AppError('payload_too_large', 'The picture is larger than 1 MB');
    const type = sniffImageType(image);
    if (!type)
      throw new AppError('unsupported_media_type', 'The picture must be a JPEG, WebP or PNG image');
    checkImageSize(image, AVATAR_MAX_SIZE, 'The picture');
    const version = createHash('sha256').update(image).digest('hex').slice(0, 20);
    const avatarUrl = `${avatarPath(userId)}?v=${version}`;
    const row = await this.db.transaction(async (tx) => {
      const [updated] = await tx
        .update(users)
        .set({ avatarUrl })
        .where(eq(users.id, userId))
        .returning();
      if (!updated) throw AppError.notFound('User');
      await tx
        .insert(userAvatars)
        .values({ userId, image, contentType: type, version })
        .onConflictDoUpdate({
          target: userAvatars.userId,
          set: { image, contentType: type, version, updatedAt: new Date() },
        });
      return updated;
    });
    return toUser(row);
  }

  /** Removes the user's picture (their initial shows again); nothing to remove is no error. */
  async remove(userId: string): Promise<User> {
    const row = await this.db.transaction(async (tx) => {
      await tx.delete(userAvatars).where(eq(userAvatars.userId, userId));
      const [updated] = await tx
        .update(users)
        .set({ avatarUrl: null })
        .where(eq(users.id, userId))
        .returning();
      return updated;
    });
    if (!row) throw AppError.notFound('User');
    return toUser(row);
  }

  async read(userId: string): Promise<Avatar> {
    const [row] = await this.db
      .select({
        image: userAvatars.image,
        contentType: userAvatars.contentType,
        version: userAvatars.version,
      })
      .from(userAvatars)
      .where(eq(userAvatars.userId, userId))
      .limit(1);
    if (!row) throw AppError.notFound('Picture');
    return row;
  }
}
