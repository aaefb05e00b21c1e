import { LIMITS, type CommentPage, type LiveComment } from '@onair/protocol';
import { ArrowDown, Send } from 'lucide-react';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Button } from '../../components/Button';
import { apiRequest } from '../../lib/api';
import { useSession } from '../auth/AuthContext';
import { ReactionBar } from '../live/Reactions';

const errorText: Record<string, string> = {
  rate_limited: 'You are sending messages too fast. Wait a moment.',
  stream_ended: 'This stream has ended.',
  not_in_room: 'Join the stream to chat.',
};

/** Chat of one stream: history, live comments in order (each once), reactions. Text is rendered as text. */
export function LiveChat({ streamId, disabled = false }: { streamId: string; disabled?: boolean }) {
  const { session, socket } = useSession();
  const [comments, setComments] = useState<LiveComment[]>([]);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [unseen, setUnseen] = useState(0);
  const list = useRef<HTMLOListElement>(null);
  const pinned = useRef(true);

  useEffect(() => {
    let cancelled = false;
    const add = (incoming: LiveComment[]) =>
      setComments((current) => {
        const seen = new Set(current.map((c) => c.id));
        const fresh = incoming.filter((c) => !seen.has(c.id));
        if (!fresh.length) return current;
        return [...current, ...fresh].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
      });
    const off = socket.on('live_comment_added', (c) => {
      if (c.streamId !== streamId) return;
      add([c]);
      if (!pinned.current) setUnseen((n) => n + 1);
    });
    apiRequest<CommentPage>('GET', `/api/live/${streamId}/comments?limit=50`, {
      token: session.token,
    })
      .then((page) => !cancelled && add(page.comments))
      .catch(() => undefined);
    return () => {
      cancelled = true;
      off();
    };
  }, [socket, session.token, streamId]);

  // Follow new messages only while the reader is at the bottom.
  useEffect(() => {
    if (pinned.current && list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [comments]);

  const onScroll = () => {
    const el = list.current;
    if (!el) return;
    pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (pinned.current) setUnseen(0);
  };

  const jumpToLatest = () => {
    pinned.current = true;
    setUnseen(0);
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  };

  const send = async (event: FormEvent) => {
    event.preventDefault();
    const text = draft.trim();
    if (!text) return;
    setError(null);
    try {
      const { comment } = await socket.request('live_comment', { streamId, comment: text });
      setComments((current) =>
        current.some((c) => c.id === comment.id) ? current : [...current, comment],
      );
      setDraft('');
      jumpToLatest();
    } catch (e) {
      const code = (e as { error?: { code: string } }).error?.code ?? '';
      setError(errorText[code] ?? (e as Error).message);
    }
  };

  return (
    <section aria-label="Live chat" className="relative flex h-full min-h-0 flex-col">
      <ol
        ref={list}
        onScroll={onScroll}
        className="flex-1 space-y-2 overflow-y-auto p-3"
        aria-live="polite"
        data-testid="chat-list"
      >
        {comments.length === 0 && (
          <li className="text-sm text-zinc-500">No messages yet. Say hello!</li>
        )}
        {comments.map((c) => (
          <li key={c.id} className="text-sm" data-testid="chat-message">
            <span
              className={`font-semibold ${c.userId === session.user.id ? 'text-rose-300' : 'text-zinc-300'}`}
            >
              {c.user.display_name}
            </span>{' '}
            <span className="break-words text-zinc-100">{c.comment}</span>
          </li>
        ))}
      </ol>
      {unseen > 0 && (
        <button
          type="button"
          onClick={jumpToLatest}
          className="absolute bottom-28 left-1/2 flex -translate-x-1/2 items-center gap-1 rounded-full bg-rose-600 px-3 py-1 text-xs font-medium shadow-lg"
        >
          <ArrowDown className="h-3 w-3" aria-hidden /> {unseen} new message{unseen > 1 ? 's' : ''}
        </button>
      )}
      <div className="border-t border-zinc-800 p-3">
        <ReactionBar streamId={streamId} onError={setError} />
        {error && (
          <p role="alert" className="mt-2 text-xs text-rose-300">
            {error}
          </p>
        )}
        <form
          onSubmit={(event) => {
            // `send` shows its own failure under the chat box: nothing is left to wait for.
            void send(event);
          }}
          className="mt-2 flex gap-2"
        >
          <label className="sr-only" htmlFor={`chat-${streamId}`}>
            Message
          </label>
          <input
            id={`chat-${streamId}`}
            value={draft}
            maxLength={LIMITS.commentMax}
            disabled={disabled}
            onChange={(e) => setDraft(e.target.value)}
            placeholder="Say something…"
            className="min-w-0 flex-1 rounded-lg border border-zinc-700 bg-zinc-900 px-3 py-2 text-base"
          />
          <Button type="submit" aria-label="Send message" disabled={disabled || !draft.trim()}>
            <Send className="h-4 w-4" aria-hidden />
          </Button>
        </form>
      </div>
    </section>
  );
}
