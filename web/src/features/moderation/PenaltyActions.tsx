import type { ModerationAction } from '@onair/protocol';
import { Ban, Clock } from 'lucide-react';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { shortDuration } from './describe';

/** The two timeouts offered on a message or a viewer: a minute to cool off, ten for a repeat. */
const quickTimeouts = [60, 600] as const;

export const actionItemClass =
  'inline-flex items-center gap-1 rounded-md bg-zinc-800 px-2 py-1 text-xs font-medium text-zinc-100 hover:bg-zinc-700 focus-visible:outline focus-visible:outline-2 focus-visible:outline-rose-400 disabled:opacity-50';

/**
 * Timeouts and Ban for one user, and what the last attempt was refused with: the part of a
 * moderation row that a chat message and the host's viewer list share. Ban only asks
 * (`onBan`): the row's owner shows `BanDialog`.
 */
export function PenaltyButtons({
  userId,
  name,
  busy,
  error,
  run,
  onBan,
}: {
  userId: string;
  name: string;
  busy: boolean;
  error: string | null;
  run: (action: ModerationAction, done: string) => void;
  onBan: () => void;
}) {
  return (
    <>
      {quickTimeouts.map((seconds) => (
        <button
          key={seconds}
          type="button"
          className={actionItemClass}
          disabled={busy}
          aria-label={`Time out ${name} for ${shortDuration(seconds)}`}
          onClick={() =>
            run(
              { action: 'timeout', userId, seconds },
              `${name} is timed out for ${shortDuration(seconds)}.`,
            )
          }
        >
          <Clock className="h-3.5 w-3.5" aria-hidden /> {shortDuration(seconds)}
        </button>
      ))}
      <button
        type="button"
        className={`${actionItemClass} bg-red-900 hover:bg-red-800`}
        disabled={busy}
        aria-label={`Ban ${name}`}
        onClick={onBan}
      >
        <Ban className="h-3.5 w-3.5" aria-hidden /> Ban
      </button>
      {error && (
        <p role="alert" className="w-full text-xs text-rose-300">
          {error}
        </p>
      )}
    </>
  );
}

/** The question before a ban, saying what it does. */
export function BanDialog({
  name,
  onCancel,
  onConfirm,
}: {
  name: string;
  onCancel: () => void;
  onConfirm: () => void;
}) {
  return (
    <ConfirmDialog
      title={`Ban ${name}?`}
      confirmLabel="Ban"
      onCancel={onCancel}
      onConfirm={onConfirm}
    >
      They leave the stream now and cannot watch or chat on any of this channel’s streams until
      unbanned from the Moderation tab.
    </ConfirmDialog>
  );
}
