import type { ModerationAction, PublicUser, ViewerList as ViewerListData } from '@onair/protocol';
import { ChevronDown, Ellipsis, Users } from 'lucide-react';
import { useId, useRef, useState } from 'react';
import { Avatar } from '../../components/Avatar';
import { describeError } from '../../lib/errors';
import { useAuth } from '../auth/AuthContext';
import { BanDialog, PenaltyButtons } from '../moderation/PenaltyActions';
import { moderationErrors } from '../moderation/useModeration';

/** "and 3 others watching": everyone present but not named in the list. */
export function othersWatching(list: ViewerListData): string | null {
  const others = list.anonymousCount + Math.max(0, list.signedInCount - list.viewers.length);
  if (others === 0) return null;
  const lead = list.viewers.length > 0 ? 'and ' : '';
  return `${lead}${others} ${others === 1 ? 'other' : 'others'} watching`;
}

/**
 * The host's list of who watches now: signed-in viewers by name, each with a timeout or a ban,
 * and the rest as a count. Collapsible, so on a phone the chat keeps its room.
 */
export function ViewerList({
  streamId,
  list,
  error,
  onChanged,
}: {
  streamId: string;
  list: ViewerListData | null;
  error: string | null;
  /** A viewer was timed out or banned: the list is asked for again. */
  onChanged: () => void;
}) {
  const [open, setOpen] = useState(true);
  const [said, setSaid] = useState<string | null>(null);
  const panelId = useId();
  const total = list ? list.signedInCount + list.anonymousCount : null;
  const others = list ? othersWatching(list) : null;

  return (
    <section
      aria-label="Viewers"
      className="border-b border-zinc-800 bg-zinc-950 text-sm"
      data-testid="viewer-list"
    >
      <button
        type="button"
        className="flex w-full items-center gap-2 px-3 py-2 font-medium hover:bg-zinc-900"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen((o) => !o)}
      >
        <Users className="h-4 w-4" aria-hidden />
        <span className="flex-1 text-left">Watching now{total === null ? '' : ` (${total})`}</span>
        <ChevronDown
          className={`h-4 w-4 transition-transform ${open ? 'rotate-180' : ''}`}
          aria-hidden
        />
      </button>
      <div id={panelId} hidden={!open} className="max-h-48 overflow-y-auto px-3 pb-2">
        {error && (
          <p role="alert" className="text-rose-300">
            {error}
          </p>
        )}
        {list && list.viewers.length === 0 && !others && (
          <p className="text-zinc-400">No one is watching yet.</p>
        )}
        {list && list.viewers.length > 0 && (
          <ul className="flex flex-col gap-1">
            {list.viewers.map((viewer) => (
              <ViewerRow
                key={viewer.id}
                streamId={streamId}
                viewer={viewer}
                onDone={(sentence) => {
                  setSaid(sentence);
                  onChanged();
                }}
              />
            ))}
          </ul>
        )}
        {others && (
          <p className="pt-1 text-zinc-400" data-testid="viewer-others">
            {others}
          </p>
        )}
        <p role="status" className="pt-1 text-xs text-zinc-400 empty:hidden">
          {said ?? ''}
        </p>
      </div>
    </section>
  );
}

function ViewerRow({
  streamId,
  viewer,
  onDone,
}: {
  streamId: string;
  viewer: PublicUser;
  onDone: (sentence: string) => void;
}) {
  const { socket } = useAuth();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirmingBan, setConfirmingBan] = useState(false);
  const toggle = useRef<HTMLButtonElement>(null);
  const rowId = useId();
  const name = viewer.display_name || `@${viewer.username}`;

  const run = async (action: ModerationAction, done: string) => {
    setBusy(true);
    setError(null);
    try {
      await socket.request('live_moderate', { streamId, ...action });
      setOpen(false);
      // The row may go (a ban): focus stays in the list rather than falling to the page.
      toggle.current?.closest('section')?.querySelector<HTMLElement>('button')?.focus();
      onDone(done);
    } catch (e) {
      setError(describeError(e, moderationErrors));
    } finally {
      setBusy(false);
    }
  };

  return (
    <li className="flex flex-col" data-testid="viewer-list-entry">
      <div className="flex min-w-0 items-center gap-2">
        <Avatar user={viewer} size="h-6 w-6 text-xs" />
        <span
          className="min-w-0 flex-1 truncate"
          title={`@${viewer.username}`}
          data-testid="viewer-name"
        >
          {name}
        </span>
        <button
          ref={toggle}
          type="button"
          className="rounded p-1 text-zinc-400 hover:bg-zinc-800 hover:text-zinc-100 focus-visible:outline focus-visible:outline-2 focus-visible:outline-rose-400"
          aria-label={`Moderate ${name}`}
          aria-expanded={open}
          aria-controls={rowId}
          onClick={() => setOpen((o) => !o)}
        >
          <Ellipsis className="h-4 w-4" aria-hidden />
        </button>
      </div>
      {open && (
        <div
          id={rowId}
          role="toolbar"
          aria-label={`Moderate ${name}`}
          className="flex flex-wrap gap-1.5 py-1"
          onKeyDown={(event) => {
            if (event.key !== 'Escape') return;
            event.stopPropagation();
            setOpen(false);
            toggle.current?.focus();
          }}
        >
          <PenaltyButtons
            userId={viewer.id}
            name={name}
            busy={busy}
            error={error}
            run={(action, done) => void run(action, done)}
            onBan={() => setConfirmingBan(true)}
          />
        </div>
      )}
      {confirmingBan && (
        <BanDialog
          name={name}
          onCancel={() => setConfirmingBan(false)}
          onConfirm={() => {
            setConfirmingBan(false);
            void run({ action: 'ban', userId: viewer.id }, `${name} is banned.`);
          }}
        />
      )}
    </li>
  );
}
