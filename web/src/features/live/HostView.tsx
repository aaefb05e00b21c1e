import type { StreamDetails } from '@onair/protocol';
import { MicOff, PhoneOff, Video, VideoOff } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';
import { Button } from '../../components/Button';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { describeError } from '../../lib/errors';
import type { SocketError } from '../../lib/live-socket';
import { inboundHealthSampler, type StreamHealth } from '../../lib/rtc';
import { useAuth } from '../auth/AuthContext';
import { useChatFeed } from '../chat/useChatFeed';
import { EndSummary } from './EndSummary';
import { HostBar } from './HostBar';
import { HostSidebar } from './HostSidebar';
import { control, PlayerControls } from './PlayerControls';
import { QualityMenu } from './QualityMenu';
import { FloatingReactions } from './Reactions';
import { RecordingFailedNotice, useRecordingFailure } from './RecordingFailedNotice';
import { useBroadcasterMedia } from './useBroadcasterMedia';
import { useWatch } from './useLiveStreaming';

/**
 * The host's view of their live stream on a tab or device that does not publish it: a stream
 * sent from OBS, or from the browser elsewhere. The host watches it as viewers do (the camera is
 * never touched here), with the chat and its moderation, who is watching, the stream's health as
 * received, and End stream. `onBroadcastHere` takes over publishing from this device, offered
 * while nothing is being sent.
 */
