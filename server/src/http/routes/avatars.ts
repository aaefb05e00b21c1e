import { AVATAR_MAX_BYTES, userIdParams, type User } from '@onair/protocol';
import express, { Router } from 'express';
import { z } from 'zod';
import type { TokenService } from '../../auth/tokens';
import { AppError } from '../../live/errors';
import type { AvatarService } from '../../live/avatars';
import { actorOf, authenticate } from '../auth';
import { matchesIfNoneMatch } from '../conditional';
import { parse } from '../validate';

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

const avatarQuery = z.object({ v: z.string().max(100).optional() });

/** A year: a URL with the current `?v=` names bytes that never change. */
const immutableSeconds = 365 * 24 * 3600;
/** Without `?v=` (or with an old one) the answer changes with the next upload. */
const revalidateSeconds = 60;

/**
 * Profile pictures, mounted at `/api`: `PUT`/`DELETE /me/avatar` for the signed-in user, and
 * `GET /users/:userId/avatar` for anyone, served by every node from the database.
 */
export function avatarRoutes({ avatars, tokens }: AvatarRouteDeps): Router {
  const router = Router();
  const required = authenticate(tokens, 'required');

  router.put(
    '/me/avatar',
    required,
    // Counted before the body is read: a flood of uploads is refused without buffering any.
    async (req, res, next) => {
      // A declared length over the limit is answered at once, in words about the picture.
      if (Number(req.headers['content-length']) > AVATAR_MAX_BYTES)
        throw new AppError('payload_too_large', 'The picture is larger than 1 MB');
      await avatars.admitUpload(actorOf(res).userId);
      next();
    },
    imageBody,
    async (req, res) => {
      if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
        throw new AppError(
          'unsupported_media_type',
          'Send the picture as the request body: a JPEG, WebP or PNG image',
        );
      }
      res.json((await avatars.upload(actorOf(res).userId, req.body)) satisfies User);
    },
  );

  router.delete('/me/avatar', required, async (_req, res) => {
    res.json((await avatars.remove(actorOf(res).userId)) satisfies User);
  });

  router.get('/users/:userId/avatar', async (req, res) => {
    const { userId } = parse(userIdParams, req.params);
    const query = parse(avatarQuery, req.query);
    const found = await avatars.read(userId);
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
  });

  return router;
}
