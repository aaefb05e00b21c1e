import type { LiveComment } from '@onair/protocol';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { call } from '../../lib/api';
import { useAuth } from '../auth/AuthContext';
import { mergeComments } from './chat-log';

/** The chat of one stream as this tab holds it: what `LiveChat` shows. */
export interface ChatFeed {
  comments: LiveComment[];
  /** A comment this tab sent, from its acknowledgement. */
  addOwn: (comment: LiveComment) => void;
  /** A comment a moderator deleted: gone from this tab (the room says so too). */
  remove: (commentId: string) => void;
  /** A ban or timeout took a user's messages out of the chat: gone from this tab. */
  removeUser: (userId: string, commentIds: string[]) => void;
  /** Hooks the chat into the room's (re)joins: see `useRoom`. */
  catchUp: {
    since: () => string | undefined;
    settle: (missed: LiveComment[] | undefined) => void;
  };
}

/**
 * History, live comments and the catch-up after a dropped connection (issue 11): the room's
 * rejoin names the last comment held here and answers the ones stored since. Until it answers,
 * comments arriving live are held back, then added after the missed ones: each once, in order.
 */
export function useChatFeed(streamId: string): ChatFeed {
  const { socket } = useAuth();
  const [comments, setComments] = useState<LiveComment[]>([]);
  const latest = useRef<LiveComment[]>(comments);
  latest.current = comments;
  /**
   * Rejoins naming a comment that have not answered yet, what arrived meanwhile, and the ids of
   * comments taken out since (a replay read before the removal must not bring them back).
   */
  const pending = useRef({ rejoins: 0, held: [] as LiveComment[], gone: new Set<string>() });

  const add = useCallback((incoming: LiveComment[]) => {
    const shown = incoming.filter((c) => !pending.current.gone.has(c.id));
    if (pending.current.rejoins > 0) pending.current.held.push(...shown);
    else setComments((current) => mergeComments(current, shown));
  }, []);

  /** Takes out the comments `isGone` picks, here and in what is held back. */
  const drop = useCallback((ids: string[], isGone: (c: LiveComment) => boolean) => {
    const state = pending.current;
    for (const id of ids) state.gone.add(id);
    state.held = state.held.filter((c) => !isGone(c));
    setComments((current) => (current.some(isGone) ? current.filter((c) => !isGone(c)) : current));
  }, []);

  const remove = useCallback(
    (commentId: string) => drop([commentId], (c) => c.id === commentId),
    [drop],
  );

  // Every message of theirs held here goes, named or not: one may have been sent as the ban landed.
  const removeUser = useCallback(
    (userId: string, commentIds: string[]) => drop(commentIds, (c) => c.userId === userId),
    [drop],
  );

  useEffect(() => {
    let cancelled = false;
    setComments([]);
    pending.current = { rejoins: 0, held: [], gone: new Set() };
    const loadHistory = () =>
      call('comments', { params: { streamId }, query: { limit: 50 }, token: socket.token })
        .then((page) => !cancelled && setComments((c) => mergeComments(c, page.comments)))
        .catch(() => undefined);
    const offComment = socket.on('live_comment_added', (c) => c.streamId === streamId && add([c]));
    const offDeleted = socket.on(
      'live_comment_deleted',
      (e) => e.streamId === streamId && remove(e.commentId),
    );
    const offRemoved = socket.on(
      'live_comments_removed',
      (e) => e.streamId === streamId && removeUser(e.userId, e.commentIds),
    );
    // With nothing to name, a rejoin cannot ask for what was missed: history has it.
    let dropped = false;
    const offConnection = socket.onConnection((up) => {
      if (!up) dropped = true;
      else if (dropped && latest.current.length === 0) void loadHistory();
    });
    void loadHistory();
    return () => {
      cancelled = true;
      offComment();
      offDeleted();
      offRemoved();
      offConnection();
    };
  }, [socket, streamId, add, remove, removeUser]);

  const catchUp = useMemo<ChatFeed['catchUp']>(
    () => ({
      since: () => {
        const last = latest.current.at(-1)?.id;
        if (last) pending.current.rejoins += 1;
        return last;
      },
      settle: (missed) => {
        const state = pending.current;
        state.rejoins = Math.max(0, state.rejoins - 1);
        const incoming = (missed ?? []).filter((c) => !state.gone.has(c.id));
        if (state.rejoins === 0) incoming.push(...state.held.splice(0));
        setComments((current) => mergeComments(current, incoming));
      },
    }),
    [],
  );

  return {
    comments,
    addOwn: useCallback((c: LiveComment) => add([c]), [add]),
    remove,
    removeUser,
    catchUp,
  };
}
