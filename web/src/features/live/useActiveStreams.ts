import type { Stream } from '@onair/protocol';
import { useEffect, useState } from 'react';
import { call } from '../../lib/api';
import { describeError } from '../../lib/errors';
import { useAuth } from '../auth/AuthContext';

/**
 * The live streams this visitor may see (public ones when signed out), kept current by the
 * server's events (each stream once).
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
    // Subscribe before fetching, so a stream that starts in between is not missed.
    const offStarted = socket.on('live_started', (stream) =>
      setStreams((list) =>
        list.some((s) => s.streamId === stream.streamId) ? list : [stream, ...list],
      ),
    );
    const offEnded = socket.on('live_ended', ({ streamId }) =>
      setStreams((list) => list.filter((s) => s.streamId !== streamId)),
    );
    const offCount = socket.on('viewer_count', ({ streamId, viewerCount }) =>
      update(streamId, { viewerCount }),
    );
    const offThumbnail = socket.on('live_thumbnail', ({ streamId, thumbnail }) =>
      update(streamId, { thumbnail }),
    );
    // The socket's token is the session's: one list per identity, fetched again on sign-in.
    call('activeStreams', { token: socket.token })
      .then((fetched) => {
        if (cancelled) return;
        setStreams((live) => {
          const byId = new Map(fetched.map((s) => [s.streamId, s]));
          for (const s of live) if (!byId.has(s.streamId)) byId.set(s.streamId, s);
          return [...byId.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
        });
      })
      .catch((e: unknown) => !cancelled && setError(describeError(e)))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
      offStarted();
      offEnded();
      offCount();
      offThumbnail();
    };
  }, [socket]);

  return { streams, error, loading };
}
