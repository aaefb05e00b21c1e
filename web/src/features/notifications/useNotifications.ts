import type { LiveNotification } from '@onair/protocol';
import { useCallback, useEffect, useState } from 'react';
import { describeError } from '../../lib/errors';
import { call } from '../../lib/api';
import { useAuth } from '../auth/AuthContext';

export interface NotificationsState {
  /** Newest first: what has been read from the server, and what arrived since. */
  items: LiveNotification[];
  unreadCount: number;
  /** Arrived over the socket and not yet dismissed (shown as toasts). */
  fresh: LiveNotification[];
  loading: boolean;
  error: string | null;
  /** Opening the list: everything shown counts as read from now on. */
  markShownRead(): void;
  dismiss(id: string): void;
}

/**
 * The signed-in user's notifications: fetched once, then kept current by the socket's
 * `notification` events (which reach every tab of theirs, whichever node it is on).
 */
export function useNotifications(): NotificationsState {
  const { session, socket } = useAuth();
  const token = session?.token ?? null;
  const [items, setItems] = useState<LiveNotification[]>([]);
  const [unreadCount, setUnreadCount] = useState(0);
  const [fresh, setFresh] = useState<LiveNotification[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!token) return;
    let cancelled = false;
    const seen = new Set<string>();
    /** Arrived while a page was read: counted beside it unless the page has them already. */
    let early: LiveNotification[] | undefined = [];
    // Subscribe before fetching: one that arrives in between is not missed (nor counted twice).
    const off = socket.on('notification', (notification) => {
      if (seen.has(notification.id)) return;
      seen.add(notification.id);
      early?.push(notification);
      setItems((list) => [notification, ...list]);
      setUnreadCount((n) => n + 1);
      setFresh((list) => [...list, notification].slice(-3));
    });
    const load = () => {
      early = [];
      call('notifications', { query: { limit: 20 }, token })
        .then((page) => {
          if (cancelled) return;
          const known = new Set(page.notifications.map((n) => n.id));
          const extra = (early ?? []).filter((n) => !known.has(n.id));
          early = undefined;
          for (const id of known) seen.add(id);
          setItems([...extra, ...page.notifications]);
          setUnreadCount(page.unreadCount + extra.length);
          setError(null);
        })
        .catch((e: unknown) => !cancelled && setError(describeError(e)))
        .finally(() => !cancelled && setLoading(false));
    };
    // What was sent while the connection was down is read again once it is back (no toasts for it).
    let wasDown = false;
    const offConnection = socket.onConnection((connected) => {
      if (!connected) wasDown = true;
      else if (wasDown) {
        wasDown = false;
        load();
      }
    });
    load();
    return () => {
      cancelled = true;
      off();
      offConnection();
    };
  }, [socket, token]);

  const newest = items[0]?.createdAt;
  const markShownRead = useCallback(() => {
    const before = newest;
    if (!token || !before) return;
    setUnreadCount(0);
    setFresh([]);
    call('markNotificationsRead', { body: { before }, token }).then(
      // Never above what is shown: one still unread on the server arrives as its own event.
      (result) => setUnreadCount((n) => Math.min(n, result.unreadCount)),
      // Still unread on the server: the count comes back on the next visit.
      () => undefined,
    );
  }, [token, newest]);

  const dismiss = useCallback(
    (id: string) => setFresh((list) => list.filter((n) => n.id !== id)),
    [],
  );

  return { items, unreadCount, fresh, loading, error, markShownRead, dismiss };
}
