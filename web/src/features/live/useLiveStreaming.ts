import type { ChatState, LiveComment, QualityChoice, Stream, StreamLayer } from '@onair/protocol';
import { useCallback, useEffect, useRef, useState } from 'react';
import { iceServers as fetchIceServers } from '../../lib/api';
import { describeError, errorSentences } from '../../lib/errors';
import { LiveSocket, otherNodeOf, retryAfterOf, type SocketError } from '../../lib/live-socket';
import { receivesMedia, retryDelayMs, watchMedia } from '../../lib/media-watchdog';
import {
  followLayers,
  healthSampler,
  publish,
  replaceTracks,
  watch,
  type StreamHealth,
} from '../../lib/rtc';
import { useAuth, useSession } from '../auth/AuthContext';
import {
  anonymousVisits,
  rememberAnonymousVisit,
  rememberedQuality,
  rememberQuality,
} from './device-memory';

export type StreamPhase = 'joining' | 'live' | 'reconnecting' | 'waiting' | 'ended' | 'error';

/**
 * How long a broadcaster back from a socket drop keeps asking while the stream still holds its
 * old publisher: it is taken over once quiet for 2 s or once its node is known to be gone (within
 * 10 s), and a server notices a silent socket after its ping interval and timeout (20 s).
 */
const republishWindowMs = 25_000;
const republishRetryMs = 1000;

/**
 * What the chat gives the room's joins so that a rejoin after a drop brings back the comments
 * missed meanwhile (issue 11).
 */
export interface ChatCatchUp {
  /** The last comment the chat holds, named in the join; the chat waits for `settle` then. */
  since: () => string | undefined;
  /** The answer to a join that named one: the comments stored since, or undefined on failure. */
  settle: (missed: LiveComment[] | undefined) => void;
}

/**
 * Room state both roles share: joining the room, the count, the end, and whether the socket is
 * up. `reconnects` counts the connections that followed a drop while mounted: the server closes
 * a socket's media sessions when it disconnects, so media effects depend on it to start again.
 * `interrupted` holds from a drop until the socket is back. `chat` is where this user stands in the
 * chat as of the latest join; `banned` holds once the host has banned them (told live, or refused
 * on joining), and `onBanned` runs then. `followersOnly` holds while they may not watch a private
 * stream (they unfollowed its host, told live or refused on joining); the server's
 * `live_access_granted` (they followed again, from any tab) ends it and joins again. `layers`
 * are the broadcaster's simulcast layers as the server last reported them (lowest first; empty
 * until the first report, which comes within a few seconds of joining).
 * Every listener added here is removed here.
 */
