import { AVATAR_MAX_BYTES } from '@onair/protocol';
import express, { type Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import { AppError } from '../../live/errors';
import type { AvatarService } from '../../live/avatars';
import { matchesIfNoneMatch } from '../conditional';
import { restRoutes } from '../rest';

export interface AvatarRouteDeps {
  avatars: AvatarService;
  tokens: TokenService;
}

/**
 * Any declared type is read: what the picture is, the server tells from its bytes (a browser
 * names a file's type from its extension, which may be wrong).
 */
const imageBody = express.raw({
  type: ['image/*', 'application/octet-stream'],
  limit: AVATAR_MAX_BYTES,
});

/** A year: a URL with the current `?v=` names bytes that never change. */
const immutableSeconds = 365 * 24 * 3600;
/** Without `?v=` (or with an old one) the answer changes with the next upload. */
const revalidateSeconds = 60;

/**
 * Profile pictures: `PUT`/`DELETE /api/me/avatar` for the signed-in user, and
 * `GET /api/users/:userId/avatar` for anyone, served by every node from the database.
 */
export function avatarRoutes({ avatars, tokens }: AvatarRouteDeps): Router {
  return restRoutes(tokens, {
    uploadAvatar: {
      // Counted before the body is read: a flood of uploads is refused without buffering any.
      admit: async ({ actor, req }) => {
        // A declared length over the limit is answered at once, in words about the picture.
        if (Number(req.headers['content-length']) > AVATAR_MAX_BYTES)
          throw new AppError('payload_too_large', 'The picture is larger than 1 MB');
        await avatars.admitUpload(actor.userId);
      },
      bodyParser: imageBody,
      handle: async ({ actor, req }) => {
        if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
          throw new AppError(
            'unsupported_media_type',
            'Send the picture as the request body: a JPEG, WebP or PNG image',
          );
        }
        return avatars.upload(actor.userId, req.body);
      },
    },
    removeAvatar: async ({ actor }) => avatars.remove(actor.userId),
    avatar: async ({ params, query, req, res }) => {
      const found = await avatars.read(params.userId);
      const etag = `"${found.version}"`;
      res.set({
        ETag: etag,
        'Cache-Control':
          query.v === found.version
            ? `public, max-age=${immutableSeconds}, immutable`
            : `public, max-age=${revalidateSeconds}`,
        'X-Content-Type-Options': 'nosniff',
      });
      if (matchesIfNoneMatch(req.headers['if-none-match'], etag)) {
        res.status(304).end();
        return;
      }
      res.type(found.contentType).send(found.image);
    },
  });
}
