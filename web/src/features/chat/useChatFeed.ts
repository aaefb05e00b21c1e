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
  /** Rejoins naming a comment that have not answered yet, and what arrived meanwhile. */
  const pending = useRef({ rejoins: 0, held: [] as LiveComment[] });

  const add = useCallback((incoming: LiveComment[]) => {
    if (pending.current.rejoins > 0) pending.current.held.push(...incoming);
    else setComments((current) => mergeComments(current, incoming));
  }, []);

  const remove = useCallback((commentId: string) => {
    const state = pending.current;
    state.held = state.held.filter((c) => c.id !== commentId);
    setComments((current) => current.filter((c) => c.id !== commentId));
  }, []);

  useEffect(() => {
    let cancelled = false;
    setComments([]);
    pending.current = { rejoins: 0, held: [] };
    const loadHistory = () =>
      call('comments', { params: { streamId }, query: { limit: 50 }, token: socket.token })
        .then((page) => !cancelled && setComments((c) => mergeComments(c, page.comments)))
        .catch(() => undefined);
    const offComment = socket.on('live_comment_added', (c) => c.streamId === streamId && add([c]));
    const offDeleted = socket.on(
      'live_comment_deleted',
      (e) => e.streamId === streamId && remove(e.commentId),
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
      offConnection();
    };
  }, [socket, streamId, add, remove]);

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
        const incoming = [...(missed ?? [])];
        if (state.rejoins === 0) incoming.push(...state.held.splice(0));
        setComments((current) => mergeComments(current, incoming));
      },
    }),
    [],
  );

  return { comments, addOwn: useCallback((c: LiveComment) => add([c]), [add]), remove, catchUp };
}
