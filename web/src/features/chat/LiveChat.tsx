import type { ChatRole, LiveComment } from '@onair/protocol';
import { ArrowDown, MessageCircle } from 'lucide-react';
import { useEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { Avatar } from '../../components/Avatar';
import { useAuth } from '../auth/AuthContext';
import { signInPath, type AuthPageState } from '../auth/return-path';
import { MessageActions } from '../moderation/MessageActions';
import type { Moderation } from '../moderation/useModeration';
import { ChatComposer } from './ChatComposer';
import type { ChatFeed } from './useChatFeed';
import type { ChatStanding } from './useChatStanding';

// A 24-hour clock, "14:05": short, and the same shape in every message.
const clock = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

const badges = {
  host: { label: 'Host', className: 'bg-rose-600', testId: 'host-badge' },
  moderator: { label: 'Mod', className: 'bg-emerald-700', testId: 'mod-badge' },
} as const;

/** The list's keys that move between messages (one tab stop for the whole list, issue 18). */
const moves: Record<string, (at: number, count: number) => number> = {
  ArrowUp: (at) => Math.max(0, at - 1),
  ArrowDown: (at, count) => Math.min(count - 1, at + 1),
  Home: () => 0,
  End: (_, count) => count - 1,
};

export function ChatMessage({
  comment,
  badge,
  isMine,
  active,
  actions,
}: {
  comment: LiveComment;
  badge: Exclude<ChatRole, 'viewer'> | null;
  isMine: boolean;
  /** The list's one tab stop: only this message and its controls are in the Tab order. */
  active: boolean;
  /** The message's moderation, for hosts and moderators. */
  actions?: ReactNode;
}) {
  return (
    <li
      className="relative min-w-0 rounded text-sm focus-visible:outline focus-visible:outline-2 focus-visible:outline-rose-400"
      data-testid="chat-message"
      data-comment-id={comment.id}
      tabIndex={active ? 0 : -1}
    >
      <div className={`flex min-w-0 items-baseline gap-1.5 ${actions ? 'pr-6' : ''}`}>
        <span className="self-center">
          <Avatar user={comment.user} size="h-5 w-5 text-[0.65rem]" />
        </span>
        <Link
          to={`/u/${comment.user.username}`}
          tabIndex={active ? undefined : -1}
          className={`min-w-0 truncate font-semibold hover:underline ${isMine ? 'text-rose-300' : 'text-zinc-200'}`}
        >
          {comment.user.display_name}
        </Link>
        <span className="min-w-0 shrink truncate text-xs text-zinc-500">
          @{comment.user.username}
        </span>
        {badge && (
          <span
            className={`shrink-0 rounded px-1 text-[0.65rem] font-bold uppercase leading-4 text-white ${badges[badge].className}`}
            data-testid={badges[badge].testId}
            title={badge === 'host' ? 'The host' : 'A moderator'}
          >
            {badges[badge].label}
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
      {actions}
    </li>
  );
}

/**
 * Chat of one stream: the comments of `feed` (history, live, and those missed across a dropped
 * connection, each once and in order). Text is rendered as text. Signed-out visitors read along
 * and are offered to sign in, then come back here. Hosts and moderators (`moderation`) get
 * actions on the messages they may moderate; a deleted message leaves every screen.
 */
export function LiveChat({
  streamId,
  hostId,
  feed,
  disabled = false,
  standing,
  moderation,
  onTimedOut,
  onBanned,
}: {
  streamId: string;
  /** The stream's host, whose messages carry a "Host" badge. */
  hostId: string;
  feed: ChatFeed;
  disabled?: boolean;
  standing: ChatStanding;
  /** Present for the host and moderators. */
  moderation: Moderation | null;
  onTimedOut: (until: string) => void;
  onBanned: () => void;
}) {
  const { session } = useAuth();
  const { comments, addOwn, remove, removeUser } = feed;
  const [notice, setNotice] = useState<string | null>(null);
  /** The message holding the list's tab stop; null (or one that went): the newest. */
  const [activeId, setActiveId] = useState<string | null>(null);
  const active = comments.find((c) => c.id === activeId) ?? comments.at(-1);
  /** A message to focus once it is rendered (after moderation removed the focused one). */
  const [focusNext, setFocusNext] = useState<string | 'composer' | null>(null);
  const [unseen, setUnseen] = useState(0);
  const list = useRef<HTMLOListElement>(null);
  const pinned = useRef(true);
  const shownCount = useRef(comments.length);

  // What a moderator just did is said for a moment, then goes.
  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setNotice(null), 5000);
    return () => clearTimeout(timer);
  }, [notice]);

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

  const messageElement = (id: string) =>
    list.current?.querySelector<HTMLElement>(`[data-comment-id="${CSS.escape(id)}"]`);

  useEffect(() => {
    if (!focusNext) return;
    setFocusNext(null);
    const target =
      focusNext === 'composer'
        ? list.current?.parentElement?.querySelector<HTMLElement>('input[id^="chat-"]')
        : messageElement(focusNext);
    target?.focus();
  }, [focusNext]);

  // Tab reaches the list once; arrow keys, Home and End move along it (roving tabindex).
  const onListKeyDown = (event: KeyboardEvent<HTMLOListElement>) => {
    const move = moves[event.key];
    const item = (event.target as HTMLElement).closest<HTMLElement>('[data-comment-id]');
    if (!move || !item || (event.target as HTMLElement).closest('[role="toolbar"]')) return;
    const at = comments.findIndex((c) => c.id === item.dataset.commentId);
    const next = comments[move(at, comments.length)];
    if (at < 0 || !next) return;
    event.preventDefault();
    setActiveId(next.id);
    messageElement(next.id)?.focus();
  };

  const onListFocus = (event: { target: EventTarget }) => {
    const id = (event.target as HTMLElement).closest<HTMLElement>('[data-comment-id]')?.dataset
      .commentId;
    if (id && id !== activeId) setActiveId(id);
  };

  /**
   * Where focus goes once moderation takes `comment` (and, for a ban or timeout, every message of
   * its author) off the screen: the next message that stays, else the one before, else the box.
   */
  const focusAfterRemoving = (comment: LiveComment, allOfAuthor: boolean) => {
    const stays = (c: LiveComment) =>
      c.id !== comment.id && !(allOfAuthor && c.user.id === comment.user.id);
    const at = comments.findIndex((c) => c.id === comment.id);
    const next =
      comments.slice(at + 1).find(stays) ??
      comments.slice(0, Math.max(0, at)).reverse().find(stays);
    if (next) setActiveId(next.id);
    setFocusNext(next?.id ?? 'composer');
  };

  const sent = (comment: LiveComment) => {
    addOwn(comment);
    jumpToLatest();
  };

  const badgeOf = (c: LiveComment) =>
    c.user.id === hostId || c.role === 'host'
      ? 'host'
      : c.role === 'moderator'
        ? 'moderator'
        : null;
  // The panel's list is current; a comment's role is as it was when sent.
  const isModerator = (c: LiveComment) =>
    moderation?.state
      ? moderation.state.moderators.some((m) => m.id === c.user.id)
      : c.role === 'moderator';
  /** The host moderates everyone else; a moderator everyone but the host and other moderators. */
  const mayModerate = (c: LiveComment) =>
    moderation !== null &&
    c.user.id !== session?.user.id &&
    badgeOf(c) !== 'host' &&
    (standing.role === 'host' || !isModerator(c));

  return (
    <section aria-label="Live chat" className="relative flex h-full min-h-0 min-w-0 flex-col">
      <ol
        ref={list}
        onScroll={onScroll}
        className="min-w-0 flex-1 space-y-2 overflow-y-auto overflow-x-hidden p-3"
        aria-live="polite"
        data-testid="chat-list"
        onKeyDown={onListKeyDown}
        onFocus={onListFocus}
      >
        {comments.length === 0 && (
          <li className="text-sm text-zinc-500">No messages yet. Say hello!</li>
        )}
        {comments.map((c) => (
          <ChatMessage
            key={c.id}
            comment={c}
            badge={badgeOf(c)}
            isMine={c.user.id === session?.user.id}
            active={c.id === active?.id}
            actions={
              moderation &&
              mayModerate(c) && (
                <MessageActions
                  comment={c}
                  tabbable={c.id === active?.id}
                  act={async (action) => {
                    await moderation.act(action);
                    // The room hears of these too; this screen need not wait for it.
                    if (action.action === 'delete_comment') {
                      focusAfterRemoving(c, false);
                      remove(c.id);
                    } else if (action.action === 'ban' || action.action === 'timeout') {
                      focusAfterRemoving(c, true);
                      removeUser(c.user.id, []);
                    }
                  }}
                  onDone={setNotice}
                />
              )
            }
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
      {notice && (
        <p role="status" className="border-t border-zinc-800 px-3 py-2 text-xs text-emerald-300">
          {notice}
        </p>
      )}
      {session ? (
        <ChatComposer
          streamId={streamId}
          standing={standing}
          disabled={disabled}
          onSent={sent}
          onTimedOut={onTimedOut}
          onBanned={onBanned}
        />
      ) : (
        <div
          className="flex items-center gap-2 border-t border-zinc-800 p-3 text-sm text-zinc-400"
          data-testid="chat-sign-in"
        >
          <MessageCircle className="h-4 w-4 shrink-0" aria-hidden />
          <p className="min-w-0">
            <Link
              to={signInPath(`/live/${streamId}`)}
              // They came to chat: the box has focus when they are back.
              state={{ focus: 'chat' } satisfies AuthPageState}
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
