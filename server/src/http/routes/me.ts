import {
  nextStreamBody,
  updateMeBody,
  type NextStreamSettings,
  type StreamKeyInfo,
} from '@onair/protocol';
import { Router, type Response } from 'express';
import type { TokenService } from '../../auth/tokens';
import type { NextStreamService } from '../../live/next-stream';
import type { StreamKeyService } from '../../live/stream-keys';
import type { UserService } from '../../live/users';
import { actorOf, authenticate } from '../auth';
import { parse } from '../validate';

export interface MeRouteDeps {
  tokens: TokenService;
  users: UserService;
  streamKeys: StreamKeyService;
  nextStream: NextStreamService;
  /** The absolute URL of `POST /api/live/whip` on this node. */
  userWhipUrl: () => string;
}

/** `/api/me`: the signed-in user's own settings. */
export function meRoutes({
  tokens,
  users,
  streamKeys,
  nextStream,
  userWhipUrl,
}: MeRouteDeps): Router {
  const router = Router();
  router.use(authenticate(tokens, 'required'));

  router.patch('/', async (req, res) => {
    const changes = parse(updateMeBody, req.body ?? {});
    res.json(await users.update(actorOf(res).userId, changes));
  });

  const sendKey = (res: Response, streamKey: string) => {
    // A credential: no cache, shared or private, may keep it.
    res.set('Cache-Control', 'no-store');
    res.json({ streamKey, whipUrl: userWhipUrl() } satisfies StreamKeyInfo);
  };

  router.get('/stream-key', async (_req, res) => {
    sendKey(res, await streamKeys.reveal(actorOf(res).userId));
  });

  router.post('/stream-key/rotate', async (_req, res) => {
    sendKey(res, await streamKeys.rotate(actorOf(res).userId));
  });

  router.get('/next-stream', async (_req, res) => {
    res.json((await nextStream.get(actorOf(res).userId)) satisfies NextStreamSettings);
  });

  router.put('/next-stream', async (req, res) => {
    const body = parse(nextStreamBody, req.body ?? {});
    res.json((await nextStream.put(actorOf(res).userId, body)) satisfies NextStreamSettings);
  });

  return router;
}