function useRoom(
  streamId: string,
  onEnded: () => void,
  onRevoked: () => void = () => undefined,
  onBanned: () => void = () => undefined,
  feed?: ChatCatchUp,
) {
  // Signed in or not: an anonymous socket may join public streams.
  const { socket } = useAuth();
  const [interrupted, setInterrupted] = useState(false);
  const [reconnects, setReconnects] = useState(0);
  const [viewerCount, setViewerCount] = useState(0);
  const [stream, setStream] = useState<Stream | null>(null);
  const [joinError, setJoinError] = useState<string | null>(null);
  const [chat, setChat] = useState<ChatState | null>(null);
  const [banned, setBanned] = useState(false);
  const [followersOnly, setFollowersOnly] = useState(false);
  const [layers, setLayers] = useState<StreamLayer[]>([]);
  const ended = useRef(onEnded);
  ended.current = onEnded;
  const revoked = useRef(onRevoked);
  revoked.current = onRevoked;
  const bannedRef = useRef(onBanned);
  bannedRef.current = onBanned;
  const catchUp = useRef(feed);
  catchUp.current = feed;

  useEffect(() => {
    const offCount = socket.on(
      'viewer_count',
      (c) => c.streamId === streamId && setViewerCount(c.viewerCount),
    );
    const offEnded = socket.on('live_ended', (e) => e.streamId === streamId && ended.current());
    const offLayers = socket.on(
      'live_layers',
      (e) => e.streamId === streamId && setLayers(e.layers),
    );
    const shutOut = () => {
      setFollowersOnly(true);
      revoked.current();
    };
    const offRevoked = socket.on(
      'live_access_revoked',
      (e) => e.streamId === streamId && shutOut(),
    );
    const ban = () => {
      setBanned(true);
      bannedRef.current();
    };
    const offBanned = socket.on('live_banned', (e) => e.streamId === streamId && ban());
    const join = () => {
      const feed = catchUp.current;
      const sinceCommentId = feed?.since();
      // Watching anonymously, this device remembers under which ids; signed in, it names them,
      // so the host's unique viewers count this person once.
      const anonymousId = socket.token === null ? socket.id : undefined;
      if (anonymousId) rememberAnonymousVisit(streamId, anonymousId);
      const formerAnonymousIds = socket.token === null ? [] : anonymousVisits(streamId);
      return socket
        .request('join_live', {
          streamId,
          ...(sinceCommentId ? { sinceCommentId } : {}),
          ...(formerAnonymousIds.length > 0 ? { formerAnonymousIds } : {}),
        })
        .then((joined) => {
          if (sinceCommentId) feed?.settle(joined.missedComments ?? []);
          setFollowersOnly(false);
          setStream(joined.stream);
          setViewerCount(joined.viewerCount);
          setChat(joined.chat);
        })
        .catch((e: SocketError) => {
          if (sinceCommentId) feed?.settle(undefined);
          if (e.error?.code === 'stream_ended') ended.current();
          else if (e.error?.code === 'banned') ban();
          else if (e.error?.code === 'followers_only') shutOut();
          else setJoinError(describeError(e));
        });
    };
    // Following again lets this page back in: join, and the media starts once it has.
    const offGranted = socket.on('live_access_granted', (e) => {
      if (e.streamId !== streamId) return;
      void join(); // as below: it settles its own failure, and a success lets the media start
    });
    // `join` shows its own failure (or the end); nothing is left to wait for.
    void join();
    // The server forgets a socket's rooms when it goes, and joining is idempotent: every connect
    // joins. Media is not idempotent, and requests made while the socket is down wait in its
    // buffer and go out on connect: only a connection after a drop seen here starts it again.
    let dropped = false;
    const offConnection = socket.onConnection((up) => {
      setInterrupted(!up);
      if (!up) {
        dropped = true;
        return;
      }
      void join(); // as above: it settles its own failure
      if (dropped) {
        dropped = false;
        setReconnects((n) => n + 1);
      }
    });
    return () => {
      offCount();
      offEnded();
      offLayers();
      offRevoked();
      offGranted();
      offBanned();
      offConnection();
      socket.request('leave_live', { streamId }).catch(() => undefined);
    };
  }, [socket, streamId]);

  return {
    socket,
    interrupted,
    reconnects,
    viewerCount,
    stream,
    joinError,
    chat,
    banned,
    followersOnly,
    layers,
  };
}

/** How long a viewer's session is watched for the returning broadcaster's picture. */
const resumeCheckMs = 2000;
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The stream still has a publisher: this broadcaster's own, from before its socket dropped. */
const isConflict = (e: unknown) => (e as SocketError).error?.code === 'conflict';

