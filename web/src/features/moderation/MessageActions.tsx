import type { LiveComment, ModerationAction } from '@onair/protocol';
import { Ellipsis, Trash2 } from 'lucide-react';
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { describeError } from '../../lib/errors';
import { actionItemClass, BanDialog, PenaltyButtons } from './PenaltyActions';
import { moderationErrors } from './useModeration';

/**
 * A message's moderation: a small button in the message's top corner (its parent is positioned)
 * opens a row of actions under the message, in the flow, so a scrolling chat never clips it. Escape closes it and focus goes back to its button. A ban
 * is asked about first. `onDone` gets a sentence saying what happened; a refusal is shown in the
 * row, which stays open.
 */
export function MessageActions({
  comment,
  tabbable = true,
  act,
  onDone,
}: {
  comment: LiveComment;
  /** Whether its button is in the Tab order (the chat list gives one message the tab stop). */
  tabbable?: boolean;
  act: (action: ModerationAction) => Promise<unknown>;
  onDone: (sentence: string) => void;
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirmingBan, setConfirmingBan] = useState(false);
  const toggle = useRef<HTMLButtonElement>(null);
  const row = useRef<HTMLDivElement>(null);
  const rowId = useId();
  const name = `@${comment.user.username}`;

  useEffect(() => {
    if (open) row.current?.querySelector('button')?.focus();
  }, [open]);

  const close = () => {
    setOpen(false);
    setError(null);
    toggle.current?.focus();
  };

  const run = async (action: ModerationAction, done: string) => {
    setBusy(true);
    setError(null);
    try {
      await act(action);
      setOpen(false);
      onDone(done);
    } catch (e) {
      setError(describeError(e, moderationErrors));
      setOpen(true);
    } finally {
      setBusy(false);
    }
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape') {
      event.stopPropagation();
      close();
      return;
    }
    // Arrow keys move along the row, as in a toolbar.
    if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
    const items = [...(row.current?.querySelectorAll<HTMLButtonElement>('button') ?? [])];
    const at = items.indexOf(document.activeElement as HTMLButtonElement);
    const next = items[(at + (event.key === 'ArrowRight' ? 1 : -1) + items.length) % items.length];
    next?.focus();
    event.preventDefault();
  };

  return (
    <>
      <button
        ref={toggle}
        type="button"
        aria-label={`Moderate ${name}’s message`}
        aria-expanded={open}
        aria-controls={rowId}
        tabIndex={tabbable || open ? undefined : -1}
        onClick={() => (open ? close() : setOpen(true))}
        className="absolute right-0 top-0 rounded p-0.5 text-zinc-500 hover:bg-zinc-800 hover:text-zinc-200 focus-visible:outline focus-visible:outline-2 focus-visible:outline-rose-400"
        data-testid="message-actions"
      >
        <Ellipsis className="h-4 w-4" aria-hidden />
      </button>
      {open && (
        <div
          ref={row}
          id={rowId}
          role="toolbar"
          aria-label={`Moderate ${name}`}
          onKeyDown={onKeyDown}
          className="flex flex-wrap gap-1.5 pt-1"
        >
          <button
            type="button"
            className={actionItemClass}
            disabled={busy}
            aria-label="Delete message"
            onClick={() =>
              void run(
                { action: 'delete_comment', commentId: comment.id },
                `Deleted a message by ${name}.`,
              )
            }
          >
            <Trash2 className="h-3.5 w-3.5" aria-hidden /> Delete
          </button>
          <PenaltyButtons
            userId={comment.user.id}
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
            void run({ action: 'ban', userId: comment.user.id }, `${name} is banned.`);
          }}
        />
      )}
    </>
  );
}
