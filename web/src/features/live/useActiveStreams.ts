import type { Stream } from '@onair/protocol';
import { useEffect, useState } from 'react';
import { call } from '../../lib/api';
import { describeError } from '../../lib/errors';
import { useAuth } from '../auth/AuthContext';

/**
 * The live streams this visitor may see (public ones when signed out), kept current by the
 * server's events (each stream once) and asked for again whenever the socket (re)connects.
 */
export function useActiveStreams(): { streams: Stream[]; error: string | null; loading: boolean } {
  const { socket } = useAuth();
  const [streams, setStreams] = useState<Stream[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    let cancelled = false;
    setStreams([]);
    setLoading(true);
    const update = (streamId: string, change: Partial<Stream>) =>
      setStreams((list) => list.map((s) => (s.streamId === streamId ? { ...s, ...change } : s)));
    /** What the events said since the list was last asked for, which its answer may not know. */
    let startedSince = new Map<string, Stream>();
    let endedSince = new Set<string>();
    // Subscribe before fetching, so a stream that starts in between is not missed.
    const offStarted = socket.on('live_started', (stream) => {
      startedSince.set(stream.streamId, stream);
      setStreams((list) =>
        list.some((s) => s.streamId === stream.streamId) ? list : [stream, ...list],
      );
    });
    const offEnded = socket.on('live_ended', ({ streamId }) => {
      endedSince.add(streamId);
      setStreams((list) => list.filter((s) => s.streamId !== streamId));
    });
    const offCount = socket.on('viewer_count', ({ streamId, viewerCount }) =>
      update(streamId, { viewerCount }),
    );
    const offThumbnail = socket.on('live_thumbnail', ({ streamId, thumbnail }) =>
      update(streamId, { thumbnail }),
    );
    // The socket's token is the session's: one list per identity, fetched again on sign-in.
    let asked = 0;
    const load = () => {
      startedSince = new Map();
      endedSince = new Set();
      const ask = ++asked;
      call('activeStreams', { token: socket.token })
        .then((fetched) => {
          // A later question's answer knows more: an earlier one arriving after it is dropped.
          if (cancelled || ask !== asked) return;
          const byId = new Map(fetched.map((s) => [s.streamId, s]));
          for (const [id, s] of startedSince) if (!byId.has(id)) byId.set(id, s);
          for (const id of endedSince) byId.delete(id);
          setStreams([...byId.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt)));
          setError(null);
        })
        .catch((e: unknown) => !cancelled && ask === asked && setError(describeError(e)))
        .finally(() => !cancelled && ask === asked && setLoading(false));
    };
    load();
    // Events sent while the socket was connecting or away never reach it: ask again once it is
    // (back) up.
    const offConnection = socket.onConnection((up) => up && load());
    return () => {
      cancelled = true;
      offStarted();
      offEnded();
      offCount();
      offThumbnail();
      offConnection();
    };
  }, [socket]);

  return { streams, error, loading };
}
