import type { ViewerList } from '@onair/protocol';
import { Bell, BellOff } from 'lucide-react';
import { useEffect, useState } from 'react';
import { joinNoticesWanted, setJoinNoticesWanted } from './device-memory';
import type { JoinNotice } from './useViewerList';

/** How long a "joined" line stays: long enough to greet someone, short enough not to crowd. */
const noticeMs = 15_000;

/**
 * "Ana joined" lines above the host's chat, for signed-in viewers as they arrive, and the switch
 * that turns them off (remembered on this device). Each line goes after a while.
 */
export function JoinNotices({ joins, list }: { joins: JoinNotice[]; list: ViewerList | null }) {
  const [wanted, setWanted] = useState(joinNoticesWanted);
  const [shownSince] = useState(() => new Map<number, number>());
  const [, setTick] = useState(0);

  // A line is timed from when it was first shown; the timer re-renders once it is due to go.
  const now = Date.now();
  for (const join of joins) if (!shownSince.has(join.key)) shownSince.set(join.key, now);
  const current = wanted
    ? joins.filter((j) => now - (shownSince.get(j.key) ?? now) < noticeMs).slice(-3)
    : [];
  const nextExpiry = current.length
    ? Math.min(...current.map((j) => (shownSince.get(j.key) ?? now) + noticeMs))
    : null;
  useEffect(() => {
    if (nextExpiry === null) return;
    const timer = setTimeout(() => setTick((n) => n + 1), Math.max(0, nextExpiry - Date.now()));
    return () => clearTimeout(timer);
  }, [nextExpiry]);

  const nameOf = (join: JoinNotice) =>
    list?.viewers.find((v) => v.id === join.userId)?.display_name || `@${join.username}`;
  const change = () => {
    setJoinNoticesWanted(!wanted);
    setWanted(!wanted);
  };

  return (
    <div className="flex items-start gap-2 border-b border-zinc-800 px-3 py-1.5 text-xs text-zinc-400">
      <ul
        role="log"
        aria-label="Who joined"
        aria-live="polite"
        className="min-w-0 flex-1"
        data-testid="join-notices"
      >
        {current.map((join) => (
          <li key={join.key} className="truncate">
            <span className="font-medium text-zinc-200">{nameOf(join)}</span> joined
          </li>
        ))}
        {current.length === 0 && <li>{wanted ? 'New viewers are named here.' : ''}</li>}
      </ul>
      <button
        type="button"
        className="shrink-0 rounded p-1 hover:bg-zinc-800 hover:text-zinc-100 focus-visible:outline focus-visible:outline-2 focus-visible:outline-rose-400"
        aria-pressed={wanted}
        aria-label="Show who joins in chat"
        title={wanted ? 'Hide “joined” lines' : 'Show “joined” lines'}
        onClick={change}
      >
        {wanted ? (
          <Bell className="h-4 w-4" aria-hidden />
        ) : (
          <BellOff className="h-4 w-4" aria-hidden />
        )}
      </button>
    </div>
  );
}
