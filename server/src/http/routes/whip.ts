import express, { Router, type Request, type Response } from 'express';
import { routes, sdpText, whepSessionPath, whipSessionPath } from '@onair/protocol';
import type { TokenService } from '../../auth/tokens';
import type { MediaAdmission } from '../../cluster/media-admission';
import { allowedOrThrow, type Access } from '../../live/access';
import { AppError } from '../../live/errors';
import { anonymousViewer, presenceHandle, userIdOf, type Actor } from '../../live/presence';
import type { NextStreamService } from '../../live/next-stream';
import type { StreamKeyService } from '../../live/stream-keys';
import type { StreamService } from '../../live/streams';
import {
  forwardedCodecNames,
  unforwardableKinds,
  type MediaWorkerPool,
} from '../../media/MediaWorkerPool';
import { mediaCall } from '../../wiring/media-errors';
import type { MediaPresence } from '../../wiring/media-presence';
import type { Publishing } from '../../wiring/publishing';
import { addressSessionOwner } from '../../wiring/session-owners';
import { sentElsewhere } from '../admission';
import { actorOfToken, bearerToken } from '../auth';
import { clientAddress } from '../client-address';
import { restRoutes } from '../rest';
import { parse } from '../validate';
import { iceEtag, ifMatch, RemoteUfrags } from '../whip-ice';
import { methodNotAllowed, whipCors, whipErrors, WhipRefusal } from '../whip-http';

export interface WhipRouteDeps {
  media: MediaWorkerPool;
  /** Publishing goes through the stream's claim, which settles who publishes across nodes. */
  publish: Publishing['publish'];
  mediaPresence: MediaPresence;
  streams: StreamService;
  streamKeys: StreamKeyService;
  nextStream: NextStreamService;
  tokens: TokenService;
  /**
   * Link headers advertising ICE servers to a client (RFC 9725 §4.6), TURN with credentials for
   * `userId`; undefined: anonymous, no TURN.
   */
  iceLinks: (userId: string | undefined) => string[];
  /**
   * Sessions without an account one address may hold at once (`ANONYMOUS_WHEP_PER_IP`), shared
   * with anonymous sockets' (`mediaHandlers`).
   */
  anonymousSessionsPerAddress: number;
  /** Whether this node takes a new session, or which node does (capacity, draining). */
  admission: MediaAdmission;
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
  res.set({ Location: location, ETag: iceEtag(sessionId), 'Content-Type': 'application/sdp' });
  if (links.length) res.set('Link', links.join(', '));
  res.set('Accept-Patch', 'application/trickle-ice-sdpfrag');
  res.send(answer);
}

const listed = (names: string[]) => names.join(', ');

/**
 * Refuses a publisher's offer that sends audio or video in a codec the server cannot forward:
 * 422 naming what it can, as RFC 9725 §4.4.3 asks (422 or 400, never a partial answer). 406 is
 * not used: it is about `Accept` (RFC 9110 §15.5.7), and a WHEP player reads a 406 as a
 * counter-offer to answer.
 */
function refuseUnforwardable(req: Request, offer: string): void {
  const kinds = unforwardableKinds(offer);
  if (kinds.length === 0) return;
  req.log.info({ kinds }, 'WHIP offer refused: no codec the server forwards');
  throw new WhipRefusal(
    422,
    'invalid_input',
    `No supported codec for ${kinds.join(' and ')}. Supported video codecs: ` +
      `${listed(forwardedCodecNames.video)}; audio codecs: ${listed(forwardedCodecNames.audio)}`,
  );
}

