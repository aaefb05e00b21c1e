import { LIMITS, type LiveComment } from '@onair/protocol';
import { useEffect, useState } from 'react';
import { call } from '../../lib/api';
import { describeError } from '../../lib/errors';
import { mergeComments } from '../chat/chat-log';

/**
 * A finished stream's whole chat, oldest first: every page of its history (an ended stream's
 * chat no longer grows, and is bounded). `comments` is null until it has all come.
 */
export function useCommentHistory(streamId: string, token: string | null) {
  const [comments, setComments] = useState<LiveComment[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    setComments(null);
    setError(null);
    const load = async () => {
      let all: LiveComment[] = [];
      let before: string | undefined;
      do {
        const page = await call('comments', {
          params: { streamId },
          query: { limit: LIMITS.commentPageMax, ...(before ? { before } : {}) },
          token,
        });
        if (cancelled) return;
        all = mergeComments(all, page.comments);
        before = page.nextBefore ?? undefined;
      } while (before);
      setComments(all);
    };
    load().catch((e: unknown) => !cancelled && setError(describeError(e)));
    return () => {
      cancelled = true;
    };
  }, [streamId, token]);

  return { comments, error };
}
