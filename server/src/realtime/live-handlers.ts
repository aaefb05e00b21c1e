import { streamRoom, type JoinResult, type StartedStream } from '@onair/protocol';
import type { Logger } from 'pino';
import type { CommentService } from '../live/comments';
import { denialError } from '../live/access';
import { AppError } from '../live/errors';
import {
  anonymousViewer,
  isSignedIn,
  presenceHandle,
  userIdOf,
  type PresenceService,
} from '../live/presence';
import type { Limit } from '../live/rate-limits';
import type { StreamService } from '../live/streams';
import type { ClientEventHandlers } from './client-events';
import { actorOfSocket, viewerOfSocket } from './socket-identity';
import type { LiveSocket } from './types';

export interface LiveHandlerDeps {
  streams: StreamService;
  presence: PresenceService;
  comments: CommentService;
  /** Joins and leaves per socket (a client flipping rooms in a loop costs a transaction each). */
  joinLeave: Limit;
  /** A host's starts, ends and media states per user, spent before the stream is read. */
  hostActions: Limit;
  /** A host's viewer-list reads per socket (the list refreshes as people come and go). */
  viewerList: Limit;
  logger: Logger;
  /** The absolute WHIP URL of a stream on this node, given to its host. */
  whipUrl: (streamId: string) => string;
  /** Called when a socket leaves a stream, to release its media there. */
  onLeave?: (socket: LiveSocket, streamId: string) => void;
}

export type LiveEventHandlers = Pick<
  ClientEventHandlers,
  | 'start_live'
  | 'join_live'
  | 'leave_live'
  | 'live_comment'
  | 'live_reaction'
  | 'end_live'
  | 'live_media_state'
  | 'viewer_list'
>;

/**
 * The plan's stream, chat and reaction events, made once per server for every socket. An
 * anonymous socket reaches only joining and leaving (the client-event table refuses it the
 * rest), as a viewer of its own. `leaveRooms` is for a socket that is going: it leaves the
 * streams whose rooms it is in.
 */
export function liveHandlers(deps: LiveHandlerDeps): {
  handlers: LiveEventHandlers;
  leaveRooms: (socket: LiveSocket) => void;
} {
  const { streams, presence, comments, joinLeave, hostActions, viewerList } = deps;
  const handleOf = (socket: LiveSocket) => presenceHandle.socket(socket.id);

  /** Chat and reactions come only from sockets in the room, or from the stream's host. */
  const assertInRoom = async (socket: LiveSocket, streamId: string, userId: string) => {
    if (socket.inRoom(streamRoom(streamId))) return;
    // A ban or an unfollow took them out of the room: say why rather than ask them to join.
    const access = await streams.access.mayWatch(streamId, userId);
    if (!access.ok) throw denialError(access.denial);
    if (access.role !== 'host')
      throw new AppError('not_in_room', 'Join the stream before chatting in it');
  };

  // One listener for every socket, not a closure each: a room holds thousands of idle sockets.
  const leaveRooms = (socket: LiveSocket): void => {
    const viewer = viewerOfSocket(socket);
    for (const room of socket.rooms) {
      if (!room.startsWith('live_')) continue;
      const streamId = room.slice('live_'.length);
      presence.leave(streamId, viewer, handleOf(socket)).catch((err: unknown) => {
        deps.logger.error({ err, streamId }, 'failed to record a viewer leaving');
      });
    }
  };

  const handlers: LiveEventHandlers = {
    async start_live(socket, body) {
      const { userId } = actorOfSocket(socket);
      await hostActions.take(userId);
      const { stream, streamKey } = await streams.start(userId, body);
      socket.join(streamRoom(stream.streamId));
      const started: StartedStream = {
        ...stream,
        streamKey,
        whipUrl: deps.whipUrl(stream.streamId),
      };
      return { stream: started };
    },

    async join_live(socket, { streamId, sinceCommentId, formerAnonymousIds }) {
      const viewer = viewerOfSocket(socket);
      // Only a signed-in join links earlier anonymous visits; another socket's own id never.
      const formerly = isSignedIn(viewer)
        ? (formerAnonymousIds ?? []).filter((id) => id !== socket.id).map(anonymousViewer.socket)
        : [];
      const room = streamRoom(streamId);
      await joinLeave.take(socket.id);
      if (sinceCommentId) await comments.assertInStream(streamId, sinceCommentId);
      // The socket enters the room under the stream's lock, before its presence is stored: a
      // ban, an unfollow or an end stored after it finds the socket in the room and takes it
      // out. A socket that went meanwhile is not written at all.
      let seated = false;
      const joined = await presence
        .enter(
          streamId,
          viewer,
          handleOf(socket),
          () => {
            if (socket.disconnected) return false;
            seated = !socket.inRoom(room);
            socket.join(room);
            return true;
          },
          formerly,
        )
        .catch((error: unknown) => {
          if (seated) socket.leave(room);
          throw error;
        });
      const result: JoinResult = {
        stream: joined.stream,
        viewerCount: joined.viewerCount,
        chat: await comments.chatState(streamId, userIdOf(viewer), joined),
      };
      // Read only now that the socket is in the room: a comment stored from here on reaches it
      // live, so nothing falls between the two.
      if (sinceCommentId)
        result.missedComments = await comments.missedSince(streamId, sinceCommentId);
      return result;
    },

    async leave_live(socket, { streamId }) {
      await joinLeave.take(socket.id);
      socket.leave(streamRoom(streamId));
      deps.onLeave?.(socket, streamId);
      await presence.leave(streamId, viewerOfSocket(socket), handleOf(socket));
      return {};
    },

    async live_comment(socket, { streamId, comment }) {
      const actor = actorOfSocket(socket);
      return {
        comment: await comments.add(streamId, actor, comment, () =>
          assertInRoom(socket, streamId, actor.userId),
        ),
      };
    },

    async live_reaction(socket, { streamId, reaction }) {
      const actor = actorOfSocket(socket);
      await comments.react(streamId, actor, reaction, () =>
        assertInRoom(socket, streamId, actor.userId),
      );
      return {};
    },

    async end_live(socket, { streamId }) {
      const { userId } = actorOfSocket(socket);
      await hostActions.take(userId);
      return { stream: await streams.end(streamId, userId) };
    },

    async viewer_list(socket, { streamId }) {
      const { userId } = actorOfSocket(socket);
      await viewerList.take(socket.id);
      const row = await streams.visibleRow(streamId, userId);
      if (row.hostId !== userId) throw AppError.forbidden('Only the host sees who is watching');
      return presence.currentViewers(streamId);
    },

    async live_media_state(socket, { streamId, camera, microphone }) {
      const { userId } = actorOfSocket(socket);
      await hostActions.take(userId);
      await streams.setMediaState(streamId, userId, { camera, microphone });
      return {};
    },
  };
  return { handlers, leaveRooms };
}