/** The broadcaster's side: camera, publishing, health. Never used by a viewer. */
export function useBroadcast(streamId: string, media: MediaStream | null, feed?: ChatCatchUp) {
  const { session } = useSession();
  const [phase, setPhase] = useState<StreamPhase>('joining');
  const [health, setHealth] = useState<StreamHealth | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [errorCode, setErrorCode] = useState<string | null>(null);
  const room = useRoom(streamId, () => setPhase('ended'), undefined, undefined, feed);
  const pcRef = useRef<RTCPeerConnection | null>(null);
  const { reconnects } = room;
  /** Times the media connection was lost while the socket stayed up: each publishes again. */
  const [mediaRetries, setMediaRetries] = useState(0);
  const failures = useRef(0);
  const phaseRef = useRef(phase);
  phaseRef.current = phase;

  useEffect(() => {
    if (!media) return;
    let closed = false;
    let timer: ReturnType<typeof setInterval> | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let stopWatching: (() => void) | undefined;
    let pc: RTCPeerConnection | null = null;
    const onState = () => {
      if (pc?.connectionState === 'failed') setPhase((p) => (p === 'ended' ? p : 'reconnecting'));
      if (pc?.connectionState === 'connected') failures.current = 0;
    };
    // Back from a socket drop, or the media connection was lost (its server may be gone): the
    // same camera MediaStream goes out again on a new connection, wherever the socket now is.
    const resuming = reconnects > 0 || mediaRetries > 0;
    if (resuming) setPhase((p) => (p === 'ended' ? p : 'reconnecting'));
    const connect = async (): Promise<RTCPeerConnection> => {
      const iceServers = await fetchIceServers(session.token);
      const giveUpAt = Date.now() + republishWindowMs;
      for (;;) {
        try {
          return await publish(room.socket, streamId, media, iceServers);
        } catch (e) {
          // The stream still holds this broadcaster's old publisher (a conflict) until it has
          // sent nothing for 2 s, or its node is known to be gone (within 10 s of its death),
          // or the server sees its socket go; then this one takes the stream over. The same on
          // a first try: this tab went live, and a reload after a drop finds its old publisher.
          // One that keeps sending is another device's: the conflict then reaches the page.
          if (!isConflict(e) || closed || Date.now() > giveUpAt) throw e;
          await delay(republishRetryMs);
          if (closed) throw e;
        }
      }
    };
    connect().then(
      (connection) => {
        if (closed) return connection.close();
        pc = connection;
        pcRef.current = pc;
        setPhase((p) => (p === 'ended' ? p : 'live'));
        const sample = healthSampler(pc);
        timer = setInterval(() => {
          // A connection closing under the sampler has no stats: skip that reading.
          sample().then(
            (h) => h && setHealth(h),
            () => undefined,
          );
        }, 1000);
        pc.addEventListener('connectionstatechange', onState);
        onState();
        stopWatching = watchMedia(pc, () => {
          if (closed || phaseRef.current === 'ended') return;
          failures.current += 1;
          retry = setTimeout(() => setMediaRetries((n) => n + 1), retryDelayMs(failures.current));
        });
      },
      (e: unknown) => {
        if (closed) return;
        setError(describeError(e));
        setErrorCode((e as SocketError).error?.code ?? null);
        setPhase((e as SocketError).error?.code === 'stream_ended' ? 'ended' : 'error');
      },
    );
    return () => {
      closed = true;
      clearInterval(timer);
      clearTimeout(retry);
      stopWatching?.();
      pc?.removeEventListener('connectionstatechange', onState);
      pc?.close();
      if (pcRef.current === pc) pcRef.current = null;
    };
  }, [media, room.socket, session.token, streamId, reconnects, mediaRetries]);

  // Each report of the layers pauses those nobody needs and resumes the others (issue 19). A new
  // connection sends every layer until the server's first report of it. One change at a time: a
  // sender's parameters are read, then set.
  const { layers } = room;
  const followingLayers = useRef(Promise.resolve());
  useEffect(() => {
    const pc = pcRef.current;
    if (!pc || layers.length === 0) return;
    followingLayers.current = followingLayers.current
      .then(() => (pc.connectionState === 'closed' ? undefined : followLayers(pc, layers)))
      .catch(() => undefined);
  }, [layers]);

  /**
   * Swaps the camera or microphone without renegotiating, in every section of that kind (each
   * layer has one); `null` sends nothing of that kind (the camera turned off).
   */
  const replaceTrack = useCallback(
    async (kind: 'audio' | 'video', track: MediaStreamTrack | null) => {
      if (pcRef.current) await replaceTracks(pcRef.current, kind, track);
    },
    [],
  );

  /** Ends the stream; a failure is shown as the broadcast's error, never thrown. */
  const end = useCallback(async () => {
    try {
      await room.socket.request('end_live', { streamId });
      setPhase('ended');
    } catch (e) {
      // Already over (ended elsewhere, or its publisher never came back): what was asked for.
      if ((e as SocketError).error?.code === 'stream_ended') setPhase('ended');
      else setError(describeError(e));
    }
  }, [room.socket, streamId]);

  return {
    // While the socket is down nothing reaches the server: say so rather than LIVE.
    phase: room.interrupted && phase !== 'ended' ? ('reconnecting' as const) : phase,
    health,
    error,
    /** The failure's code: `conflict` when another tab or device publishes the stream. */
    errorCode,
    viewerCount: room.viewerCount,
    chat: room.chat,
    layers: room.layers,
    end,
    replaceTrack,
  };
}

