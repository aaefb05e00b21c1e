import type { Stream } from '@onair/protocol';
import { useCallback, useEffect, useRef, useState } from 'react';
import { apiRequest } from '../../lib/api';
import type { SocketError } from '../../lib/live-socket';
import { healthSampler, publish, watch, type StreamHealth } from '../../lib/rtc';
import { useSession } from '../auth/AuthContext';

export type StreamPhase = 'joining' | 'live' | 'reconnecting' | 'waiting' | 'ended' | 'error';

async function iceServersFor(token: string): Promise<RTCIceServer[]> {
  return (
    await apiRequest<{ iceServers: RTCIceServer[] }>('GET', '/api/live/ice-servers', { token })
  ).iceServers;
}

/** Room state both roles share: joining the room, the count, the end. Every listener added here is removed here. */
function useRoom(streamId: string, onEnded: () => void) {
  const { socket } = useSession();
  const [viewerCount, setViewerCount] = useState(0);
  const [stream, setStream] = useState<Stream | null>(null);
  const [joinError, setJoinError] = useState<string | null>(null);
  const ended = useRef(onEnded);
  ended.current = onEnded;

  useEffect(() => {
    const offCount = socket.on(
      'viewer_count',
      (c) => c.streamId === streamId && setViewerCount(c.viewerCount),
    );
    const offEnded = socket.on('live_ended', (e) => e.streamId === streamId && ended.current());
    const join = () =>
      socket
        .request('join_live', { streamId })
        .then((joined) => {
          setStream(joined.stream);
          setViewerCount(joined.viewerCount);
        })
        .catch((e: SocketError) =>
          e.error?.code === 'stream_ended' ? ended.current() : setJoinError(e.message),
        );
    void join();
    // After a reconnect the server has forgotten this socket's room: join again.
    const offConnection = socket.onConnection((up) => up && void join());
    return () => {
      offCount();
      offEnded();
      offConnection();
      socket.request('leave_live', { streamId }).catch(() => undefined);
    };
  }, [socket, streamId]);

  return { socket, viewerCount, stream, joinError };
}

/** The broadcaster's side: camera, publishing, health. Never used by a viewer. */
export function useBroadcast(streamId: string, media: MediaStream | null) {
  const { session } = useSession();
  const [phase, setPhase] = useState<StreamPhase>('joining');
  const [health, setHealth] = useState<StreamHealth | null>(null);
  const [error, setError] = useState<string | null>(null);
  const room = useRoom(streamId, () => setPhase('ended'));
  const pcRef = useRef<RTCPeerConnection | null>(null);

  useEffect(() => {
    if (!media) return;
    let closed = false;
    let timer: ReturnType<typeof setInterval> | undefined;
    const start = async () => {
      try {
        const pc = await publish(room.socket, streamId, media, await iceServersFor(session.token));
        if (closed) return pc.close();
        pcRef.current = pc;
        setPhase('live');
        const sample = healthSampler(pc);
        timer = setInterval(() => void sample().then((h) => h && setHealth(h)), 1000);
        pc.addEventListener('connectionstatechange', () => {
          if (pc.connectionState === 'failed') setPhase('reconnecting');
        });
      } catch (e) {
        if (!closed) {
          setError((e as Error).message);
          setPhase((e as SocketError).error?.code === 'stream_ended' ? 'ended' : 'error');
        }
      }
    };
    void start();
    return () => {
      closed = true;
      clearInterval(timer);
      pcRef.current?.close();
      pcRef.current = null;
    };
  }, [media, room.socket, session.token, streamId]);

  /** Swaps the camera or microphone without renegotiating. */
  const replaceTrack = useCallback(async (track: MediaStreamTrack) => {
    const sender = pcRef.current?.getSenders().find((s) => s.track?.kind === track.kind);
    await sender?.replaceTrack(track);
  }, []);

  const end = useCallback(async () => {
    await room.socket.request('end_live', { streamId });
    setPhase('ended');
  }, [room.socket, streamId]);

  return { phase, health, error, viewerCount: room.viewerCount, end, replaceTrack };
}

/** The viewer's side: receive-only media from the server. Never asks for the camera. */
export function useWatch(streamId: string) {
  const { session } = useSession();
  const [phase, setPhase] = useState<StreamPhase>('joining');
  const [remote, setRemote] = useState<MediaStream | null>(null);
  const [error, setError] = useState<string | null>(null);
  const room = useRoom(streamId, () => setPhase('ended'));
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const offReconnecting = room.socket.on(
      'broadcaster_reconnecting',
      (e) => e.streamId === streamId && setPhase('reconnecting'),
    );
    const offResumed = room.socket.on('broadcaster_resumed', (e) => {
      if (e.streamId !== streamId) return;
      setPhase((p) => (p === 'ended' ? p : 'live'));
      // A new publisher may use another codec, or this viewer may not have connected yet: ask again.
      setAttempt((n) => n + 1);
    });
    return () => {
      offReconnecting();
      offResumed();
    };
  }, [room.socket, streamId]);

  useEffect(() => {
    let closed = false;
    let pc: RTCPeerConnection | null = null;
    const start = async () => {
      try {
        pc = await watch(
          room.socket,
          streamId,
          await iceServersFor(session.token),
          (stream) => !closed && setRemote(stream),
        );
        if (closed) return pc.close();
        setPhase((p) => (p === 'joining' || p === 'waiting' ? 'live' : p));
        pc.addEventListener('connectionstatechange', () => {
          if (pc?.connectionState === 'failed' || pc?.connectionState === 'disconnected')
            setPhase((p) => (p === 'ended' ? p : 'reconnecting'));
          if (pc?.connectionState === 'connected') setPhase((p) => (p === 'ended' ? p : 'live'));
        });
      } catch (e) {
        if (closed) return;
        const code = (e as SocketError).error?.code;
        if (code === 'conflict') setPhase('waiting');
        else if (code === 'stream_ended') setPhase('ended');
        else {
          setError((e as Error).message);
          setPhase('error');
        }
      }
    };
    void start();
    return () => {
      closed = true;
      pc?.close();
    };
  }, [room.socket, session.token, streamId, attempt]);

  return {
    phase,
    remote,
    error: error ?? room.joinError,
    viewerCount: room.viewerCount,
    stream: room.stream,
  };
}
