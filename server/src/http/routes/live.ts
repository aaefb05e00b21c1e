import {
  commentBody,
  commentHistoryQuery,
  startStreamBody,
  streamIdParams,
  userIdParams,
  type StartedStream,
} from '@onair/protocol';
import { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import type { CommentService } from '../../live/comments';
import type { StreamService } from '../../live/streams';
import { actorOf, authenticate, maybeActorOf } from '../auth';
import { parse } from '../validate';

/** The presence handle of viewers who joined over REST: they stay until `leave` or the end. */
export const restHandle = 'rest';

export interface LiveRouteDeps {
  streams: StreamService;
  comments: CommentService;
  tokens: TokenService;
  /** Absolute base URL of this node, for the WHIP URL given to the host. */
  publicUrl: () => string;
}

export function liveRoutes({ streams, comments, tokens, publicUrl }: LiveRouteDeps): Router {
  const router = Router();
  const required = authenticate(tokens, 'required');
  const optional = authenticate(tokens, 'optional');

  router.post('/start', required, async (req, res) => {
    const body = parse(startStreamBody, req.body ?? {});
    const { stream, streamKey } = await streams.start(actorOf(res).userId, body);
    const started: StartedStream = {
      ...stream,
      streamKey,
      whipUrl: `${publicUrl()}/api/live/${stream.streamId}/whip`,
    };
    res.status(201).json(started);
  });

  router.post('/end/:streamId', required, async (req, res) => {
    const { streamId } = parse(streamIdParams, req.params);
    res.json(await streams.end(streamId, actorOf(res).userId));
  });

  router.get('/active', optional, async (_req, res) => {
    res.json(await streams.active(maybeActorOf(res)?.userId));
  });

  // Before `/:streamId`, so "user" is never taken for a stream id.
  router.get('/user/:userId', optional, async (req, res) => {
    const { userId } = parse(userIdParams, req.params);
    res.json(await streams.byUser(userId, maybeActorOf(res)?.userId));
  });

  router.get('/:streamId', optional, async (req, res) => {
    const { streamId } = parse(streamIdParams, req.params);
    res.json(await streams.details(streamId, maybeActorOf(res)?.userId));
  });

  router.post('/:streamId/view', required, async (req, res) => {
    const { streamId } = parse(streamIdParams, req.params);
    const joined = await streams.join(streamId, actorOf(res), restHandle);
    res.json({ success: true, viewerCount: joined.viewerCount, stream: joined.stream });
  });

  router.post('/:streamId/leave', required, async (req, res) => {
    const { streamId } = parse(streamIdParams, req.params);
    const actor = actorOf(res);
    await streams.visibleRow(streamId, actor.userId);
    await streams.leave(streamId, actor, restHandle);
    res.json({ success: true });
  });

  router.get('/:streamId/comments', optional, async (req, res) => {
    const { streamId } = parse(streamIdParams, req.params);
    const page = parse(commentHistoryQuery, req.query);
    res.json(await comments.history(streamId, maybeActorOf(res)?.userId, page));
  });

  router.post('/:streamId/comment', required, async (req, res) => {
    const { streamId } = parse(streamIdParams, req.params);
    const { comment } = parse(commentBody, req.body);
    res.status(201).json(await comments.add(streamId, actorOf(res), comment));
  });

  return router;
}
