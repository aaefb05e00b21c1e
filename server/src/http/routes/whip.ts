import express, { Router, type Request, type Response, type NextFunction } from 'express';
import { routes, sdpText, whepSessionPath, whipSessionPath } from '@onair/protocol';
import type { TokenService } from '../../auth/tokens';
import type { MediaAdmission } from '../../cluster/media-admission';
import { allowedOrThrow, type Access } from '../../live/access';
import { AppError } from '../../live/errors';
import { anonymousViewer, presenceHandle, userIdOf, type Actor } from '../../live/presence';
import type { NextStreamService } from '../../live/next-stream';
import type { StreamKeyService } from '../../live/stream-keys';
import type { StreamService } from '../../live/streams';
import type { MediaWorkerPool } from '../../media/MediaWorkerPool';
import { mediaCall } from '../../wiring/media-errors';
import type { MediaPresence } from '../../wiring/media-presence';
import type { Publishing } from '../../wiring/publishing';
import { addressSessionOwner } from '../../wiring/session-owners';
import { sentElsewhere } from '../admission';
import { actorOfToken, bearerToken } from '../auth';
import { clientAddress } from '../client-address';
import { restRoutes } from '../rest';
import { parse } from '../validate';

export interface WhipRouteDeps {
  media: MediaWorkerPool;
  /** Publishing goes through the stream's claim, which settles who publishes across nodes. */
  publish: Publishing['publish'];
  mediaPresence: MediaPresence;
  streams: StreamService;
  streamKeys: StreamKeyService;
  nextStream: NextStreamService;
  tokens: TokenService;
  /** Link headers advertising ICE servers to a client (RFC 9725 §4.6); undefined: anonymous. */
  iceLinks: (userId: string | undefined) => string[];
  /**
   * Sessions without an account one address may hold at once (`ANONYMOUS_WHEP_PER_IP`), shared
   * with anonymous sockets' (`mediaHandlers`).
   */
  anonymousSessionsPerAddress: number;
  /** Whether this node takes a new session, or which node does (capacity, draining). */
  admission: MediaAdmission;
}

/** WHIP and WHEP resources answer browsers on other origins: no cookies are used, so `*` is safe. */
function cors(req: Request, res: Response, next: NextFunction): void {
  res.set({
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Methods': 'POST, PATCH, DELETE, OPTIONS',
    'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-Match',
    'Access-Control-Expose-Headers': 'Location, ETag, Link, Accept-Patch',
    'Access-Control-Max-Age': '86400',
  });
  if (req.method === 'OPTIONS') {
    res.set({ 'Accept-Post': 'application/sdp', Allow: 'POST, PATCH, DELETE, OPTIONS' });
    res.status(204).end();
    return;
  }
  next();
}

const sdpBody = express.text({
  type: ['application/sdp', 'application/trickle-ice-sdpfrag'],
  limit: '64kb',
});

function requireSdp(req: Request): string {
  if (!req.is('application/sdp')) {
    throw new AppError('unsupported_media_type', 'Send the offer as application/sdp');
  }
  if (typeof req.body !== 'string' || req.body.length === 0)
    throw AppError.invalidInput('Empty SDP offer');
  return parse(sdpText, req.body);
}

function sendAnswer(
  res: Response,
  location: string,
  sessionId: string,
  answer: string,
  links: string[],
): void {
  res.status(201);
  res.set({ Location: location, ETag: `"${sessionId}"`, 'Content-Type': 'application/sdp' });
  if (links.length) res.set('Link', links.join(', '));
  res.set('Accept-Patch', 'application/trickle-ice-sdpfrag');
  res.send(answer);
}

/** `a=candidate` lines of a trickle-ICE fragment (RFC 8840), with the mid they follow. */
function candidatesOf(fragment: string): { candidate: string; sdpMid: string | null }[] {
  const found: { candidate: string; sdpMid: string | null }[] = [];
  let mid: string | null = null;
  for (const line of fragment.split(/\r?\n/)) {
    if (line.startsWith('a=mid:')) mid = line.slice(6).trim();
    else if (line.startsWith('a=candidate:'))
      found.push({ candidate: line.slice(2).trim(), sdpMid: mid });
  }
  return found;
}