export function HostView({
  stream,
  onLeave,
  onBroadcastHere,
}: {
  stream: StreamDetails;
  onLeave: () => void;
  onBroadcastHere: () => void;
}) {
  const { socket } = useAuth();
  const feed = useChatFeed(stream.streamId);
  const watched = useWatch(stream.streamId, feed.catchUp);
  const { phase, remote, interrupted, error, viewerCount, connection } = watched;
  const media = useBroadcasterMedia(stream.streamId, stream.media, watched.stream?.media);
  const video = useRef<HTMLVideoElement>(null);
  const player = useRef<HTMLDivElement>(null);
  // Muted at first: the host's own voice coming back would echo on the device they speak into.
  const [muted, setMuted] = useState(true);
  const [health, setHealth] = useState<StreamHealth | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [ended, setEnded] = useState(false);
  const [endError, setEndError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());
  const over = ended || phase === 'ended';
  const recordingFailure = useRecordingFailure(stream.streamId, stream.recording);

  useEffect(() => {
    const el = video.current;
    if (!el) return;
    el.srcObject = remote;
    if (remote) el.play().catch(() => undefined);
  }, [remote]);

  useEffect(() => {
    if (video.current) video.current.muted = muted;
  }, [muted]);

  useEffect(() => {
    if (over) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [over]);

  useEffect(() => {
    setHealth(null);
    if (!connection) return;
    const sample = inboundHealthSampler(connection);
    const timer = setInterval(() => {
      // A connection closing under the sampler has no stats: skip that reading.
      sample().then(
        (h) => h && setHealth(h),
        () => undefined,
      );
    }, 1000);
    return () => clearInterval(timer);
  }, [connection]);

  const end = async () => {
    try {
      await socket.request('end_live', { streamId: stream.streamId });
      setEnded(true);
    } catch (e) {
      // Already over (ended elsewhere): what was asked for.
      if ((e as SocketError).error?.code === 'stream_ended') setEnded(true);
      else setEndError(describeError(e));
    }
  };

  if (over) return <EndSummary streamId={stream.streamId} title={stream.title} onHome={onLeave} />;

  const waiting = phase === 'waiting';
  const statusText = interrupted
    ? 'Connection lost. Reconnecting…'
    : phase === 'reconnecting'
      ? 'Your broadcast is reconnecting…'
      : waiting
        ? 'Nothing is being sent yet. Start streaming in OBS, or broadcast from this device.'
        : phase === 'error'
          ? (error ?? 'Something went wrong')
          : phase === 'joining'
            ? 'Joining…'
            : null;
  const badge =
    interrupted || phase === 'reconnecting' ? 'RECONNECTING' : waiting ? 'WAITING' : 'LIVE';

  return (
    <div className="flex h-[calc(100dvh-3.5rem)] w-full flex-col overflow-x-hidden overflow-y-auto md:flex-row">
      <section
        aria-label="Your broadcast"
        className="flex min-w-0 shrink-0 flex-col md:min-h-0 md:flex-1 md:shrink"
        data-testid="host-view"
      >
        <div
          ref={player}
          className="relative aspect-video max-h-[45dvh] w-full bg-black md:aspect-auto md:max-h-none md:min-h-0 md:flex-1"
        >
          <video
            ref={video}
            autoPlay
            playsInline
            muted
            className="h-full w-full object-contain"
            aria-label={`Your stream as viewers see it: ${stream.title}`}
            data-testid="remote-video"
          />
          {!media.camera && !statusText && (
            <div className="absolute inset-0 flex flex-col items-center justify-center gap-2 bg-zinc-950 text-zinc-300">
              <VideoOff className="h-10 w-10" aria-hidden />
              <p>Your camera is off</p>
            </div>
          )}
          <FloatingReactions streamId={stream.streamId} />
          <HostBar
            status={badge}
            live={badge === 'LIVE'}
            startedAt={stream.startedAt}
            now={now}
            viewerCount={viewerCount}
            title={stream.title}
            health={health}
            healthLabel="Stream health as received"
            layers={watched.layers}
          >
            {!media.microphone && (
              <span className="flex shrink-0 items-center gap-1 rounded bg-black/60 px-2 py-0.5 text-xs">
                <MicOff className="h-3.5 w-3.5" aria-hidden /> Muted
              </span>
            )}
          </HostBar>
          {remote && (
            <div className="absolute bottom-3 right-3">
              <PlayerControls
                video={video}
                container={player}
                muted={muted}
                onMutedChange={setMuted}
              >
                <QualityMenu
                  video={video}
                  layers={watched.layers}
                  quality={watched.quality}
                  onChoose={watched.chooseQuality}
                  buttonClassName={control}
                />
              </PlayerControls>
            </div>
          )}
          {statusText && (
            <div
              className="absolute inset-0 flex flex-col items-center justify-center gap-3 bg-black/50 p-4"
              role="status"
            >
              <p className="rounded bg-black/70 px-4 py-2 text-center" data-testid="host-status">
                {statusText}
              </p>
            </div>
          )}
        </div>
        {endError && (
          <p role="alert" className="bg-rose-950 px-3 py-2 text-sm">
            {endError}
          </p>
        )}
        {recordingFailure !== null && !over && <RecordingFailedNotice error={recordingFailure} />}
        <div className="flex min-w-0 flex-wrap items-center gap-2 border-t border-zinc-800 bg-zinc-950 p-3">
          <p className="min-w-0 flex-1 text-sm text-zinc-400">
            {waiting
              ? 'Your camera is not used on this screen until you choose to broadcast from it.'
              : 'You are managing this stream. It is sent from another device or app.'}
          </p>
          {waiting && (
            <Button variant="secondary" onClick={onBroadcastHere}>
              <Video className="h-5 w-5" aria-hidden /> Broadcast from this device
            </Button>
          )}
          <Button variant="danger" onClick={() => setConfirming(true)}>
            <PhoneOff className="h-5 w-5" aria-hidden /> End stream
          </Button>
        </div>
      </section>
      <HostSidebar
        streamId={stream.streamId}
        hostId={stream.host.id}
        ended={over}
        chat={watched.chat}
        feed={feed}
      />
      {confirming && (
        <ConfirmDialog
          title="End your stream?"
          cancelLabel="Keep streaming"
          confirmLabel="End stream"
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false);
            // `end` shows its own failure.
            void end();
          }}
        >
          Everyone watching will see that the stream has ended, and what is being sent stops.
        </ConfirmDialog>
      )}
    </div>
  );
}
