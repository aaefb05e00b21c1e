import type { PublicUser, RegisterBody, UpdateMeBody, User, UserProfile } from '@onair/protocol';
import { and, count, eq, sql } from 'drizzle-orm';
import { decoyHash, hashPassword, verifyPassword } from '../auth/passwords';
import type { Db } from '../db/database';
import { follows, users } from '../db/schema';
import { AppError } from './errors';
import type { PresenceService } from './presence';
import { isUniqueViolation } from './sql-errors';

type UserRow = typeof users.$inferSelect;

export const toPublicUser = (
  row: Pick<UserRow, 'id' | 'username' | 'displayName' | 'avatarUrl'>,
): PublicUser => ({
  id: row.id,
  username: row.username,
  display_name: row.displayName,
  avatar_url: row.avatarUrl,
});

export const toUser = (row: UserRow): User => ({ ...toPublicUser(row), bio: row.bio });

export class UserService {
  constructor(
    private readonly db: Db,
    /**
     * Told when a follow ends, to take the ex-follower out of the host's private streams, and
     * when one begins, to let the new follower's open pages in.
     */
    private readonly presence: Pick<PresenceService, 'revokeFollower' | 'grantFollower'>,
  ) {}

  async register({ username, password, displayName }: RegisterBody): Promise<User> {
    const passwordHash = await hashPassword(password);
    try {
      const [row] = await this.db
        .insert(users)
        .values({ username, displayName: displayName ?? username, passwordHash })
        .returning();
      if (!row) throw new Error('insert returned no row');
      return toUser(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('username_taken', 'That username is taken');
      throw error;
    }
  }

  /** Checks a password; unknown users and wrong passwords fail alike and take as long. */
  async authenticate(username: string, password: string): Promise<User> {
    const row = await this.findByUsername(username);
    const ok = await verifyPassword(password, row?.passwordHash ?? (await decoyHash));
    if (!row || !ok) throw new AppError('invalid_credentials', 'Wrong username or password');
    return toUser(row);
  }

  async findByUsername(username: string): Promise<UserRow | undefined> {
    const [row] = await this.db
      .select()
      .from(users)
      .where(eq(sql`lower(${users.username})`, username.toLowerCase()))
      .limit(1);
    return row;
  }

  async exists(userId: string): Promise<boolean> {
    const [row] = await this.db
      .select({ one: sql`1` })
      .from(users)
      .where(eq(users.id, userId))
      .limit(1);
    return row !== undefined;
  }

  async get(userId: string): Promise<User> {
    const [row] = await this.db.select().from(users).where(eq(users.id, userId)).limit(1);
    if (!row) throw AppError.notFound('User');
    return toUser(row);
  }

  /** Changes what a user may change about themselves; an empty bio clears it. */
  async update(userId: string, changes: UpdateMeBody): Promise<User> {
    const [row] = await this.db
      .update(users)
      .set({
        ...(changes.displayName !== undefined && { displayName: changes.displayName }),
        ...(changes.bio !== undefined && { bio: changes.bio || null }),
      })
      .where(eq(users.id, userId))
      .returning();
    if (!row) throw AppError.notFound('User');
    return toUser(row);
  }

  async profile(userId: string, viewerId: string | undefined): Promise<UserProfile> {
    const user = await this.get(userId);
    const [[followers], [following], isFollowing] = await Promise.all([
      this.db.select({ n: count() }).from(follows).where(eq(follows.followeeId, userId)),
      this.db.select({ n: count() }).from(follows).where(eq(follows.followerId, userId)),
      viewerId ? this.isFollowing(viewerId, userId) : Promise.resolve(false),
    ]);
    return { user, followers: followers?.n ?? 0, following: following?.n ?? 0, isFollowing };
  }

  async follow(followerId: string, followeeId: string): Promise<void> {
    if (followerId === followeeId) throw AppError.invalidInput('You cannot follow yourself');
    await this.get(followeeId);
    const added = await this.db
      .insert(follows)
      .values({ followerId, followeeId })
      .onConflictDoNothing()
      .returning({ followerId: follows.followerId });
    if (added.length > 0) await this.presence.grantFollower(followeeId, followerId);
  }

  /**
   * Ends a follow, and with it the ex-follower's access to the host's private streams: they are
   * taken out of the live ones now (rooms, media, count) and cannot come back.
   */
  async unfollow(followerId: string, followeeId: string): Promise<void> {
    await this.get(followeeId);
    await this.db
      .delete(follows)
      .where(and(eq(follows.followerId, followerId), eq(follows.followeeId, followeeId)));
    // The follow is gone first, so any join from now on is refused; then the presence goes.
    // Done even when there was no follow left: a revocation cut short earlier is finished now.
    await this.presence.revokeFollower(followeeId, followerId);
  }

  async isFollowing(followerId: string, followeeId: string): Promise<boolean> {
    const [row] = await this.db
      .select({ one: sql`1` })
      .from(follows)
      .where(and(eq(follows.followerId, followerId), eq(follows.followeeId, followeeId)))
      .limit(1);
    return row !== undefined;
  }

  /** Everyone who may see a private stream of this host: the host and their followers. */
  async audienceOf(hostId: string): Promise<string[]> {
    const rows = await this.db
      .select({ id: follows.followerId })
      .from(follows)
      .where(eq(follows.followeeId, hostId));
    return [hostId, ...rows.map((r) => r.id)];
  }
}
