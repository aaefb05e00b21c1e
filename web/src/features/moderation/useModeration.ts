import type {
  ModerationAction,
  ModerationLogEntry,
  ModerationResult,
  ModerationState,
} from '@onair/protocol';
import { useCallback, useEffect, useState } from 'react';
import { describeError } from '../../lib/errors';
import { call } from '../../lib/api';
import { useAuth } from '../auth/AuthContext';

/** What moderators are told instead of the app's general sentences. */
export const moderationErrors = {
  forbidden: 'Only the host and their moderators can do that.',
  not_found: 'That message or person is no longer there.',
} as const;

export interface Moderation {
  /** The settings now; null until loaded (or when this user may not moderate). */
  state: ModerationState | null;
  /** Actions taken, newest first. */
  actions: ModerationLogEntry[];
  /** More, older actions can be loaded. */
  hasOlder: boolean;
  loadError: string | null;
  reload(): Promise<void>;
  loadOlder(): Promise<void>;
  /** Takes one action; rejects with the socket's error when the server refuses it. */
  act(action: ModerationAction): Promise<ModerationResult>;
}

/**
 * A stream's moderation for its host and moderators: the settings and log over REST, actions over
 * the socket. Each answer carries the state after it, which replaces what is shown. Nothing is
 * loaded while `enabled` is false (a viewer has no right to it).
 */
export function useModeration(streamId: string, enabled: boolean): Moderation {
  const { session, socket } = useAuth();
  const token = session?.token ?? null;
  const [state, setState] = useState<ModerationState | null>(null);
  const [actions, setActions] = useState<ModerationLogEntry[]>([]);
  const [nextBefore, setNextBefore] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    if (!enabled || !token) return;
    try {
      const view = await call('moderation', { params: { streamId }, token });
      setState(view.state);
      setActions(view.actions);
      setNextBefore(view.nextBefore);
      setLoadError(null);
    } catch (e) {
      setLoadError(describeError(e, moderationErrors));
    }
  }, [enabled, token, streamId]);

  useEffect(() => {
    if (!enabled) {
      setState(null);
      setActions([]);
      return;
    }
    // `reload` shows its own failure.
    void reload();
  }, [enabled, reload]);

  // Slow mode set by another moderator reaches the whole room.
  useEffect(
    () =>
      socket.on('live_slow_mode', (e) => {
        if (e.streamId === streamId)
          setState((s) => (s ? { ...s, slowModeSeconds: e.seconds } : s));
      }),
    [socket, streamId],
  );

  const loadOlder = useCallback(async () => {
    if (!token || !nextBefore) return;
    try {
      const view = await call('moderation', {
        params: { streamId },
        query: { before: nextBefore },
        token,
      });
      setActions((current) => {
        const seen = new Set(current.map((a) => a.id));
        return [...current, ...view.actions.filter((a) => !seen.has(a.id))];
      });
      setNextBefore(view.nextBefore);
    } catch (e) {
      setLoadError(describeError(e, moderationErrors));
    }
  }, [token, streamId, nextBefore]);

  const act = useCallback(
    async (action: ModerationAction) => {
      const result = await socket.request('live_moderate', { streamId, ...action });
      setState(result.state);
      setActions((current) => [result.entry, ...current.filter((a) => a.id !== result.entry.id)]);
      return result;
    },
    [socket, streamId],
  );

  return { state, actions, hasOlder: nextBefore !== null, loadError, reload, loadOlder, act };
}
