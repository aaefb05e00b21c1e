import { tagParams, type TagStreams } from '@onair/protocol';
import { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import { authenticate, maybeActorOf } from '../auth';
import { parse } from '../validate';

/** `GET /api/tags/:tag/streams`: the streams of one tag the caller may see. */
export function tagRoutes(
  tagged: (tag: string, viewerId: string | undefined) => Promise<TagStreams>,
  tokens: TokenService,
): Router {
  const router = Router();
  router.get('/:tag/streams', authenticate(tokens, 'optional'), async (req, res) => {
    const { tag } = parse(tagParams, req.params);
    res.json(await tagged(tag, maybeActorOf(res)?.userId));
  });
  return router;
}
