import type { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import type { CommentService } from '../../live/comments';
import { presenceHandle, type PresenceService } from '../../live/presence';
import type { StreamService } from '../../live/streams';
import { restRoutes } from '../rest';

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
  return restRoutes(tokens, {
    startStream: async ({ body, actor }) => {
      const { stream, streamKey } = await streams.start(actor.userId, body);
      return { ...stream, streamKey, whipUrl: whipUrl(stream.streamId) };
    },
    endStream: async ({ params, actor }) => streams.end(params.streamId, actor.userId),
    activeStreams: async ({ actor }) => streams.active(actor?.userId),
    // Before `stream`, so "user" is never taken for a stream id.
    userStreams: async ({ params, actor }) => streams.byUser(params.userId, actor?.userId),
    stream: async ({ params, actor }) => streams.details(params.streamId, actor?.userId),
    summary: async ({ params, actor }) => streams.summary(params.streamId, actor.userId),
    view: async ({ params: { streamId }, actor }) => {
      const joined = await presence.view(streamId, actor);
      return {
        success: true,
        viewerCount: joined.viewerCount,
        stream: joined.stream,
        leaseSeconds: presence.leaseSeconds,
        chat: await comments.chatState(streamId, actor.userId),
      };
    },
    leave: async ({ params: { streamId }, actor }) => {
      await streams.visibleRow(streamId, actor.userId);
      await presence.leave(streamId, actor, presenceHandle.rest);
      return { success: true };
    },
    comments: async ({ params, query, actor }) =>
      comments.history(params.streamId, actor?.userId, query),
    comment: async ({ params, body, actor }) => comments.add(params.streamId, actor, body.comment),
  });
}