/**
 * The viewer's side: receive-only media from the server. Never asks for the camera. With
 * `receiveMedia` false (the viewer watches over HLS instead) the room is joined as ever, for the
 * chat, the count and the end, but no WebRTC session is asked for. `full` holds once the server
 * refused a session for want of room.
 */
export function useWatch(
  streamId: string,
  feed?: ChatCatchUp,
  { receiveMedia = true }: { receiveMedia?: boolean } = {},
) {
  const [phase, setPhase] = useState<StreamPhase>('joining');
  const [full, setFull] = useState(false);
  const [remote, setRemote] = useState<MediaStream | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Shut out of a private stream, the server has closed this viewer's media: `followersOnly`
  // says why (rather than "reconnecting" forever), and its end starts the media again.
  const room = useRoom(
    streamId,
    () => setPhase('ended'),
    undefined,
    () => {
      setError(errorSentences.banned);
      setPhase('error');
    },
    feed,
  );
  const [attempt, setAttempt] = useState(0);
  /** Media connections lost in a row; reset once one connects. */
  const failures = useRef(0);
  /** The viewer's current media connection, once it has one. */
  const watching = useRef<RTCPeerConnection | null>(null);
  /** The same, for what is shown of it (the managing host's stream health). */
  const [connection, setConnection] = useState<RTCPeerConnection | null>(null);
  /** The socket the current media session was opened on (another node's, when this one was full). */
  const sessionSocket = useRef<LiveSocket | null>(null);
  /** The quality menu's choice, remembered on this device; each new session asks for it. */
  const [quality, setQuality] = useState<QualityChoice>(rememberedQuality);
  const qualityRef = useRef(quality);
  qualityRef.current = quality;
  const phaseRef = useRef(phase);
  phaseRef.current = phase;

  useEffect(() => {
    const offReconnecting = room.socket.on(
      'broadcaster_reconnecting',
      (e) => e.streamId === streamId && setPhase('reconnecting'),
    );
    let checking = false;
    const offResumed = room.socket.on('broadcaster_resumed', (e) => {
      if (e.streamId !== streamId) return;
      setPhase((p) => (p === 'ended' ? p : 'live'));
      const pc = watching.current;
      // Not connected yet: ask again at once.
      if (!pc || pc.connectionState !== 'connected') return setAttempt((n) => n + 1);
      // Connected: the returning broadcaster normally reaches this very session (on this node or
      // relayed from its new one); a new session only if no picture comes (another codec, say).
      if (checking) return;
      checking = true;
      void receivesMedia(pc, resumeCheckMs)
        .catch(() => false)
        .then((flowing) => {
          checking = false;
          if (!flowing && watching.current === pc) setAttempt((n) => n + 1);
        });
    });
    return () => {
      offReconnecting();
      offResumed();
    };
  }, [room.socket, streamId]);

  /** Tells the open session of the viewer's choice; a session that went meanwhile needs none. */
  const sendQuality = useCallback(
    (next: QualityChoice) => {
      sessionSocket.current
        ?.request('live_quality', { streamId, quality: next })
        .catch(() => undefined);
    },
    [streamId],
  );

  const { reconnects, banned, followersOnly } = room;
  useEffect(() => {
    // Banned or shut out: the server has closed this viewer's media; the picture goes too.
    // Watching over HLS: no session to hold.
    if (banned || followersOnly || !receiveMedia) {
      setRemote(null);
      return;
    }
    let closed = false;
    let pc: RTCPeerConnection | null = null;
    // A node with room, when this one is full: media is watched over a socket to it, while the
    // room (chat, counts) stays on this one.
    let away: LiveSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let stopWatching: (() => void) | undefined;
    // An end or a revoked access is final: a connection changing state after it changes nothing.
    const final = (p: StreamPhase) => p === 'ended' || p === 'error';
    const onState = () => {
      if (pc?.connectionState === 'failed' || pc?.connectionState === 'disconnected')
        setPhase((p) => (final(p) ? p : 'reconnecting'));
      if (pc?.connectionState === 'connected') {
        failures.current = 0;
        setPhase((p) => (final(p) ? p : 'live'));
      }
    };
    // The media connection is gone while the socket may still be up (its node's media failed,
    // or the socket has not yet noticed the node is gone): watch again, over whichever node the
    // socket is on by then, without a page load.
    const onLost = () => {
      if (closed || final(phaseRef.current)) return;
      failures.current += 1;
      retry = setTimeout(() => setAttempt((n) => n + 1), retryDelayMs(failures.current));
    };
    const start = async () => {
      try {
        const iceServers = await fetchIceServers(room.socket.token);
        const onStream = (stream: MediaStream) => !closed && setRemote(stream);
        const quality = qualityRef.current;
        const connection = await watch(room.socket, streamId, iceServers, onStream, quality).catch(
          (e: unknown) => {
            const nodeUrl = otherNodeOf(e);
            if (!nodeUrl || closed) throw e;
            const other = new LiveSocket(room.socket.token, nodeUrl);
            away = other;
            // That node went (or is restarting): its sessions went with its socket; watch again
            // from the start, wherever there is room now.
            other.onConnection((up) => {
              if (!up && !closed) setAttempt((n) => n + 1);
            });
            return watch(other, streamId, iceServers, onStream, quality);
          },
        );
        if (closed) return connection.close();
        pc = connection;
        watching.current = connection;
        sessionSocket.current = away ?? room.socket;
        // Changed while the offer was on its way: the session gets the newer choice.
        if (qualityRef.current !== quality) sendQuality(qualityRef.current);
        setConnection(connection);
        setPhase((p) => (p === 'joining' || p === 'waiting' ? 'live' : p));
        pc.addEventListener('connectionstatechange', onState);
        // It may have connected before the listener was there.
        onState();
        stopWatching = watchMedia(pc, onLost);
      } catch (e) {
        if (closed) return;
        const code = (e as SocketError).error?.code;
        // Live, but its broadcaster is not sending yet: `broadcaster_resumed` starts watching.
        if (code === 'no_publisher') setPhase('waiting');
        else if (code === 'stream_ended') setPhase('ended');
        else if (code === 'unavailable' && retryAfterOf(e) !== undefined) {
          // Every node is full for now: still joining, asking again when told to.
          setFull(true);
          retry = setTimeout(() => setAttempt((n) => n + 1), (retryAfterOf(e) ?? 5) * 1000);
        } else {
          if (code === 'unavailable') setFull(true);
          setError(describeError(e));
          setPhase('error');
        }
      }
    };
    // `start` turns every failure into a phase of its own; nothing is left to wait for.
    void start();
    return () => {
      closed = true;
      clearTimeout(retry);
      stopWatching?.();
      if (watching.current === pc) {
        watching.current = null;
        sessionSocket.current = null;
      }
      setConnection((current) => (current === pc ? null : current));
      pc?.removeEventListener('connectionstatechange', onState);
      pc?.close();
      away?.close();
    };
    // `reconnects`: the server closed this tab's viewing session with its old socket; watch again.
    // `followersOnly`: back in after following again, watch again.
    // Not `quality`: a choice changes the open session (`live_quality`), never reconnects.
  }, [
    room.socket,
    streamId,
    attempt,
    reconnects,
    banned,
    followersOnly,
    receiveMedia,
    sendQuality,
  ]);

  /**
   * The viewer's choice in the quality menu: remembered on this device, and applied at once to
   * the session being watched. Without one yet, the next session asks for it from the start.
   */
  const chooseQuality = useCallback(
    (next: QualityChoice) => {
      rememberQuality(next);
      setQuality(next);
      qualityRef.current = next;
      sendQuality(next);
    },
    [sendQuality],
  );

  return {
    phase,
    remote,
    interrupted: room.interrupted,
    error: error ?? room.joinError,
    viewerCount: room.viewerCount,
    stream: room.stream,
    chat: room.chat,
    banned,
    connection,
    followersOnly,
    layers: room.layers,
    quality,
    chooseQuality,
    full,
  };
}
