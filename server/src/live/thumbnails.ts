import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  THUMBNAIL_MAX_BYTES,
  THUMBNAIL_MAX_SIZE,
  THUMBNAIL_TYPES,
  thumbnailPath,
} from '@onair/protocol';
import { eq, sql } from 'drizzle-orm';
import { signature } from '../auth/secret-box';
import type { Db } from '../db/database';
import { liveStreams, streamThumbnails } from '../db/schema';
import { allowedOrThrow } from './access';
import { AppError } from './errors';
import type { LiveEvents } from './events';
import { checkImageSize, sniffImageType } from './image-header';
import { lockStream } from './stream-rows';
import type { StreamService } from './streams';

export type ThumbnailType = (typeof THUMBNAIL_TYPES)[number];

const isThumbnailType = (type: string | undefined): type is ThumbnailType =>
  (THUMBNAIL_TYPES as readonly (string | undefined)[]).includes(type);

/** What a private thumbnail's URL signature covers: one upload of one stream. */
interface Upload {
  streamId: string;
  version: string;
  nonce: string | null;
}

export interface Thumbnail {
  image: Buffer;
  contentType: string;
  /** Names this upload: the `?v=` of its URL and its ETag. */
  version: string;
  isPrivate: boolean;
}

/**
 * Stream thumbnails, kept in the database so every node serves them. A private stream's
 * thumbnail URL carries a signature of that one upload: the URL is handed only to those who may
 * see the stream (in the stream's JSON), and works as an `<img>` source, which sends no token.
 * The signature covers the upload's random nonce, not only its bytes: were it the bytes alone,
 * uploading an old frame again would bring its old URL back to life, for whoever kept it after
 * losing sight of the stream.
 */
export class ThumbnailService {
  constructor(
    private readonly db: Db,
    private readonly events: LiveEvents,
    private readonly streams: StreamService,
    /** Signs private streams' thumbnail URLs. */
    private readonly signingKey: Buffer,
  ) {}

  /** Only the host of a live stream may upload: checked before the upload is read. */
  async assertUploader(streamId: string, userId: string): Promise<void> {
    const row = allowedOrThrow(await this.streams.access.mayHost(streamId, userId), {
      notHost: 'Only the host can set the thumbnail',
    });
    if (row.status !== 'live') throw AppError.streamEnded();
  }

  /** Stores `image` as the stream's thumbnail and returns the URL that now names it. */
  async upload(
    streamId: string,
    userId: string,
    image: Buffer,
    declaredType: string,
  ): Promise<string> {
    if (image.length > THUMBNAIL_MAX_BYTES)
      throw new AppError('payload_too_large', 'The thumbnail is too large');
    await this.assertUploader(streamId, userId);
    const type = sniffImageType(image);
    if (!isThumbnailType(type))
      throw new AppError('unsupported_media_type', 'The thumbnail must be JPEG or WebP');
    if (type !== declaredType)
      throw new AppError('unsupported_media_type', `The image is ${type}, not ${declaredType}`);
    // Every list page shows it, and every viewer's browser decodes it at the size it declares.
    checkImageSize(image, THUMBNAIL_MAX_SIZE, 'The thumbnail');
    const version = createHash('sha256').update(image).digest('hex').slice(0, 20);
    const nonce = randomBytes(16).toString('base64url');

    const thumbnail = await this.db.transaction(async (tx) => {
      // Under the stream's lock, so an upload racing the stream's end cannot land after it.
      const row = await lockStream(tx, streamId);
      if (!row) throw AppError.notFound();
      // Who may upload is settled above (a stream's host never changes); whether it is still
      // live is settled here.
      if (row.status !== 'live') throw AppError.streamEnded();
      const url = this.url({ streamId, version, nonce }, row.isPrivate);
      await tx
        .insert(streamThumbnails)
        .values({ streamId, image, contentType: type, version, nonce })
        .onConflictDoUpdate({
          target: streamThumbnails.streamId,
          set: { image, contentType: type, version, nonce, updatedAt: sql`now()` },
        });
      await tx
        .update(liveStreams)
        .set({ thumbnail: url, updatedAt: sql`now()` })
        .where(eq(liveStreams.streamId, streamId));
      return url;
    });
    this.events.emit('thumbnail_updated', { streamId, thumbnail });
    return thumbnail;
  }

  /**
   * The thumbnail, for a caller who may see the stream or who holds the signed URL of the
   * current upload; "not found" otherwise, as for the stream itself.
   */
  async read(
    streamId: string,
    viewerId: string | undefined,
    given: { v?: string | undefined; sig?: string | undefined },
  ): Promise<Thumbnail> {
    const [row] = await this.db
      .select({
        image: streamThumbnails.image,
        contentType: streamThumbnails.contentType,
        version: streamThumbnails.version,
        nonce: streamThumbnails.nonce,
        isPrivate: liveStreams.isPrivate,
      })
      .from(streamThumbnails)
      .innerJoin(liveStreams, eq(liveStreams.streamId, streamThumbnails.streamId))
      .where(eq(streamThumbnails.streamId, streamId))
      .limit(1);
    // One answer for "no thumbnail" and "not yours to see", so neither tells the other apart.
    const hidden = AppError.notFound('Thumbnail');
    if (!row) throw hidden;
    const { nonce, ...thumbnail } = row;
    if (row.isPrivate && !this.signedFor({ streamId, version: row.version, nonce }, given)) {
      if (!(await this.streams.access.maySee(streamId, viewerId)).ok) throw hidden;
    }
    return thumbnail;
  }

  private url(upload: Upload, isPrivate: boolean): string {
    const base = `${thumbnailPath(upload.streamId)}?v=${upload.version}`;
    return isPrivate ? `${base}&sig=${this.sign(upload)}` : base;
  }

  /** An upload stored before nonces existed keeps the signature it was given then. */
  private sign({ streamId, version, nonce }: Upload): string {
    const signed = nonce === null ? `${streamId}:${version}` : `${streamId}:${version}:${nonce}`;
    return signature(this.signingKey, signed);
  }

  private signedFor(
    upload: Upload,
    given: { v?: string | undefined; sig?: string | undefined },
  ): boolean {
    if (given.v !== upload.version || !given.sig) return false;
    const expected = Buffer.from(this.sign(upload));
    const actual = Buffer.from(given.sig);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
}
