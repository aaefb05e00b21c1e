import type { QualityChoice, SessionDescription } from '@onair/protocol';
import type { Admission, MediaAdmission } from '../cluster/media-admission';
import { allowedOrThrow } from '../live/access';
import { AppError } from '../live/errors';
import { presenceHandle, userIdOf } from '../live/presence';
import type { Limit } from '../live/rate-limits';
import type { StreamService } from '../live/streams';
import type { MediaWorkerPool, SessionRole } from '../media/MediaWorkerPool';
import { mediaCall } from '../wiring/media-errors';
import type { MediaPresence } from '../wiring/media-presence';
import type { Publishing } from '../wiring/publishing';
import { addressSessionOwner } from '../wiring/session-owners';
import type { ClientEventHandlers } from './client-events';
import { actorOfSocket, viewerOfSocket } from './socket-identity';
import type { LiveSocket } from './types';

export interface MediaHandlerDeps {
  media: MediaWorkerPool;
  /** Publishing goes through the stream's claim, which settles who publishes across nodes. */
  publish: Publishing['publish'];
  mediaPresence: MediaPresence;
  streams: StreamService;
  /** The socket's join/leave budget, which a request to watch spends too (it is a join). */
  joinLeave: Limit;
  /**
   * Sessions without an account one address may hold at once (`ANONYMOUS_WHEP_PER_IP`), shared
   * with WHEP's.
   */
  anonymousSessionsPerAddress: number;
  /** Whether this node takes a new session, or which node does (capacity, draining). */
  admission: MediaAdmission;
  /** The host's budget for starts, ends and media states, which publishing spends too. */
  hostActions: Limit;
  /** Answers and ICE candidates per socket: each one is a message to a media worker. */
  signalling: Limit;
}

export type MediaEventHandlers = Pick<
  ClientEventHandlers,
  'live_offer' | 'live_answer' | 'live_ice_candidate' | 'live_quality'
>;

/**
 * A session this node does not take is refused as `unavailable`, naming the node that takes it
 * (`nodeUrl`) when there is one; the web app watches there. (A draining node has dropped its
 * sockets already: one that publishes here is one that connected just before.)
 */
function refuseUnlessAdmitted(admission: Admission): void {
  if (admission.kind === 'admit') return;
  if (admission.kind === 'elsewhere')
    throw new AppError('unavailable', 'No room for this session here: use another server', {
      nodeUrl: admission.node.url,
    });
  throw new AppError('unavailable', 'No node has room for this session now; try again shortly', {
    retryAfterSeconds: admission.retryAfterSeconds,
  });
}

/**
 * WebRTC signalling with the server as the other end, answered in acknowledgements: the host's
 * `live_offer` gets the server's answer; a viewer's `live_offer { streamId }` gets the server's
 * offer, and its `live_answer` completes the session. `closeWatching` closes a socket's viewing
 * session of a stream (it left the room); `closeSessions` closes all of a socket's sessions (it
 * went). Made once per server; a socket's sessions are kept by
 * socket, and only sockets that open one hold any state here.
 */
