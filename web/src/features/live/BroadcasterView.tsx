import type { StreamDetails } from '@onair/protocol';
import { Mic, MicOff, PhoneOff, Settings2, Video, VideoOff } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';
import { Button } from '../../components/Button';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import {
  audioConstraints,
  cameraError,
  openCamera,
  release,
  rememberDevices,
  rememberedDevices,
  videoConstraints,
} from '../../lib/media-devices';
import { useSession } from '../auth/AuthContext';
import { useChatFeed } from '../chat/useChatFeed';
import { DevicePickers, deviceOf } from './DevicePickers';
import { EndSummary } from './EndSummary';
import { HostBar } from './HostBar';
import { HostSidebar } from './HostSidebar';
import { FloatingReactions } from './Reactions';
import { RecordingFailedNotice, useRecordingFailure } from './RecordingFailedNotice';
import { useBroadcast } from './useLiveStreaming';
import { useThumbnailUploads } from './useThumbnailUploads';
import { useVideoAspect } from './useVideoAspect';

const phaseLabel = {
  live: 'LIVE',
  ended: 'ENDED',
  reconnecting: 'RECONNECTING',
  error: 'OFFLINE',
} as const;

export function BroadcasterView({
  stream,
  onLeave,
  onPublishedElsewhere,
}: {
  stream: StreamDetails;
  onLeave: () => void;
  /** Another tab or device publishes this stream: this one manages it instead. */
  onPublishedElsewhere?: () => void;
}) {
  const { socket } = useSession();
  const [media, setMedia] = useState<MediaStream | null>(null);
  const [mediaError, setMediaError] = useState<string | null>(null);
  const [micOn, setMicOn] = useState(true);
  const [camOn, setCamOn] = useState(true);
  const [confirming, setConfirming] = useState(false);
  const [showDevices, setShowDevices] = useState(false);
  const [now, setNow] = useState(Date.now());
  const [, setSwitches] = useState(0);
  const preview = useRef<HTMLVideoElement>(null);
  const aspect = useVideoAspect(preview);
  /** Every camera stream this page opened, to be sure each one is released. */
  const opened = useRef<MediaStream | null>(null);
  const feed = useChatFeed(stream.streamId);
  const { phase, health, error, errorCode, viewerCount, chat, layers, end, replaceTrack } =
    useBroadcast(stream.streamId, media, feed.catchUp);
  const ended = phase === 'ended';
  const recordingFailure = useRecordingFailure(stream.streamId, stream.recording);

  useEffect(() => {
    let cancelled = false;
    openCamera(rememberedDevices()).then(
      (m) => {
        if (cancelled) return release(m);
        opened.current = m;
        setMedia(m);
      },
      (e: unknown) => !cancelled && setMediaError(cameraError(e)),
    );
    return () => {
      cancelled = true;
      release(opened.current);
    };
  }, []);

  // Over, here or elsewhere: the camera light goes off now, not when the page is left. Dropping
  // `media` also closes the connection and its health sampler (useBroadcast's effect).
  useEffect(() => {
    if (!ended) return;
    release(opened.current);
    setMedia(null);
  }, [ended]);

  useEffect(() => {
    if (preview.current) preview.current.srcObject = media;
  }, [media]);

  // The stream is published from elsewhere (another tab or device, or OBS): this page lets the
  // camera go and manages the stream instead of fighting for it.
  const elsewhere = useRef(onPublishedElsewhere);
  elsewhere.current = onPublishedElsewhere;
  useEffect(() => {
    if (errorCode !== 'conflict' || !elsewhere.current) return;
    release(opened.current);
    setMedia(null);
    elsewhere.current();
  }, [errorCode]);

  useEffect(() => {
    if (ended) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [ended]);

  // The room learns of the camera and microphone from the host: on each change and whenever the
  // stream (re)starts going out, so a viewer arriving after a reconnect sees the right cue.
  const live = phase === 'live';
  useEffect(() => {
    if (!live) return;
    socket
      .request('live_media_state', {
        streamId: stream.streamId,
        camera: camOn,
        microphone: micOn,
      })
      .catch(() => undefined);
  }, [live, camOn, micOn, socket, stream.streamId]);

  useThumbnailUploads(stream.streamId, preview, live && camOn);

  /**
   * Mute keeps the microphone open and sends silence: unmuting is instant (no first word cut,
   * no permission asked again), and the silence keeps the connection alive while the camera is
   * off too (the server treats a publisher that sends nothing as gone).
   */
  const toggleMicrophone = () => {
    const on = !micOn;
    media?.getAudioTracks().forEach((t) => (t.enabled = on));
    setMicOn(on);
  };

  /**
   * Off stops the camera (its light goes out) and sends no video; on opens it again and puts the
   * new track on the same connection, so viewers stay connected and see it again.
   */
  const [camBusy, setCamBusy] = useState(false);
  const toggleCamera = async () => {
    if (!media || camBusy) return;
    setCamBusy(true);
    try {
      if (camOn) {
        for (const track of media.getVideoTracks()) {
          track.stop();
          media.removeTrack(track);
        }
        setCamOn(false);
        await replaceTrack('video', null);
      } else {
        const fresh = await navigator.mediaDevices.getUserMedia({
          video: videoConstraints(rememberedDevices().videoDeviceId),
        });
        const track = fresh.getVideoTracks()[0];
        if (!track) return;
        // Left meanwhile, or ended: the camera goes straight back off.
        if (opened.current !== media) return track.stop();
        media.addTrack(track);
        await replaceTrack('video', track);
        // A MediaStream whose tracks changed is not always redrawn: attach it again.
        if (preview.current) preview.current.srcObject = media;
        setCamOn(true);
      }
      setMediaError(null);
    } catch (e) {
      setMediaError(cameraError(e));
    } finally {
      setCamBusy(false);
    }
  };

  const switchDevice = async (kind: 'audio' | 'video', deviceId: string) => {
    if (!media) return;
    // The camera is off: it stays off, and opens on the new choice when turned on.
    if (kind === 'video' && !camOn) {
      rememberDevices({ ...rememberedDevices(), videoDeviceId: deviceId });
      setSwitches((n) => n + 1);
      return;
    }
    try {
      const fresh = await navigator.mediaDevices.getUserMedia(
        kind === 'video'
          ? { video: videoConstraints(deviceId) }
          : { audio: audioConstraints(deviceId) },
      );
      const track = fresh.getTracks()[0];
      if (!track) return;
      const old = media.getTracks().find((t) => t.kind === track.kind);
      await replaceTrack(kind, track);
      if (old) {
        media.removeTrack(old);
        old.stop();
      }
      media.addTrack(track);
      track.enabled = kind === 'audio' ? micOn : camOn;
      // With the camera off, the camera remembered stays the one it will open on.
      rememberDevices({
        videoDeviceId: deviceOf(media, 'video') || rememberedDevices().videoDeviceId,
        audioDeviceId: deviceOf(media, 'audio') || null,
      });
      // The same MediaStream (a new one would publish again): render so the pickers show it.
      setSwitches((n) => n + 1);
    } catch (e) {
      setMediaError(cameraError(e));
    }
  };

  if (ended) return <EndSummary streamId={stream.streamId} title={stream.title} onHome={onLeave} />;

  if (mediaError && !media) {
    return (
      <div className="mx-auto flex min-h-[calc(100dvh-3.5rem)] max-w-md flex-col items-center justify-center gap-4 p-6 text-center">
        <VideoOff className="h-12 w-12 text-rose-400" aria-hidden />
        <p role="alert">{mediaError}</p>
        <Button variant="secondary" onClick={onLeave}>
          Back to Live
        </Button>
      </div>
    );
  }

  const status =
    phase === 'live' || phase === 'reconnecting' || phase === 'error'
      ? phaseLabel[phase]
      : 'STARTING';
  return (
    // As the viewer's page: on a phone the chat fills what the video and controls leave.
    <div className="flex h-[calc(100dvh-3.5rem)] w-full flex-col overflow-x-hidden overflow-y-auto md:flex-row">
      <section
        aria-label="Your broadcast"
        className="flex min-w-0 shrink-0 flex-col md:min-h-0 md:flex-1 md:shrink"
      >
        <div
          className="relative mx-auto aspect-[var(--video-aspect)] max-h-[60dvh] w-full max-w-[calc(60dvh*var(--video-w-per-h))] bg-black md:mx-0 md:aspect-auto md:max-h-none md:min-h-0 md:max-w-none md:flex-1"
          style={aspect.style}
          data-portrait={aspect.portrait || undefined}
        >
          <video
            ref={preview}
            autoPlay
            playsInline
            muted
            className={`h-full w-full -scale-x-100 object-contain ${camOn ? '' : 'invisible'}`}
            aria-label="Your camera preview"
          />
          {!camOn && (
            <p className="absolute inset-0 flex flex-col items-center justify-center gap-2 text-zinc-400">
              <VideoOff className="h-10 w-10" aria-hidden />
              Your camera is off
            </p>
          )}
          <FloatingReactions streamId={stream.streamId} />
          <HostBar
            status={status}
            live={phase === 'live'}
            startedAt={stream.startedAt}
            now={now}
            viewerCount={viewerCount}
            title={stream.title}
            health={health}
            healthLabel="Stream health"
            layers={layers}
          />
        </div>
        {(error || mediaError) && (
          <p role="alert" className="bg-rose-950 px-3 py-2 text-sm">
            {error ?? mediaError}
          </p>
        )}
        {recordingFailure !== null && !ended && <RecordingFailedNotice error={recordingFailure} />}
        <div className="flex min-w-0 flex-wrap items-end gap-2 border-t border-zinc-800 bg-zinc-950 p-3">
          <Button
            variant="secondary"
            onClick={toggleMicrophone}
            aria-pressed={!micOn}
            aria-label={micOn ? 'Mute microphone' : 'Unmute microphone'}
          >
            {micOn ? (
              <Mic className="h-5 w-5" aria-hidden />
            ) : (
              <MicOff className="h-5 w-5" aria-hidden />
            )}
          </Button>
          <Button
            variant="secondary"
            disabled={camBusy}
            onClick={() => void toggleCamera()}
            aria-pressed={!camOn}
            aria-label={camOn ? 'Turn camera off' : 'Turn camera on'}
          >
            {camOn ? (
              <Video className="h-5 w-5" aria-hidden />
            ) : (
              <VideoOff className="h-5 w-5" aria-hidden />
            )}
          </Button>
          <Button
            variant="secondary"
            className="md:hidden"
            aria-expanded={showDevices}
            aria-controls="broadcast-devices"
            aria-label={
              showDevices ? 'Hide camera and microphone choice' : 'Choose camera and microphone'
            }
            onClick={() => setShowDevices((s) => !s)}
          >
            <Settings2 className="h-5 w-5" aria-hidden />
          </Button>
          <Button variant="danger" className="ml-auto" onClick={() => setConfirming(true)}>
            <PhoneOff className="h-5 w-5" aria-hidden /> End stream
          </Button>
          <div id="broadcast-devices" className={`w-full md:block ${showDevices ? '' : 'hidden'}`}>
            <DevicePickers
              media={media}
              // `switchDevice` shows its own failure; nothing is left to wait for.
              onPick={(kind, deviceId) => void switchDevice(kind, deviceId)}
            />
          </div>
        </div>
      </section>
      <HostSidebar
        streamId={stream.streamId}
        hostId={stream.host.id}
        ended={ended}
        chat={chat}
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
            // `end` shows its own failure as the broadcast's error.
            void end();
          }}
        >
          Everyone watching will see that the stream has ended.
        </ConfirmDialog>
      )}
    </div>
  );
}
