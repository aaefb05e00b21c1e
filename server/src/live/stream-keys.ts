import { createHash, randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { SecretBox } from '../auth/secret-box';
import type { Db } from '../db/database';
import { streamKeys } from '../db/schema';

/**
 * Persistent keys start with this, so they are told apart from access tokens without a lookup,
 * and secret scanners (and our log redaction) can recognise one wherever it is pasted.
 */
export const streamKeyPrefix = 'onair_';
/** The prefix and 32 random bytes in base64url. */
export const streamKeyPattern = /onair_[A-Za-z0-9_-]{43}/;

const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex');
const newKey = (): string => `${streamKeyPrefix}${randomBytes(32).toString('base64url')}`;

/**
 * Each user's one persistent WHIP stream key. It is found by its hash; the key itself is kept
 * sealed under the server secret so its owner can be shown it again (as streaming services show
 * theirs behind a "show" button), while the database alone gives nobody a key.
 */
export class StreamKeyService {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  /** The user's key, made on first use. */
  async reveal(userId: string): Promise<string> {
    // Twice at most: a first use racing another one reads the key the other made.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const [row] = await this.db
        .select()
        .from(streamKeys)
        .where(eq(streamKeys.userId, userId))
        .limit(1);
      if (row) {
        const key = this.box.open(row.sealedKey, userId);
        if (key !== undefined && hashKey(key) === row.keyHash) return key;
        // Sealed under a server secret that has since changed: it cannot be shown, so it goes.
        return this.rotate(userId);
      }
      const key = newKey();
      const inserted = await this.db
        .insert(streamKeys)
        .values({ userId, keyHash: hashKey(key), sealedKey: this.box.seal(key, userId) })
        .onConflictDoNothing({ target: streamKeys.userId })
        .returning({ userId: streamKeys.userId });
      if (inserted.length > 0) return key;
    }
    throw new Error('could not create a stream key');
  }

  /** A new key; the old one stops opening new streams at once. */
  async rotate(userId: string): Promise<string> {
    const key = newKey();
    const values = { keyHash: hashKey(key), sealedKey: this.box.seal(key, userId) };
    await this.db
      .insert(streamKeys)
      .values({ userId, ...values })
      .onConflictDoUpdate({ target: streamKeys.userId, set: { ...values, createdAt: new Date() } });
    return key;
  }

  /** Whose key this is; undefined for anything that is not a current key. */
  async ownerOf(key: string): Promise<string | undefined> {
    if (!key.startsWith(streamKeyPrefix) || key.length > 100) return undefined;
    const [row] = await this.db
      .select({ userId: streamKeys.userId })
      .from(streamKeys)
      .where(eq(streamKeys.keyHash, hashKey(key)))
      .limit(1);
    return row?.userId;
  }
}
