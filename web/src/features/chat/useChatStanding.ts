import type { ChatRole, ChatState } from '@onair/protocol';
import { useCallback, useEffect, useState } from 'react';
import { useAuth } from '../auth/AuthContext';

/** Where the signed-in user stands in one stream's chat, kept current by the server's events. */
export interface ChatStanding {
  role: ChatRole;
  /** One comment per this many seconds; 0 when slow mode is off. */
  slowModeSeconds: number;
  /** When this user's timeout ends (ms since the epoch); null when they may chat. */
  timedOutUntil: number | null;
  banned: boolean;
}

const fromJoin = (joined: ChatState | null): Omit<ChatStanding, 'banned'> => ({
  role: joined?.role ?? 'viewer',
  slowModeSeconds: joined?.slowModeSeconds ?? 0,
  timedOutUntil: joined?.timedOutUntil ? Date.parse(joined.timedOutUntil) : null,
});

/**
 * The chat's rules and this user's part in it: from the latest join (`joined`, sent again on every
 * rejoin, so it wins over anything older), then `live_role`, `live_slow_mode`, `live_timed_out`
 * and `live_banned`. A ban is final for the page. `noteTimedOut` and `noteBanned` take what a
 * refused comment says, for a tab that missed the event.
 */
export function useChatStanding(streamId: string, joined: ChatState | null, banned: boolean) {
  const { socket } = useAuth();
  const [standing, setStanding] = useState<ChatStanding>(() => ({ ...fromJoin(joined), banned }));

  useEffect(() => {
    if (joined) setStanding((s) => ({ ...fromJoin(joined), banned: s.banned }));
  }, [joined]);
  useEffect(() => {
    if (banned) setStanding((s) => ({ ...s, banned: true }));
  }, [banned]);

  useEffect(() => {
    const mine = (e: { streamId: string }) => e.streamId === streamId;
    const offs = [
      socket.on('live_role', (e) => mine(e) && setStanding((s) => ({ ...s, role: e.role }))),
      socket.on(
        'live_slow_mode',
        (e) => mine(e) && setStanding((s) => ({ ...s, slowModeSeconds: e.seconds })),
      ),
      socket.on(
        'live_timed_out',
        (e) => mine(e) && setStanding((s) => ({ ...s, timedOutUntil: Date.parse(e.until) })),
      ),
      socket.on('live_banned', (e) => mine(e) && setStanding((s) => ({ ...s, banned: true }))),
    ];
    return () => offs.forEach((off) => off());
  }, [socket, streamId]);

  const noteTimedOut = useCallback(
    (until: string) => setStanding((s) => ({ ...s, timedOutUntil: Date.parse(until) })),
    [],
  );
  const noteBanned = useCallback(() => setStanding((s) => ({ ...s, banned: true })), []);
  const noteSlowMode = useCallback(
    (seconds: number) => setStanding((s) => ({ ...s, slowModeSeconds: seconds })),
    [],
  );
  return { standing, noteTimedOut, noteBanned, noteSlowMode };
}
