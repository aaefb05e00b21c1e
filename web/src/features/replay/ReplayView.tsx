import type { StreamDetails } from '@onair/protocol';
import { ArrowLeft, History, LoaderCircle } from 'lucide-react';
import { useRef } from 'react';
import { Button } from '../../components/Button';
import { useAuth } from '../auth/AuthContext';
import { StreamInfo } from '../live/StreamInfo';
import { useHlsPlayback } from '../live/useHlsPlayback';
import { RecordingControls } from './RecordingControls';
import { ReplayChat } from './ReplayChat';
import { useCommentHistory } from './useCommentHistory';
import { useMediaTime } from './useMediaTime';

/**
 * An ended stream's replay: the recording with the player's own controls (seeking included),
 * who streamed it, and the chat as it went at each moment of the video. While the recording is
 * still being closed, `preparing` shows a wait instead (the page asks again until it is ready).
 * The host also gets the recording's download and deletion.
 */
export function ReplayView({
  stream,
  preparing,
  onLeave,
  onRecordingDeleted,
}: {
  stream: StreamDetails;
  preparing: boolean;
  onLeave: () => void;
  onRecordingDeleted: () => void;
}) {
  const { session } = useAuth();
  const token = session?.token ?? null;
  const video = useRef<HTMLVideoElement>(null);
  const url = preparing ? null : (stream.recording?.url ?? null);
  const { playback } = useHlsPlayback(video, url, { live: false });
  const currentTime = useMediaTime(video, url);
  const history = useCommentHistory(stream.streamId, token);
  const isHost = session?.user.id === stream.host.id;

  return (
    <div
      className="flex h-[calc(100dvh-3.5rem)] w-full flex-col overflow-x-hidden overflow-y-auto md:flex-row"
      data-testid="replay"
    >
      <section
        aria-label="Replay"
        className="flex min-w-0 shrink-0 flex-col md:min-h-0 md:flex-1 md:shrink"
      >
        <div className="relative aspect-video max-h-[60dvh] w-full bg-black md:aspect-auto md:max-h-none md:min-h-0 md:flex-1">
          {preparing ? (
            <div
              className="flex h-full w-full flex-col items-center justify-center gap-3 p-4 text-zinc-300"
              role="status"
              data-testid="replay-preparing"
            >
              <LoaderCircle className="h-8 w-8 animate-spin" aria-hidden />
              <p>Preparing the replay…</p>
            </div>
          ) : (
            <video
              ref={video}
              controls
              playsInline
              className="h-full w-full object-contain"
              aria-label={`Replay of ${stream.title} by ${stream.host.display_name}`}
              data-testid="replay-video"
              data-playback="hls"
            />
          )}
          {/* Above the video, clear of the player's own controls at the bottom. */}
          <div className="pointer-events-none absolute inset-x-0 top-0 flex min-w-0 items-center gap-2 bg-gradient-to-b from-black/80 p-3 text-sm">
            <Button
              variant="ghost"
              onClick={onLeave}
              aria-label="Leave replay"
              className="pointer-events-auto px-2"
            >
              <ArrowLeft className="h-5 w-5" aria-hidden />
            </Button>
            <span
              className="flex shrink-0 items-center gap-1 rounded bg-zinc-700 px-2 py-0.5 font-bold"
              data-testid="replay-badge"
            >
              <History className="h-4 w-4" aria-hidden /> Replay
            </span>
          </div>
          {playback.status === 'error' && (
            <p
              className="pointer-events-none absolute left-1/2 top-1/2 -translate-x-1/2 -translate-y-1/2 rounded bg-black/70 px-4 py-2 text-center"
              role="alert"
              data-testid="replay-error"
            >
              {playback.message}
            </p>
          )}
        </div>
        <StreamInfo stream={stream} />
        {isHost && stream.recording && (
          <RecordingControls
            streamId={stream.streamId}
            recording={stream.recording}
            onDeleted={onRecordingDeleted}
          />
        )}
      </section>
      <aside className="flex min-h-64 min-w-0 flex-1 flex-col border-zinc-800 md:h-full md:w-80 md:flex-none md:border-l">
        <ReplayChat
          comments={history.comments}
          error={history.error}
          hostId={stream.host.id}
          timeline={stream.recording?.timeline ?? []}
          startedAt={stream.startedAt}
          currentTime={currentTime}
        />
      </aside>
    </div>
  );
}
