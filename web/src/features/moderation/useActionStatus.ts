import { useCallback, useState } from 'react';
import { describeError, type FailureCode } from '../../lib/errors';
import { moderationErrors } from './useModeration';

/**
 * One panel section's request state: busy while a request runs, then a sentence saying what was
 * done or why it was refused (never both).
 */
export function useActionStatus() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  /** Runs `task`; resolves true when it succeeded. Never rejects. */
  const run = useCallback(
    async (
      task: () => Promise<unknown>,
      doneSentence: string,
      overrides: Partial<Record<FailureCode, string>> = {},
    ) => {
      setBusy(true);
      setError(null);
      setDone(null);
      try {
        await task();
        setDone(doneSentence);
        return true;
      } catch (e) {
        setError(describeError(e, { ...moderationErrors, ...overrides }));
        return false;
      } finally {
        setBusy(false);
      }
    },
    [],
  );
  const fail = useCallback((sentence: string) => {
    setDone(null);
    setError(sentence);
  }, []);
  return { busy, error, done, run, fail };
}
