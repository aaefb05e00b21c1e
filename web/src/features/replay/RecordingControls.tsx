import type { StreamRecording } from '@onair/protocol';
import { Download, Trash2 } from 'lucide-react';
import { Button } from '../../components/Button';
import { useSession } from '../auth/AuthContext';
import { formatBytes, formatDuration } from '../live/format';
import { DeleteRecordingDialog } from './DeleteRecordingDialog';
import { useDeleteRecording } from './useDeleteRecording';

/** The host's hold on a stream's recording: its size and length, a download, and deleting it. */
export function RecordingControls({
  streamId,
  recording,
  onDeleted,
}: {
  streamId: string;
  recording: StreamRecording;
  onDeleted: () => void;
}) {
  const { session } = useSession();
  const deleting = useDeleteRecording(session.token, onDeleted);

  return (
    <div
      className="flex min-w-0 flex-wrap items-center gap-2 border-b border-zinc-800 p-3"
      data-testid="recording-controls"
    >
      <p className="min-w-[12rem] flex-1 text-sm text-zinc-400">
        Your recording:{' '}
        <span data-testid="recording-duration">{formatDuration(recording.durationSeconds)}</span>
        {' · '}
        <span data-testid="recording-size">{formatBytes(recording.bytes)}</span>
      </p>
      {recording.downloadUrl && (
        <a
          href={recording.downloadUrl}
          download
          className="inline-flex items-center gap-2 rounded-lg bg-zinc-800 px-4 py-2 font-medium hover:bg-zinc-700"
          data-testid="recording-download"
        >
          <Download className="h-5 w-5" aria-hidden /> Download
        </a>
      )}
      <Button
        variant="danger"
        disabled={deleting.busy}
        onClick={() => deleting.ask(streamId)}
        data-testid="recording-delete"
      >
        <Trash2 className="h-5 w-5" aria-hidden /> Delete recording
      </Button>
      {deleting.error && (
        <p role="alert" className="w-full text-sm text-rose-300">
          {deleting.error}
        </p>
      )}
      {deleting.asking && (
        <DeleteRecordingDialog
          onCancel={deleting.cancel}
          onConfirm={() => {
            // `confirm` shows its own failure.
            void deleting.confirm();
          }}
        />
      )}
    </div>
  );
}
