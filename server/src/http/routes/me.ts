import type { Router } from 'express';
import type { Response } from 'express';
import type { TokenService } from '../../auth/tokens';
import type { NextStreamService } from '../../live/next-stream';
import type { StreamKeyService } from '../../live/stream-keys';
import type { UserService } from '../../live/users';
import { restRoutes } from '../rest';

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
  const keyInfo = (res: Response, streamKey: string) => {
    // A credential: no cache, shared or private, may keep it.
    res.set('Cache-Control', 'no-store');
    return { streamKey, whipUrl: userWhipUrl() };
  };
  return restRoutes(tokens, {
    // The user itself, not `{ user }`.
    updateMe: async ({ actor, body }) => users.update(actor.userId, body),
    streamKey: async ({ actor, res }) => keyInfo(res, await streamKeys.reveal(actor.userId)),
    rotateStreamKey: async ({ actor, res }) => keyInfo(res, await streamKeys.rotate(actor.userId)),
    nextStream: async ({ actor }) => nextStream.get(actor.userId),
    saveNextStream: async ({ actor, body }) => nextStream.put(actor.userId, body),
  });
}
