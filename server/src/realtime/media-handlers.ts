import {
  liveIceCandidatePayload,
  liveSdpPayload,
  streamRef,
  type SessionDescription,
} from '@onair/protocol';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError } from '../live/errors';
import { presenceHandle, type Actor } from '../live/presence';
import type { Limit } from '../live/rate-limits';
import type { StreamService } from '../live/streams';
import type { MediaWorkerPool, SessionRole } from '../media/MediaWorkerPool';
import type { Metrics } from '../observability/Metrics';
import { mediaCall } from '../wiring/media-errors';
import type { MediaPresence } from '../wiring/media-presence';
import { onEvent } from './ack';
import type { LiveSocket } from './types';

export interface MediaHandlerDeps {
  media: MediaWorkerPool;
  mediaPresence: MediaPresence;
  streams: StreamService;
  /** The socket's join/leave budget, which a request to watch spends too (it is a join). */
  joinLeave: Limit;
  logger: Logger;
  metrics: Metrics;
}

/** A broadcaster's offer to publish, or a viewer's bare request to watch. */
// A payload with a description is an offer, and must be a valid one: never read as a bare watch request.
const offerOrWatch = z.union([liveSdpPayload, z.strictObject(streamRef.shape)]);

/**
 * WebRTC signalling with the server as the other end: the host's `live_offer` is answered with
 * `live_answer`; a viewer's `live_offer {streamId}` gets the server's `live_offer`, answered with
 * `live_answer`. Returns a function that closes this socket's media for a stream.
 */
export function registerMediaHandlers(
  socket: LiveSocket,
  deps: MediaHandlerDeps,
): (streamId: string) => void {
  const { media, mediaPresence, streams, joinLeave } = deps;
  const userId = socket.data.userId;
  const actor: Actor = { userId, username: socket.data.username };
  const sessions = new Map<string, string>();
  const key = (streamId: string, role: SessionRole) => `${role}:${streamId}`;

  const replaceSession = (streamId: string, role: SessionRole, sessionId?: string) => {
    const old = sessions.get(key(streamId, role));
    if (old) media.closeSession(old);
    if (sessionId) sessions.set(key(streamId, role), sessionId);
    else sessions.delete(key(streamId, role));
  };

  onEvent(socket, deps, 'live_offer', offerOrWatch, async (payload) => {
    const { streamId } = payload;
    const row = await streams.liveRow(streamId, userId);
    let description: SessionDescription;
    if ('description' in payload) {
      if (payload.description.type !== 'offer')
        throw AppError.invalidInput('description: expected an offer');
      if (row.hostId !== userId)
        throw AppError.forbidden('Only the host can publish to this stream');
      // This socket publishing again (e.g. after an ICE failure) replaces its own earlier session.
      replaceSession(streamId, 'publish');
      const { sessionId, answer } = await mediaCall(() =>
        media.publish(streamId, payload.description.sdp),
      );
      replaceSession(streamId, 'publish', sessionId);
      description = { type: 'answer', sdp: answer };
      socket.emit('live_answer', { streamId, description });
    } else {
      await joinLeave.take(socket.id);
      const { sessionId, offer } = await mediaCall(() => media.offerToViewer(streamId, userId));
      // Watching counts, with or without `join_live`, until the session closes. The new session
      // holds the viewer before the one it replaces lets go, so a re-offer never looks like leaving.
      await mediaPresence.hold(streamId, actor, presenceHandle.media(sessionId), sessionId);
      if (socket.disconnected) {
        // The tab went while we were opening: nothing would ever close this session.
        media.closeSession(sessionId);
        throw AppError.unauthorized('Disconnected');
      }
      replaceSession(streamId, 'watch', sessionId);
      description = { type: 'offer', sdp: offer };
      socket.emit('live_offer', { streamId, description });
    }
    return { description };
  });

  onEvent(socket, deps, 'live_answer', liveSdpPayload, async ({ streamId, description }) => {
    if (description.type !== 'answer')
      throw AppError.invalidInput('description: expected an answer');
    const sessionId = sessions.get(key(streamId, 'watch'));
    if (!sessionId) throw AppError.notFound('Media session');
    await mediaCall(() => media.acceptAnswer(sessionId, description.sdp));
    return {};
  });

  onEvent(
    socket,
    deps,
    'live_ice_candidate',
    liveIceCandidatePayload,
    async ({ streamId, role, candidate }) => {
      const sessionId = sessions.get(key(streamId, role));
      if (!sessionId) throw AppError.notFound('Media session');
      if (candidate && candidate.candidate)
        await mediaCall(() => media.addIceCandidate(sessionId, candidate));
      return {};
    },
  );

  // The tab is gone: its connections go too (a publisher's drop starts the stream's grace period).
  socket.on('disconnect', () => {
    for (const sessionId of sessions.values()) media.closeSession(sessionId);
    sessions.clear();
  });

  return (streamId: string) => replaceSession(streamId, 'watch');
}
