import { LIMITS, type LiveComment } from '@onair/protocol';
import { ArrowDown, MessageCircle, Send } from 'lucide-react';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { Button } from '../../components/Button';
import { describeError } from '../../lib/errors';
import { useAuth } from '../auth/AuthContext';
import { signInPath } from '../auth/return-path';
import { ReactionBar } from '../live/Reactions';
import type { ChatFeed } from './useChatFeed';

/** Chat's own words for some refusals; every other code gets the app's sentence. */
const chatErrors = {
  not_in_room: 'Join the stream to chat.',
  unauthorized: 'Sign in to chat.',
} as const;

// A 24-hour clock, "14:05": short, and the same shape in every message.
const clock = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

function ChatMessage({
  comment,
  isHost,
  isMine,
}: {
  comment: LiveComment;
  isHost: boolean;
  isMine: boolean;
}) {
  return (
    <li className="min-w-0 text-sm" data-testid="chat-message">
      <div className="flex min-w-0 items-baseline gap-1.5">
        <Link
          to={`/u/${comment.user.username}`}
          className={`min-w-0 truncate font-semibold hover:underline ${isMine ? 'text-rose-300' : 'text-zinc-200'}`}
        >
          {comment.user.display_name}
        </Link>
        <span className="min-w-0 shrink truncate text-xs text-zinc-500">
          @{comment.user.username}
        </span>
        {isHost && (
          <span
            className="shrink-0 rounded bg-rose-600 px-1 text-[0.65rem] font-bold uppercase leading-4 text-white"
            data-testid="host-badge"
          >
            Host
          </span>
        )}
        <time
          dateTime={comment.timestamp}
          className="ml-auto shrink-0 pl-1 text-xs tabular-nums text-zinc-500"
        >
          {clock.format(new Date(comment.timestamp))}
        </time>
      </div>
      <p className="whitespace-pre-wrap text-zinc-100 [overflow-wrap:anywhere]">
        {comment.comment}
      </p>
    </li>
  );
}

/**
 * Chat of one stream: the comments of `feed` (history, live, and those missed across a dropped
 * connection, each once and in order), and the box to send one. Text is rendered as text.
 * Signed-out visitors read along and are offered to sign in, then come back here.
 */
export function LiveChat({
  streamId,
  hostId,
  feed,
  disabled = false,
}: {
  streamId: string;
  /** The stream's host, whose messages carry a "Host" badge. */
  hostId: string;
  feed: ChatFeed;
  disabled?: boolean;
}) {
  const { session, socket } = useAuth();
  const { comments, addOwn } = feed;
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [unseen, setUnseen] = useState(0);
  const list = useRef<HTMLOListElement>(null);
  const pinned = useRef(true);
  const shownCount = useRef(comments.length);

  // Follow new messages only while the reader is at the bottom; else count them for the button.
  useEffect(() => {
    const added = comments.length - shownCount.current;
    shownCount.current = comments.length;
    if (pinned.current && list.current) list.current.scrollTop = list.current.scrollHeight;
    else if (added > 0) setUnseen((n) => n + added);
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
      addOwn(comment);
      setDraft('');
      jumpToLatest();
    } catch (e) {
      setError(describeError(e, chatErrors));
    }
  };

  return (
    <section aria-label="Live chat" className="relative flex h-full min-h-0 min-w-0 flex-col">
      <ol
        ref={list}
        onScroll={onScroll}
        className="min-w-0 flex-1 space-y-2 overflow-y-auto overflow-x-hidden p-3"
        aria-live="polite"
        data-testid="chat-list"
      >
        {comments.length === 0 && (
          <li className="text-sm text-zinc-500">No messages yet. Say hello!</li>
        )}
        {comments.map((c) => (
          <ChatMessage
            key={c.id}
            comment={c}
            isHost={c.user.id === hostId}
            isMine={c.user.id === session?.user.id}
          />
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
      {session ? (
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
            className="mt-2 flex min-w-0 gap-2"
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
      ) : (
        <div
          className="flex items-center gap-2 border-t border-zinc-800 p-3 text-sm text-zinc-400"
          data-testid="chat-sign-in"
        >
          <MessageCircle className="h-4 w-4 shrink-0" aria-hidden />
          <p className="min-w-0">
            <Link
              to={signInPath(`/live/${streamId}`)}
              className="font-medium text-rose-400 underline"
            >
              Sign in to chat
            </Link>{' '}
            and send reactions.
          </p>
        </div>
      )}
    </section>
  );
}
