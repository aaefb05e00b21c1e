import { THUMBNAIL_MAX_BYTES, THUMBNAIL_TYPES } from '@onair/protocol';
import express, { type Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import { AppError } from '../../live/errors';
import type { ThumbnailService } from '../../live/thumbnails';
import { matchesIfNoneMatch } from '../conditional';
import { restRoutes } from '../rest';

export interface ThumbnailRouteDeps {
  thumbnails: ThumbnailService;
  tokens: TokenService;
}

const imageBody = express.raw({ type: [...THUMBNAIL_TYPES], limit: THUMBNAIL_MAX_BYTES });

/** A year: a URL with the current `?v=` names bytes that never change. */
const immutableSeconds = 365 * 24 * 3600;
/** Without `?v=` (or with an old one) the answer changes with the next upload. */
const revalidateSeconds = 15;

/** `PUT`/`GET /api/live/:streamId/thumbnail`: the host's latest frame, served by every node. */
export function thumbnailRoutes({ thumbnails, tokens }: ThumbnailRouteDeps): Router {
  return restRoutes(tokens, {
    uploadThumbnail: {
      // Who may upload is settled before the body is read: a stranger's upload is never buffered.
      admit: ({ params, actor }) => thumbnails.assertUploader(params.streamId, actor.userId),
      bodyParser: imageBody,
      handle: async ({ params, actor, req }) => {
        const declared = req.is([...THUMBNAIL_TYPES]);
        if (!declared || !Buffer.isBuffer(req.body)) {
          throw new AppError(
            'unsupported_media_type',
            'Send the thumbnail as image/jpeg or image/webp',
          );
        }
        const thumbnail = await thumbnails.upload(
          params.streamId,
          actor.userId,
          req.body,
          declared,
        );
        return { thumbnail };
      },
    },
    thumbnail: async ({ params, query, actor, req, res }) => {
      const found = await thumbnails.read(params.streamId, actor?.userId, query);
      const etag = `"${found.version}"`;
      // A private stream's image is for its audience only: no shared cache may keep it.
      const scope = found.isPrivate ? 'private' : 'public';
      res.set({
        ETag: etag,
        'Cache-Control':
          query.v === found.version
            ? `${scope}, max-age=${immutableSeconds}, immutable`
            : `${scope}, max-age=${revalidateSeconds}`,
        'X-Content-Type-Options': 'nosniff',
      });
      if (found.isPrivate) res.set('Vary', 'Authorization');
      if (matchesIfNoneMatch(req.headers['if-none-match'], etag)) {
        res.status(304).end();
        return;
      }
      res.type(found.contentType).send(found.image);
    },
  });
}
