import type { LiveNotification } from '@onair/protocol';
import { Radio, X } from 'lucide-react';
import { useEffect } from 'react';
import { createPortal } from 'react-dom';
import { Link } from 'react-router-dom';
import { Avatar } from '../../components/Avatar';

/** How long a toast stays unless it is dismissed or followed. */
const toastMs = 10_000;

/**
 * Someone the user follows went live: a toast per notification, newest last, in a polite live
 * region (screen readers read it without moving focus). Each links to the stream.
 */
export function NotificationToasts({
  notifications,
  onDismiss,
}: {
  notifications: LiveNotification[];
  onDismiss: (id: string) => void;
}) {
  // Outside the header: its backdrop blur would make it the box a fixed toast is placed in.
  return createPortal(
    <div
      role="status"
      aria-live="polite"
      className="pointer-events-none fixed inset-x-2 bottom-4 z-50 flex flex-col items-center gap-2 sm:inset-x-auto sm:right-4 sm:items-end"
    >
      {notifications.map((n) => (
        <Toast key={n.id} notification={n} onDismiss={onDismiss} />
      ))}
    </div>,
    document.body,
  );
}

function Toast({
  notification,
  onDismiss,
}: {
  notification: LiveNotification;
  onDismiss: (id: string) => void;
}) {
  const { id, host, stream } = notification;
  useEffect(() => {
    const timer = setTimeout(() => onDismiss(id), toastMs);
    return () => clearTimeout(timer);
  }, [id, onDismiss]);
  return (
    <div
      className="pointer-events-auto flex w-full max-w-sm items-center gap-3 rounded-xl border border-rose-700 bg-zinc-900 p-3 shadow-xl"
      data-testid="notification-toast"
    >
      <Avatar user={host} size="h-10 w-10 text-base" />
      <Link
        to={`/live/${stream.streamId}`}
        onClick={() => onDismiss(id)}
        className="min-w-0 flex-1 hover:underline"
      >
        <span className="flex items-center gap-1 text-sm font-semibold text-rose-300">
          <Radio className="h-4 w-4 shrink-0" aria-hidden />
          <span className="truncate">{host.display_name} is live</span>
        </span>
        <span className="block truncate text-sm text-zinc-200">{stream.title}</span>
      </Link>
      <button
        type="button"
        onClick={() => onDismiss(id)}
        aria-label="Dismiss"
        className="shrink-0 rounded p-1 text-zinc-400 hover:bg-zinc-800 hover:text-zinc-100"
      >
        <X className="h-4 w-4" aria-hidden />
      </button>
    </div>
  );
}
