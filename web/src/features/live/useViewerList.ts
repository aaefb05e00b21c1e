import type { ViewerList } from '@onair/protocol';
import { useCallback, useEffect, useRef, useState } from 'react';
import { describeError } from '../../lib/errors';
import { useAuth } from '../auth/AuthContext';

/** A signed-in viewer's arrival, as the host's chat shows it. */
export interface JoinNotice {
  key: number;
  userId: string;
  username: string;
}

/** How often, at most, the list is asked for again while people come and go. */
const refreshMs = 1000;
/** Arrivals kept for the chat's "joined" lines. */
const noticesKept = 5;

/**
 * Who watches the host's stream now: the server's list on opening and on every reconnect, asked
 * again (at most once a second) whenever someone comes or goes, so it stays exact whichever node
 * they joined on. Arrivals of signed-in viewers are kept for the "joined" lines. Host only: the
 * server refuses anyone else.
 */
export function useViewerList(streamId: string) {
  const { socket } = useAuth();
  const [list, setList] = useState<ViewerList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [joins, setJoins] = useState<JoinNotice[]>([]);
  const refresh = useRef<() => void>(() => undefined);

  useEffect(() => {
    let closed = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let asking = false;
    let again = false;
    const ask = () => {
      if (asking) {
        again = true;
        return;
      }
      asking = true;
      socket
        .request('viewer_list', { streamId })
        .then(
          (next) => {
            if (closed) return;
            setList(next);
            setError(null);
          },
          (e: unknown) => !closed && setError(describeError(e)),
        )
        .finally(() => {
          asking = false;
          if (again && !closed) {
            again = false;
            schedule();
          }
        });
    };
    const schedule = () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        ask();
      }, refreshMs);
    };
    refresh.current = schedule;
    let key = 0;
    const offJoined = socket.on('viewer_joined', (e) => {
      if (e.streamId !== streamId) return;
      key += 1;
      const notice = { key, userId: e.userId, username: e.username };
      setJoins((current) => [...current, notice].slice(-noticesKept));
      schedule();
    });
    const offLeft = socket.on('viewer_left', (e) => e.streamId === streamId && schedule());
    // Anonymous watchers come and go as a count only.
    const offCount = socket.on('viewer_count', (e) => e.streamId === streamId && schedule());
    const offConnection = socket.onConnection((up) => up && ask());
    ask();
    return () => {
      closed = true;
      clearTimeout(timer);
      refresh.current = () => undefined;
      offJoined();
      offLeft();
      offCount();
      offConnection();
    };
  }, [socket, streamId]);

  const refreshSoon = useCallback(() => refresh.current(), []);
  return { list, error, joins, refreshSoon };
}
