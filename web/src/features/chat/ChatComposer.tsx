import { LIMITS, type LiveComment } from '@onair/protocol';
import { Clock, Send, ShieldBan } from 'lucide-react';
import { useEffect, useRef, useState, type FormEvent, type RefObject } from 'react';
import { Button } from '../../components/Button';
import { describeError } from '../../lib/errors';
import { SocketError } from '../../lib/live-socket';
import { useAuth } from '../auth/AuthContext';
import { ReactionBar } from '../live/Reactions';
import { shortDuration, timeLeft } from '../moderation/describe';
import type { ChatStanding } from './useChatStanding';
import { useSecondsLeft } from './useSecondsLeft';

/** Chat's own words for some refusals; every other code gets the app's sentence. */
const chatErrors = {
  not_in_room: 'Join the stream to chat.',
  unauthorized: 'Sign in to chat.',
  blocked_word:
    'Your message contains a word this channel does not allow. Change it and send it again.',
} as const;

/**
 * When `shown` turns true and focus has just been dropped (the box it was in was removed or
 * disabled), it goes to `ref`'s notice, so a keyboard or screen-reader user hears why and is not
 * sent back to the top of the page.
 */
function useCatchFocus(ref: RefObject<HTMLElement | null>, shown: boolean) {
  useEffect(() => {
    const active = document.activeElement;
    // A disabled box may still count as focused, but typing and Tab go nowhere from it.
    if (shown && (!active || active === document.body || active.matches(':disabled')))
      ref.current?.focus();
  }, [ref, shown]);
}

/** From this length on the box says how much room is left (80% of the limit). */
const counterFrom = Math.floor(LIMITS.commentMax * 0.8);

/**
 * Writing in a stream's chat, under the chat's rules: slow mode is announced and, after a send
 * or a refusal, the send button counts down; a timed-out user is told for how long and cannot
 * type until then; a banned user is told so and has nothing to type in. A refused message stays
 * in the box. Near the length limit a counter shows; a longer text (a paste) is kept whole and
 * said to be too long, never cut (issue 18), and cannot be sent until it is shortened.
 */
