import { moderationAction, moderationHistoryQuery, streamIdParams } from '@onair/protocol';
import { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import type { ModerationService } from '../../live/moderation';
import { actorOf, authenticate } from '../auth';
import { parse } from '../validate';

export interface ModerationRouteDeps {
  moderation: ModerationService;
  tokens: TokenService;
}

/** A stream's moderation (mounted at `/api/live`): take an action, see the state and the log. */
export function moderationRoutes({ moderation, tokens }: ModerationRouteDeps): Router {
  const router = Router();
  const required = authenticate(tokens, 'required');

  router.post('/:streamId/moderation', required, async (req, res) => {
    const { streamId } = parse(streamIdParams, req.params);
    const action = parse(moderationAction, req.body);
    res.json(await moderation.act(streamId, actorOf(res).userId, action));
  });

  router.get('/:streamId/moderation', required, async (req, res) => {
    const { streamId } = parse(streamIdParams, req.params);
    const page = parse(moderationHistoryQuery, req.query);
    res.json(await moderation.view(streamId, actorOf(res).userId, page));
  });

  return router;
}
