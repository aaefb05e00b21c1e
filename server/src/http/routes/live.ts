import {
  commentBody,
  commentHistoryQuery,
  startStreamBody,
  streamIdParams,
  userIdParams,
  type StartedStream,
  type ViewResult,
} from '@onair/protocol';
import { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import { chatRoleOf, chatStateFor } from '../../live/chat-roles';
import type { CommentService } from '../../live/comments';
import { presenceHandle, type PresenceService } from '../../live/presence';
import type { StreamService } from '../../live/streams';
import { actorOf, authenticate, maybeActorOf } from '../auth';
import { parse } from '../validate';

export interface LiveRouteDeps {
  streams: StreamService;
  presence: PresenceService;
  comments: CommentService;
  tokens: TokenService;
  /** The absolute WHIP URL of a stream on this node, given to its host. */
  whipUrl: (streamId: string) => string;
}

export function liveRoutes({
  streams,
  presence,
  comments,
  tokens,
  whipUrl,
}: LiveRouteDeps): Router {
  const router = Router();
  const required = authenticate(tokens, 'required');
  const optional = authenticate(tokens, 'optional');

  router.post('/start', required, async (req, res) => {
    const body = parse(startStreamBody, req.body ?? {});
    const { stream, streamKey } = await streams.start(actorOf(res).userId, body);
    const started: StartedStream = { ...stream, streamKey, whipUrl: whipUrl(stream.streamId) };
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

  // A lease: the viewer counts for `leaseSeconds` and renews by calling `view` again.
  // The host's end screen; it works while live too.
  router.get('/:streamId/summary', required, async (req, res) => {
    const { streamId } = parse(streamIdParams, req.params);
    res.json(await streams.summary(streamId, actorOf(res).userId));
  });

  router.post('/:streamId/view', required, async (req, res) => {
    const { streamId } = parse(streamIdParams, req.params);
    const actor = actorOf(res);
    const joined = await presence.view(streamId, actor);
    const result: ViewResult = {
      success: true,
      viewerCount: joined.viewerCount,
      stream: joined.stream,
      chat: chatStateFor(chatRoleOf(joined.stream.host.id, actor.userId)),
      leaseSeconds: presence.leaseSeconds,
    };
    res.json(result);
  });

  router.post('/:streamId/leave', required, async (req, res) => {
    const { streamId } = parse(streamIdParams, req.params);
    const actor = actorOf(res);
    await streams.visibleRow(streamId, actor.userId);
    await presence.leave(streamId, actor, presenceHandle.rest);
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
