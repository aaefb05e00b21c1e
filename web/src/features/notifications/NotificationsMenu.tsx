import type { LiveNotification } from '@onair/protocol';
import { Bell } from 'lucide-react';
import { useEffect, useId } from 'react';
import { Link } from 'react-router-dom';
import { Avatar } from '../../components/Avatar';
import { usePopover } from '../../components/use-popover';
import { NotificationToasts } from './NotificationToasts';
import { useNotifications } from './useNotifications';

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/**
 * The bell in the header: how many notifications are unread, and the recent ones when opened
 * (opening marks them read). Toasts of those arriving now are shown from here too.
 */
export function NotificationsMenu() {
  const state = useNotifications();
  const { items, unreadCount, fresh, loading, error, markShownRead, dismiss } = state;
  const { open, setOpen, root } = usePopover();
  const panelId = useId();
  const countId = useId();
  // What is shown while open counts as seen, including what arrives meanwhile.
  useEffect(() => {
    if (open && unreadCount > 0) markShownRead();
  }, [open, unreadCount, markShownRead]);

  return (
    <div ref={root} className="relative">
      <button
        type="button"
        aria-label="Notifications"
        aria-describedby={countId}
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen((o) => !o)}
        className="relative flex h-10 w-10 items-center justify-center rounded-full hover:bg-zinc-800"
      >
        <Bell className="h-5 w-5" aria-hidden />
        {unreadCount > 0 && (
          <span
            className="absolute right-0.5 top-0.5 flex h-5 min-w-5 items-center justify-center rounded-full bg-rose-600 px-1 text-xs font-bold text-white"
            data-testid="notification-count"
            aria-hidden
          >
            {unreadCount > 99 ? '99+' : unreadCount}
          </span>
        )}
      </button>
      <span id={countId} className="sr-only">
        {unreadCount === 0 ? 'No unread notifications' : `${unreadCount} unread`}
      </span>
      {open && (
        <section
          id={panelId}
          aria-label="Notifications"
          className="fixed inset-x-2 top-14 mt-1 flex max-h-[70dvh] flex-col overflow-hidden rounded-xl border border-zinc-800 bg-zinc-900 shadow-xl sm:absolute sm:inset-x-auto sm:right-0 sm:top-full sm:w-96"
          data-testid="notifications-panel"
        >
          <h2 className="border-b border-zinc-800 px-4 py-3 text-sm font-semibold">
            Notifications
          </h2>
          {error ? (
            <p role="alert" className="p-4 text-sm text-rose-300">
              {error}
            </p>
          ) : items.length === 0 ? (
            <p className="p-4 text-sm text-zinc-400">
              {loading ? 'Loading…' : 'Nothing yet. Follow people to hear when they go live.'}
            </p>
          ) : (
            <ul className="overflow-y-auto p-1">
              {items.map((n) => (
                <NotificationItem key={n.id} notification={n} />
              ))}
            </ul>
          )}
        </section>
      )}
      <NotificationToasts notifications={open ? [] : fresh} onDismiss={dismiss} />
    </div>
  );
}

function NotificationItem({ notification }: { notification: LiveNotification }) {
  const { host, stream, read, createdAt } = notification;
  const live = stream.status === 'live';
  return (
    <li>
      <Link
        to={`/live/${stream.streamId}`}
        className="flex min-w-0 items-center gap-3 rounded-lg p-3 hover:bg-zinc-800"
        data-testid="notification-item"
      >
        <Avatar user={host} size="h-9 w-9 text-sm" />
        <span className="min-w-0 flex-1">
          <span className="block truncate text-sm">
            <span className="font-semibold">{host.display_name}</span>{' '}
            {live ? 'is live' : 'was live'}
          </span>
          <span className="block truncate text-sm text-zinc-300">{stream.title}</span>
          <time dateTime={createdAt} className="block text-xs text-zinc-500">
            {timeFormat.format(new Date(createdAt))}
          </time>
        </span>
        {live && (
          <span className="shrink-0 rounded bg-rose-600 px-1.5 py-0.5 text-xs font-bold">LIVE</span>
        )}
        {!read && (
          <>
            <span className="h-2 w-2 shrink-0 rounded-full bg-rose-500" aria-hidden />
            <span className="sr-only">Unread</span>
          </>
        )}
      </Link>
    </li>
  );
}
