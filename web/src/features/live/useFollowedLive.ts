import { useEffect, useState } from 'react';
import { call } from '../../lib/api';
import { useAuth } from '../auth/AuthContext';

/**
 * Which live streams belong to hosts the signed-in user follows: read once, and added to when a
 * followed host goes live (their `notification` says so). Empty for visitors. `ready` once read
 * (or failed), so the page does not show a followed stream among the others first and then move it.
 */
export function useFollowedLive(): { streamIds: ReadonlySet<string>; ready: boolean } {
  const { session, socket } = useAuth();
  const token = session?.token ?? null;
  const [streamIds, setStreamIds] = useState<ReadonlySet<string>>(() => new Set());
  const [readFor, setReadFor] = useState<string | null>(null);

  useEffect(() => {
    setStreamIds(new Set());
    if (!token) return;
    let cancelled = false;
    const add = (ids: string[]) => setStreamIds((known) => new Set([...known, ...ids]));
    const off = socket.on('notification', (n) => add([n.stream.streamId]));
    call('followingLive', { token })
      .then(
        (streams) => !cancelled && add(streams.map((s) => s.streamId)),
        // Only an ordering: without it everyone is in one list.
        () => undefined,
      )
      .finally(() => !cancelled && setReadFor(token));
    return () => {
      cancelled = true;
      off();
    };
  }, [socket, token]);

  return { streamIds, ready: !token || readFor === token };
}