export function ChatComposer({
  streamId,
  standing,
  disabled,
  onSent,
  onTimedOut,
  onBanned,
}: {
  streamId: string;
  standing: ChatStanding;
  disabled: boolean;
  onSent: (comment: LiveComment) => void;
  /** A refusal said this user is timed out until then (ISO 8601). */
  onTimedOut: (until: string) => void;
  onBanned: () => void;
}) {
  const { socket } = useAuth();
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  /** Slow mode: when this user may send again (ms since the epoch). */
  const [nextAllowedAt, setNextAllowedAt] = useState<number | null>(null);
  const timedOutFor = useSecondsLeft(standing.timedOutUntil);
  const waitFor = useSecondsLeft(standing.slowModeSeconds > 0 ? nextAllowedAt : null);
  const bannedNotice = useRef<HTMLDivElement>(null);
  const timedOutNotice = useRef<HTMLParagraphElement>(null);
  useCatchFocus(bannedNotice, standing.banned);
  useCatchFocus(timedOutNotice, timedOutFor > 0);

  if (standing.banned)
    return (
      <div
        ref={bannedNotice}
        role="status"
        tabIndex={-1}
        className="flex items-start gap-2 border-t border-zinc-800 p-3 text-sm text-rose-200"
        data-testid="chat-banned"
      >
        <ShieldBan className="mt-0.5 h-4 w-4 shrink-0" aria-hidden />
        <p className="min-w-0">
          You have been banned from this channel. You can no longer watch or chat on its streams.
        </p>
      </div>
    );

  // What the server counts: the text as sent, trimmed.
  const length = draft.trim().length;
  const over = length - LIMITS.commentMax;

  const send = async (event: FormEvent) => {
    event.preventDefault();
    const text = draft.trim();
    if (!text || waitFor > 0 || over > 0) return;
    setError(null);
    try {
      const { comment } = await socket.request('live_comment', { streamId, comment: text });
      setDraft('');
      // Hosts and moderators are not held to slow mode (the server's rule); everyone else waits.
      if (standing.role === 'viewer' && standing.slowModeSeconds > 0)
        setNextAllowedAt(Date.now() + standing.slowModeSeconds * 1000);
      onSent(comment);
    } catch (e) {
      const refusal = e instanceof SocketError ? e.error : undefined;
      // The countdown and the timeout line say these better than a sentence would.
      if (refusal?.code === 'slow_mode')
        return setNextAllowedAt(Date.now() + refusal.retryAfterSeconds * 1000);
      if (refusal?.code === 'timed_out') return onTimedOut(refusal.until);
      if (refusal?.code === 'banned') return onBanned();
      setError(describeError(e, chatErrors));
    }
  };

  const timedOut = timedOutFor > 0;
  // A timeout says how long itself; the slow-mode countdown would only add a second clock.
  const counting = waitFor > 0 && !timedOut;
  return (
    <div className="border-t border-zinc-800 p-3">
      <ReactionBar streamId={streamId} onError={setError} />
      {error && (
        <p role="alert" className="mt-2 text-xs text-rose-300">
          {error}
        </p>
      )}
      {timedOut ? (
        <p
          ref={timedOutNotice}
          role="status"
          tabIndex={-1}
          className="mt-2 flex items-center gap-1.5 text-xs text-amber-200"
          data-testid="chat-timed-out"
        >
          <Clock className="h-3.5 w-3.5 shrink-0" aria-hidden />
          You are timed out for {timeLeft(timedOutFor)}.
        </p>
      ) : (
        standing.slowModeSeconds > 0 && (
          <p
            className="mt-2 flex items-center gap-1.5 text-xs text-zinc-400"
            data-testid="slow-mode"
          >
            <Clock className="h-3.5 w-3.5 shrink-0" aria-hidden />
            <span>
              Slow mode: one message every {shortDuration(standing.slowModeSeconds)}
              {waitFor > 0 && (
                <>
                  {' · '}
                  <span className="whitespace-nowrap">you can send again in {waitFor} s</span>
                </>
              )}
            </span>
          </p>
        )
      )}
      <form
        onSubmit={(event) => {
          // `send` shows its own failure under the chat box: nothing is left to wait for.
          void send(event);
        }}
        className="mt-2 flex min-w-0 gap-2"
      >
        <label className="sr-only" htmlFor={`chat-${streamId}`}>
          Message
        </label>
        <input
          id={`chat-${streamId}`}
          value={draft}
          aria-invalid={over > 0 || undefined}
          aria-describedby={length >= counterFrom ? `chat-${streamId}-count` : undefined}
          disabled={disabled || timedOut}
          onChange={(e) => setDraft(e.target.value)}
          placeholder={timedOut ? 'You are timed out' : 'Say something…'}
          className={`min-w-0 flex-1 rounded-lg border bg-zinc-900 px-3 py-2 text-base disabled:opacity-60 ${over > 0 ? 'border-rose-500' : 'border-zinc-700'}`}
        />
        <Button
          type="submit"
          aria-label={counting ? `Send message (wait ${waitFor} s)` : 'Send message'}
          disabled={disabled || timedOut || waitFor > 0 || !length || over > 0}
          className="min-w-12 tabular-nums"
        >
          {counting ? waitFor : <Send className="h-4 w-4" aria-hidden />}
        </Button>
      </form>
      {length >= counterFrom && (
        <p
          id={`chat-${streamId}-count`}
          // Over the limit is an error, said once as it happens; the count itself is read on focus.
          role={over > 0 ? 'alert' : undefined}
          className={`mt-1 text-right text-xs tabular-nums ${over > 0 ? 'text-rose-300' : 'text-zinc-400'}`}
          data-testid="chat-counter"
        >
          {over > 0
            ? `${over} character${over > 1 ? 's' : ''} too long (${length} / ${LIMITS.commentMax}). Shorten it to send.`
            : `${length} / ${LIMITS.commentMax}`}
        </p>
      )}
    </div>
  );
}
