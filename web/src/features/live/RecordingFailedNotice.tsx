import type { StreamRecording } from '@onair/protocol';
import { CircleAlert } from 'lucide-react';
import { useEffect, useState } from 'react';
import { useAuth } from '../auth/AuthContext';

/**
 * Why the host's recording stopped, while their stream goes on: from the room's `live_recording`
 * (the host's tabs are in it), or from the stream's details when it had stopped before the page
 * opened. Null while it records (or was never asked to).
 */
export function useRecordingFailure(
  streamId: string,
  recording: StreamRecording | null,
): string | null {
  const { socket } = useAuth();
  const [failure, setFailure] = useState<string | null>(() =>
    recording?.status === 'failed' ? (recording.error ?? '') : null,
  );

  useEffect(
    () =>
      socket.on('live_recording', (e) => {
        if (e.streamId !== streamId) return;
        // A recording that starts again (a new one) is no longer a failure to tell.
        setFailure(e.status === 'failed' ? (e.error ?? '') : null);
      }),
    [socket, streamId],
  );

  return failure;
}

/** The host's notice that the recording stopped: the stream itself is fine. */
export function RecordingFailedNotice({ error }: { error: string }) {
  return (
    <p
      role="alert"
      className="flex items-start gap-2 bg-amber-950 px-3 py-2 text-sm text-amber-100"
      data-testid="recording-failed-notice"
    >
      <CircleAlert className="mt-0.5 h-4 w-4 shrink-0" aria-hidden />
      <span>
        Recording stopped{error ? `: ${error.replace(/\.$/, '')}` : ''}. Your stream is still live.
      </span>
    </p>
  );
}