/** A viewer's offer that cannot receive the stream as it is sent (`unreceivableKinds`): 422. */
function refuseUnreceivable(
  req: Request,
  mismatch: ReturnType<MediaWorkerPool['viewerMismatch']>,
): void {
  if (!mismatch || mismatch.kinds.length === 0) return;
  const { kinds, sent } = mismatch;
  const sending = (['video', 'audio'] as const)
    .flatMap((kind) => (sent[kind] ? [`${kind} as ${sent[kind]}`] : []))
    .join(' and ');
  req.log.info({ kinds, sent }, 'WHEP offer refused: cannot receive the stream');
  throw new WhipRefusal(
    422,
    'invalid_input',
    `This stream sends ${sending}; the offer cannot receive its ${kinds.join(' or ')}`,
  );
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
  const authorizePublisher = async (req: Request, streamId: string): Promise<string> => {
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
    return row.hostId;
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

  const remoteUfrags = new RemoteUfrags((sessionId) => media.sessionInfo(sessionId) !== undefined);

  /**
   * PATCH on a session (RFC 9725 §4.3): the ICE session is named by `If-Match` (428 without it,
   * 412 for another), candidates of the current ICE session are added (204), and new ICE
   * credentials, an ICE restart, get 422: the session supports trickle ICE but not restarts
   * (§4.3.1), and goes on with its ICE session as it was (§4.3.3).
   */
  const trickle = async (req: Request, res: Response, sessionId: string) => {
    const condition = ifMatch(req.headers['if-match'], iceEtag(sessionId));
    if (condition === 'missing')
      throw new WhipRefusal(428, 'invalid_input', 'Send If-Match with the session’s ETag');
    if (condition === 'failed')
      throw new WhipRefusal(412, 'conflict', 'If-Match names another ICE session than this one');
    if (!req.is('application/trickle-ice-sdpfrag')) {
      throw new AppError(
        'unsupported_media_type',
        'Send candidates as application/trickle-ice-sdpfrag',
      );
    }
    const fragment = typeof req.body === 'string' && req.body ? parse(sdpText, req.body) : '';
    if (remoteUfrags.restarts(sessionId, fragment)) {
      req.log.info('ICE restart refused: not supported');
      throw new WhipRefusal(
        422,
        'invalid_input',
        'ICE restarts are not supported: end this session (DELETE) and start a new one',
      );
    }
    for (const candidate of candidatesOf(fragment)) {
      await mediaCall(() => media.addIceCandidate(sessionId, candidate)).catch(() => undefined);
    }
    res.status(204).end();
  };

  /** GET on a session: no representation (RFC 9725 §4.1), but only where there is a session. */
  const probeSession = (
    { streamId, sessionId }: { streamId: string; sessionId: string },
    role: 'publish' | 'watch',
    res: Response,
  ) => {
    const info = media.sessionInfo(sessionId);
    if (!info || info.streamId !== streamId || info.role !== role)
      throw AppError.notFound('Session');
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
        refuseUnforwardable(req, offer);
        if (sentElsewhere(req, res, admission.publisher())) return;
        const { streamId, sessionId, answer } = await publishAsHost(hostId, offer);
        remoteUfrags.remember(sessionId, offer);
        // The key's owner publishes: TURN is theirs as it is in the web app.
        sendAnswer(res, whipSessionPath(streamId, sessionId), sessionId, answer, iceLinks(hostId));
      },
    },
    whip: {
      bodyParser: sdpBody,
      handle: async ({ params: { streamId }, req, res }) => {
        const hostId = await authorizePublisher(req, streamId);
        const offer = requireSdp(req);
        refuseUnforwardable(req, offer);
        if (sentElsewhere(req, res, admission.publisher())) return;
        const { sessionId, answer } = await publish(streamId, offer);
        remoteUfrags.remember(sessionId, offer);
        sendAnswer(res, whipSessionPath(streamId, sessionId), sessionId, answer, iceLinks(hostId));
      },
    },
    whep: {
      bodyParser: sdpBody,
      handle: async ({ params: { streamId }, query: { quality }, actor, req, res }) => {
        // Before the offer is read: a banned user or an outsider learns why, whatever they sent.
        allowedOrThrow(goneIfEnded(await streams.access.mayWatch(streamId, actor?.userId)));
        const offer = requireSdp(req);
        const owner = ownerOf(req, actor);
        // Known here when the stream is already served by this node; else once it is pulled.
        refuseUnreceivable(req, media.viewerMismatch(streamId, offer));
        // Decided in the same turn as the session is counted: racing requests cannot overshoot the cap.
        if (sentElsewhere(req, res, admission.viewer())) return;
        let session: { sessionId: string; answer: string };
        try {
          session = await mediaCall(() =>
            actor
              ? media.answerViewer(streamId, offer, owner, undefined, quality)
              : media.answerViewer(streamId, offer, owner, anonymousSessionsPerAddress, quality),
          );
        } catch (error) {
          refuseUnreceivable(req, media.viewerMismatch(streamId, offer));
          throw error;
        }
        const { sessionId, answer } = session;
        try {
          refuseUnreceivable(req, media.viewerMismatch(streamId, offer));
        } catch (error) {
          media.closeSession(sessionId);
          throw error;
        }
        remoteUfrags.remember(sessionId, offer);
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
      const sessionId = await resourceOwner(req, params, 'publish', undefined);
      media.closeSession(sessionId);
      remoteUfrags.forget(sessionId);
      res.status(200).end();
    },
    endWhep: async ({ params, actor, req, res }) => {
      const sessionId = await resourceOwner(req, params, 'watch', actor);
      media.closeSession(sessionId);
      remoteUfrags.forget(sessionId);
      res.status(200).end();
    },
    probeUserWhip: async ({ res }) => {
      res.status(204).end();
    },
    probeWhip: async ({ res }) => {
      res.status(204).end();
    },
    probeWhep: async ({ res }) => {
      // HEAD answers as GET does, without a body: the type tells a player this takes offers.
      res.set({ 'Content-Type': 'application/sdp', 'Content-Length': '0' }).status(200).end();
    },
    probeWhipSession: async ({ params, res }) => probeSession(params, 'publish', res),
    probeWhepSession: async ({ params, res }) => probeSession(params, 'watch', res),
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

  const endpoints = [routes.userWhip.path, routes.whip.path, routes.whep.path];
  const sessions = [routes.endWhip.path, routes.endWhep.path];
  const router = Router();
  // Exact paths: `/api/live/:streamId` and its other resources are the live routes'.
  router.all(endpoints, whipCors('endpoint'));
  router.all(sessions, whipCors('session'));
  router.use(served);
  // What no route above took on these paths is a method they do not use.
  router.all(endpoints, methodNotAllowed('endpoint'));
  router.all(sessions, methodNotAllowed('session'));
  router.use([...endpoints, ...sessions], whipErrors);
  return router;
}
