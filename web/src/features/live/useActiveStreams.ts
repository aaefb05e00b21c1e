import type { Stream } from '@onair/protocol';
import { useEffect, useState } from 'react';
import { apiRequest } from '../../lib/api';
import { useSession } from '../auth/AuthContext';

/** The live streams this user may see, kept current by the server's events (each stream once). */
export function useActiveStreams(): { streams: Stream[]; error: string | null; loading: boolean } {
  const { session, socket } = useSession();
  const [streams, setStreams] = useState<Stream[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    let cancelled = false;
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
      setStreams((list) => list.map((s) => (s.streamId === streamId ? { ...s, viewerCount } : s))),
    );
    apiRequest<Stream[]>('GET', '/api/live/active', { token: session.token })
      .then((fetched) => {
        if (cancelled) return;
        setStreams((live) => {
          const byId = new Map(fetched.map((s) => [s.streamId, s]));
          for (const s of live) if (!byId.has(s.streamId)) byId.set(s.streamId, s);
          return [...byId.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
        });
      })
      .catch((e: Error) => !cancelled && setError(e.message))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
      offStarted();
      offEnded();
      offCount();
    };
  }, [session.token, socket]);

  return { streams, error, loading };
}