export function mediaHandlers(deps: MediaHandlerDeps): {
  handlers: MediaEventHandlers;
  closeWatching: (socket: LiveSocket, streamId: string) => void;
  closeSessions: (socket: LiveSocket) => void;
} {
  const {
    media,
    publish: publishMedia,
    mediaPresence,
    streams,
    joinLeave,
    hostActions,
    signalling,
    anonymousSessionsPerAddress,
    admission,
  } = deps;
  /** Per socket: session ids by `<role>:<streamId>`. */
  const sessionsOf = new WeakMap<LiveSocket, Map<string, string>>();
  const key = (streamId: string, role: SessionRole) => `${role}:${streamId}`;

  // The tab is gone: its connections go too (a publisher's drop starts the stream's grace period).
  const closeSessions = (socket: LiveSocket): void => {
    const sessions = sessionsOf.get(socket);
    if (!sessions) return;
    for (const sessionId of sessions.values()) media.closeSession(sessionId);
    sessions.clear();
  };

  const replaceSession = (
    socket: LiveSocket,
    streamId: string,
    role: SessionRole,
    sessionId?: string,
  ) => {
    let sessions = sessionsOf.get(socket);
    const old = sessions?.get(key(streamId, role));
    if (old) media.closeSession(old);
    if (!sessionId) {
      sessions?.delete(key(streamId, role));
      return;
    }
    if (!sessions) {
      sessions = new Map();
      sessionsOf.set(socket, sessions);
    }
    sessions.set(key(streamId, role), sessionId);
  };

  const publish = async (
    socket: LiveSocket,
    streamId: string,
    offer: string,
  ): Promise<SessionDescription> => {
    const host = actorOfSocket(socket);
    await hostActions.take(host.userId);
    allowedOrThrow(await streams.access.mayPublish(streamId, host.userId), {
      notHost: 'Only the host can publish to this stream',
    });
    refuseUnlessAdmitted(admission.publisher());
    // This socket publishing again (e.g. after an ICE failure) replaces its own earlier session,
    // whether or not it still sends; another's only when it has gone quiet or its node is gone.
    const { sessionId, answer } = await publishMedia(streamId, offer, {
      replaces: sessionsOf.get(socket)?.get(key(streamId, 'publish')),
    });
    if (socket.disconnected) {
      // The tab went while we were answering: nothing would close this session, and its claim
      // would keep the tab's next offer out until it timed out.
      media.closeSession(sessionId);
      throw AppError.unauthorized('Disconnected');
    }
    replaceSession(socket, streamId, 'publish', sessionId);
    return { type: 'answer', sdp: answer };
  };

  const watch = async (
    socket: LiveSocket,
    streamId: string,
    quality: QualityChoice,
  ): Promise<SessionDescription> => {
    const viewer = viewerOfSocket(socket);
    const userId = userIdOf(viewer);
    // Spent before anything is read: a socket asking to watch in a loop costs a count only.
    await joinLeave.take(socket.id);
    allowedOrThrow(await streams.access.mayWatch(streamId, userId));
    // A re-offer replaces this socket's own session: it adds no viewer, and is never sent away.
    // Decided in the same turn as the session is counted: racing requests cannot overshoot the cap.
    if (!sessionsOf.get(socket)?.has(key(streamId, 'watch')))
      refuseUnlessAdmitted(admission.viewer());
    // Signed in: the user's (sees what they may, at most a few sessions per stream over all
    // tabs). Anonymous: its address's, counted with the address's WHEP sessions, one per stream
    // per socket (a re-offer replaces the socket's own and is not counted twice).
    const { sessionId, offer } = await mediaCall(() =>
      userId
        ? media.offerToViewer(streamId, userId, undefined, undefined, quality)
        : media.offerToViewer(
            streamId,
            addressSessionOwner(socket.address),
            anonymousSessionsPerAddress,
            sessionsOf.get(socket)?.get(key(streamId, 'watch')),
            quality,
          ),
    );
    // Watching counts, with or without `join_live`, until the session closes. The new session
    // holds the viewer before the one it replaces lets go, so a re-offer never looks like leaving.
    await mediaPresence.hold(streamId, viewer, presenceHandle.media(sessionId), sessionId);
    if (socket.disconnected) {
      // The tab went while we were opening: nothing would ever close this session.
      media.closeSession(sessionId);
      throw AppError.unauthorized('Disconnected');
    }
    replaceSession(socket, streamId, 'watch', sessionId);
    return { type: 'offer', sdp: offer };
  };

  const sessionOf = (socket: LiveSocket, streamId: string, role: SessionRole): string => {
    const sessionId = sessionsOf.get(socket)?.get(key(streamId, role));
    if (!sessionId) throw AppError.notFound('Media session');
    return sessionId;
  };

  const handlers: MediaEventHandlers = {
    async live_offer(socket, payload) {
      const description =
        'description' in payload
          ? await publish(socket, payload.streamId, payload.description.sdp)
          : await watch(socket, payload.streamId, payload.quality ?? 'auto');
      return { description };
    },

    async live_answer(socket, { streamId, description }) {
      await signalling.take(socket.id);
      const sessionId = sessionOf(socket, streamId, 'watch');
      await mediaCall(() => media.acceptAnswer(sessionId, description.sdp));
      return {};
    },

    async live_quality(socket, { streamId, quality }) {
      await signalling.take(socket.id);
      const sessionId = sessionOf(socket, streamId, 'watch');
      await mediaCall(() => media.setQuality(sessionId, quality));
      return {};
    },

    async live_ice_candidate(socket, { streamId, role, candidate }) {
      await signalling.take(socket.id);
      const sessionId = sessionOf(socket, streamId, role);
      if (candidate && candidate.candidate)
        await mediaCall(() => media.addIceCandidate(sessionId, candidate));
      return {};
    },
  };

  return {
    handlers,
    closeWatching: (socket, streamId) => replaceSession(socket, streamId, 'watch'),
    closeSessions,
  };
}
