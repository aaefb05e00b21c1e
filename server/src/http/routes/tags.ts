import type { TagStreams } from '@onair/protocol';
import type { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import { restRoutes } from '../rest';

/** `GET /api/tags/:tag/streams`: the streams of one tag the caller may see. */
export function tagRoutes(
  tagged: (tag: string, viewerId: string | undefined) => Promise<TagStreams>,
  tokens: TokenService,
): Router {
  return restRoutes(tokens, {
    tagStreams: async ({ params, actor }) => tagged(params.tag, actor?.userId),
  });
}
