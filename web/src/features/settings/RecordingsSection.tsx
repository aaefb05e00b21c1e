import type { MyRecordings, RecordingStatus } from '@onair/protocol';
import { Calendar, Clock, HardDrive, PlayCircle, Trash2 } from 'lucide-react';
import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { Button } from '../../components/Button';
import { call } from '../../lib/api';
import { describeError } from '../../lib/errors';
import { useSession } from '../auth/AuthContext';
import { formatBytes, formatDuration } from '../live/format';
import { DeleteRecordingDialog } from '../replay/DeleteRecordingDialog';
import { useDeleteRecording } from '../replay/useDeleteRecording';

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

const statusLabels: Record<RecordingStatus, string> = {
  recording: 'Recording now',
  processing: 'Preparing',
  ready: 'Ready',
  failed: 'Stopped by an error',
};

function retentionSentence(days: number | null): string {
  if (days === null) return 'Recordings are kept until you delete them.';
  return `Recordings are kept for ${days} ${days === 1 ? 'day' : 'days'}.`;
}

/** The signed-in host's recordings: the disk they take, how long they are kept, and each one. */
export function RecordingsSection() {
  const { session } = useSession();
  const [data, setData] = useState<MyRecordings | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    () =>
      call('myRecordings', { token: session.token }).then(
        (recordings) => {
          setData(recordings);
          setError(null);
        },
        (e: unknown) => setError(describeError(e)),
      ),
    [session.token],
  );
  useEffect(() => {
    // `load` settles its own failure as the section's error.
    void load();
  }, [load]);
  const deleting = useDeleteRecording(session.token, () => void load());

  if (!data)
    return error ? (
      <p role="alert" className="text-sm text-rose-300">
        {error}
      </p>
    ) : (
      <p role="status" className="text-sm text-zinc-400">
        Loading…
      </p>
    );

  return (
    <div className="flex min-w-0 flex-col gap-3" data-testid="recordings">
      <p className="flex items-center gap-1.5 text-sm text-zinc-300">
        <HardDrive className="h-4 w-4 shrink-0" aria-hidden />
        <span>
          Using <span data-testid="recordings-total">{formatBytes(data.totalBytes)}</span>.{' '}
          <span data-testid="recordings-retention">{retentionSentence(data.retentionDays)}</span>
        </span>
      </p>
      {(deleting.error ?? error) && (
        <p role="alert" className="text-sm text-rose-300">
          {deleting.error ?? error}
        </p>
      )}
      {data.recordings.length === 0 ? (
        <p className="text-sm text-zinc-400">No recordings yet.</p>
      ) : (
        <ul className="flex flex-col gap-2">
          {data.recordings.map((r) => (
            <li
              key={r.streamId}
              className="flex min-w-0 flex-wrap items-center gap-3 rounded-lg border border-zinc-800 bg-zinc-900 p-3"
              data-testid="recording"
              data-stream-id={r.streamId}
            >
              <div className="min-w-0 flex-1">
                <h3 className="truncate font-medium">{r.title}</h3>
                <p className="flex flex-wrap gap-x-3 text-sm text-zinc-400">
                  <span className="flex items-center gap-1">
                    <Calendar className="h-3.5 w-3.5" aria-hidden />
                    <time dateTime={r.startedAt}>{dateFormat.format(new Date(r.startedAt))}</time>
                  </span>
                  <span className="flex items-center gap-1">
                    <Clock className="h-3.5 w-3.5" aria-hidden />
                    <span className="sr-only">Duration</span> {formatDuration(r.durationSeconds)}
                  </span>
                  <span>{formatBytes(r.bytes)}</span>
                  <span data-testid="recording-status">{statusLabels[r.status]}</span>
                </p>
              </div>
              <Link
                to={`/live/${r.streamId}`}
                className="inline-flex items-center gap-1.5 rounded-lg bg-zinc-800 px-3 py-2 text-sm font-medium hover:bg-zinc-700"
              >
                <PlayCircle className="h-4 w-4" aria-hidden /> Watch
                <span className="sr-only"> the replay of {r.title}</span>
              </Link>
              <Button
                variant="secondary"
                className="px-3 text-sm"
                disabled={deleting.busy}
                onClick={() => deleting.ask(r.streamId)}
                aria-label={`Delete the recording of ${r.title}`}
              >
                <Trash2 className="h-4 w-4" aria-hidden /> Delete
              </Button>
            </li>
          ))}
        </ul>
      )}
      {deleting.asking && (
        <DeleteRecordingDialog
          onCancel={deleting.cancel}
          onConfirm={() => {
            // `confirm` shows its own failure above the list.
            void deleting.confirm();
          }}
        />
      )}
    </div>
  );
}
