import type { LiveComment, StreamRecording } from '@onair/protocol';
import { MessageSquare } from 'lucide-react';
import { useEffect, useMemo, useRef } from 'react';
import { useAuth } from '../auth/AuthContext';
import { ChatMessage } from '../chat/LiveChat';
import { mediaTimeOf } from './replay';

/**
 * The stream's chat as it was at the replay's playhead: each comment appears when the video
 * reaches the moment it was sent, and a seek back takes the later ones away again.
 */
export function ReplayChat({
  comments,
  error,
  hostId,
  timeline,
  startedAt,
  currentTime,
}: {
  /** The whole chat, oldest first; null while it loads. */
  comments: LiveComment[] | null;
  error: string | null;
  hostId: string;
  timeline: StreamRecording['timeline'];
  startedAt: string;
  currentTime: number;
}) {
  const { session } = useAuth();
  const list = useRef<HTMLOListElement>(null);
  const timed = useMemo(
    () =>
      (comments ?? []).map((comment) => ({
        comment,
        at: mediaTimeOf(comment.timestamp, timeline, startedAt),
      })),
    [comments, timeline, startedAt],
  );
  const shown = timed.filter((c) => c.at <= currentTime);

  // The newest comment shown stays in view, as in the live chat.
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [shown.length]);

  const badgeOf = (c: LiveComment) =>
    c.user.id === hostId || c.role === 'host'
      ? ('host' as const)
      : c.role === 'moderator'
        ? ('moderator' as const)
        : null;

  return (
    <section aria-label="Chat replay" className="flex h-full min-h-0 min-w-0 flex-col">
      <h2 className="flex shrink-0 items-center gap-1.5 border-b border-zinc-800 px-3 py-2 text-sm font-medium">
        <MessageSquare className="h-4 w-4" aria-hidden /> Chat replay
      </h2>
      <ol
        ref={list}
        className="min-w-0 flex-1 space-y-2 overflow-y-auto overflow-x-hidden p-3"
        data-testid="replay-chat"
      >
        {error && (
          <li role="alert" className="text-sm text-rose-300">
            {error}
          </li>
        )}
        {!error && comments === null && (
          <li role="status" className="text-sm text-zinc-500">
            Loading the chat…
          </li>
        )}
        {comments?.length === 0 && (
          <li className="text-sm text-zinc-500">No one chatted during this stream.</li>
        )}
        {shown.map(({ comment }, index) => (
          <ChatMessage
            key={comment.id}
            comment={comment}
            badge={badgeOf(comment)}
            isMine={comment.user.id === session?.user.id}
            active={index === shown.length - 1}
          />
        ))}
      </ol>
    </section>
  );
}
