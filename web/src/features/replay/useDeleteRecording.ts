import { useState } from 'react';
import { callWithoutAnswer } from '../../lib/api';
import { describeError } from '../../lib/errors';

/**
 * Deleting one of the host's recordings, asked first: `ask` opens the question, `confirm` deletes
 * and runs `onDeleted`; a failure is kept in `error` to show.
 */
export function useDeleteRecording(token: string, onDeleted: () => void) {
  const [asking, setAsking] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const confirm = async () => {
    const streamId = asking;
    if (!streamId) return;
    setAsking(null);
    setBusy(true);
    setError(null);
    try {
      await callWithoutAnswer('deleteRecording', { params: { streamId }, token });
      onDeleted();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return {
    /** The stream whose recording the question is about, while it is open. */
    asking,
    busy,
    error,
    ask: (streamId: string) => setAsking(streamId),
    cancel: () => setAsking(null),
    confirm,
  };
}