/** An ended stream's WHIP and WHEP resources are gone (404), whoever asks. */
const goneIfEnded = (access: Access): Access =>
  !access.ok && access.denial.reason === 'ended'
    ? { ok: false, denial: { reason: 'not_found' } }
    : access;

/** WHIP ingest (RFC 9725) and WHEP playback, as HTTP resources of a stream. */
export function whipRoutes({
  media,
  publish,
  mediaPresence,
  streams,
  streamKeys,
  nextStream,
  tokens,
  iceLinks,
  anonymousSessionsPerAddress,
  admission,
}: WhipRouteDeps): Router {
  /**
   * The stream's key, the host's persistent key (OBS) or the host's own token may publish;
   * anything else may not.
   */
  const authorizePublisher = async (req: Request, streamId: string): Promise<void> => {
    const token = bearerToken(req.headers.authorization);
    if (!token) throw AppError.unauthorized('Send the stream key as a Bearer token');
    let row = await streams.verifyStreamKey(streamId, token);
    if (!row) {
      // Not this stream's key: it may be the host's persistent key or their own access token
      // (401 when it is neither).
      const userId =
        (await streamKeys.ownerOf(token)) ?? (await actorOfToken(tokens, token)).userId;
      row = allowedOrThrow(goneIfEnded(await streams.access.mayPublish(streamId, userId)), {
        notHost: 'Only the host can publish to this stream',
      });
    }
    if (row.status !== 'live') throw AppError.notFound();
  };

  /**
   * Whose a watching session is: its user's, or for anonymous sessions the client's address, so
   * the address's sessions are bounded and only that address may end or extend them.
   */
  const ownerOf = (req: Request, actor: Actor | undefined): string =>
    actor ? actor.userId : addressSessionOwner(clientAddress(req));

  /**
   * Publishes into `streamId`; a publisher already there makes this the host's `already_live`,
   * unless it has gone quiet or its node is gone (then this one takes over).
   */
  const publishInto = async (streamId: string, offer: string) => {
    try {
      return { streamId, ...(await publish(streamId, offer)) };
    } catch (error) {
      if (error instanceof AppError && error.code === 'conflict')
        throw AppError.alreadyLive(streamId);
      throw error;
    }
  };

  /**
   * OBS's one URL: the host's persistent key starts a stream from their next-stream settings,
   * or resumes their live stream when its publisher is gone (a reconnect within the grace period,
   * or a stream started in the web app that nothing publishes yet).
   */
  const publishAsHost = async (hostId: string, offer: string) => {
    const live = await streams.liveStreamOf(hostId);
    if (live) return publishInto(live, offer);
    let started: string;
    try {
      started = (await streams.start(hostId, await nextStream.startBody(hostId))).stream.streamId;
    } catch (error) {
      // Another offer started it a moment ago: this one joins in (or meets its publisher).
      if (error instanceof AppError && error.code === 'already_live')
        return publishInto((error as AppError<'already_live'>).details.streamId, offer);
      throw error;
    }
    try {
      return await publishInto(started, offer);
    } catch (error) {
      // An offer the media server refused leaves no stream behind for its grace period.
      await streams.finish(started, 'publisher_lost');
      throw error;
    }
  };

  const resourceOwner = async (
    req: Request,
    { streamId, sessionId }: { streamId: string; sessionId: string },
    role: 'publish' | 'watch',
    viewer: Actor | undefined,
  ) => {
    const info = media.sessionInfo(sessionId);
    if (!info || info.streamId !== streamId || info.role !== role)
      throw AppError.notFound('Session');
    if (role === 'publish') await authorizePublisher(req, streamId);
    else if (info.owner !== ownerOf(req, viewer)) {
      throw AppError.forbidden('This is not your session');
    }
    return sessionId;
  };

  const trickle = async (req: Request, res: Response, sessionId: string) => {
    if (!req.is('application/trickle-ice-sdpfrag')) {
      throw new AppError(
        'unsupported_media_type',
        'Send candidates as application/trickle-ice-sdpfrag',
      );
    }
    const fragment = typeof req.body === 'string' && req.body ? parse(sdpText, req.body) : '';
    for (const candidate of candidatesOf(fragment)) {
      await mediaCall(() => media.addIceCandidate(sessionId, candidate)).catch(() => undefined);
    }
    res.status(204).end();
  };

  const served = restRoutes(tokens, {
    userWhip: {
      bodyParser: sdpBody,
      handle: async ({ req, res }) => {
        const key = bearerToken(req.headers.authorization);
        if (!key) throw AppError.unauthorized('Send your stream key as a Bearer token');
        // The same answer whether the key is malformed, rotated away or nobody's.
        const hostId = await streamKeys.ownerOf(key);
        if (!hostId) throw AppError.unauthorized('Invalid stream key');
        const offer = requireSdp(req);
        if (sentElsewhere(req, res, admission.publisher())) return;
        const { streamId, sessionId, answer } = await publishAsHost(hostId, offer);
        sendAnswer(
          res,
          whipSessionPath(streamId, sessionId),
          sessionId,
          answer,
          iceLinks(undefined),
        );
      },
    },
    whip: {
      bodyParser: sdpBody,
      handle: async ({ params: { streamId }, req, res }) => {
        await authorizePublisher(req, streamId);
        const offer = requireSdp(req);
        if (sentElsewhere(req, res, admission.publisher())) return;
        const { sessionId, answer } = await publish(streamId, offer);
        sendAnswer(res, whipSessionPath(streamId, sessionId), sessionId, answer, iceLinks('whip'));
      },
    },
    whep: {
      bodyParser: sdpBody,
      handle: async ({ params: { streamId }, query: { quality }, actor, req, res }) => {
        // Before the offer is read: a banned user or an outsider learns why, whatever they sent.
        allowedOrThrow(goneIfEnded(await streams.access.mayWatch(streamId, actor?.userId)));
        const offer = requireSdp(req);
        const owner = ownerOf(req, actor);
        // Decided in the same turn as the session is counted: racing requests cannot overshoot the cap.
        if (sentElsewhere(req, res, admission.viewer())) return;
        const { sessionId, answer } = await mediaCall(() =>
          actor
            ? media.answerViewer(streamId, offer, owner, undefined, quality)
            : media.answerViewer(streamId, offer, owner, anonymousSessionsPerAddress, quality),
        );
        // A WHEP session is a viewer for as long as it lives (closed with it, refused with it); an
        // anonymous one is a viewer of its own.
        const viewer = actor ?? anonymousViewer.whep(sessionId);
        await mediaPresence.hold(streamId, viewer, presenceHandle.whep(sessionId), sessionId);
        sendAnswer(
          res,
          whepSessionPath(streamId, sessionId),
          sessionId,
          answer,
          iceLinks(userIdOf(viewer)),
        );
      },
    },
    endWhip: async ({ params, req, res }) => {
      media.closeSession(await resourceOwner(req, params, 'publish', undefined));
      res.status(200).end();
    },
    endWhep: async ({ params, actor, req, res }) => {
      media.closeSession(await resourceOwner(req, params, 'watch', actor));
      res.status(200).end();
    },
    trickleWhip: {
      bodyParser: sdpBody,
      handle: async ({ params, req, res }) =>
        trickle(req, res, await resourceOwner(req, params, 'publish', undefined)),
    },
    trickleWhep: {
      bodyParser: sdpBody,
      handle: async ({ params, actor, req, res }) =>
        trickle(req, res, await resourceOwner(req, params, 'watch', actor)),
    },
  });

  const router = Router();
  // Every WHIP and WHEP resource, the sessions' included.
  router.use([routes.userWhip.path, routes.whip.path, routes.whep.path], cors);
  router.use(served);
  return router;
}
