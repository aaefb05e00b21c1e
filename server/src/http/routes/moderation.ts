import type { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import type { ModerationService } from '../../live/moderation';
import { restRoutes } from '../rest';

export interface ModerationRouteDeps {
  moderation: ModerationService;
  tokens: TokenService;
}

/** A stream's moderation: take an action, see the state and the log. */
export function moderationRoutes({ moderation, tokens }: ModerationRouteDeps): Router {
  return restRoutes(tokens, {
    moderate: async ({ params, body, actor }) =>
      moderation.act(params.streamId, actor.userId, body),
    moderation: async ({ params, query, actor }) =>
      moderation.view(params.streamId, actor.userId, query),
  });
}
