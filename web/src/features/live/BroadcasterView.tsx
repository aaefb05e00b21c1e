import type { StreamDetails } from '@onair/protocol';
import { Mic, MicOff, PhoneOff, Users, Video, VideoOff } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';
import { Button } from '../../components/Button';
import { LiveChat } from '../chat/LiveChat';
import { FloatingReactions } from './Reactions';
import { useBroadcast } from './useLiveStreaming';

const elapsed = (since: string, now: number) => {
  const s = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
};

function cameraError(error: unknown): string {
  const name = (error as DOMException)?.name;
  if (name === 'NotAllowedError')
    return 'Camera and microphone access was denied. Allow it in your browser settings to go live.';
  if (name === 'NotFoundError' || name === 'OverconstrainedError')
    return 'No camera or microphone was found. Connect one to go live.';
  if (name === 'NotReadableError') return 'Your camera is in use by another application.';
  return `Could not start the camera: ${(error as Error)?.message ?? error}`;
}

export function BroadcasterView({
  stream,
  onLeave,
}: {
  stream: StreamDetails;
  onLeave: () => void;
}) {
  const [media, setMedia] = useState<MediaStream | null>(null);
  const [mediaError, setMediaError] = useState<string | null>(null);
  const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);
  const [micOn, setMicOn] = useState(true);
  const [camOn, setCamOn] = useState(true);
  const [confirming, setConfirming] = useState(false);
  const [now, setNow] = useState(Date.now());
  const preview = useRef<HTMLVideoElement>(null);
  const { phase, health, error, viewerCount, end, replaceTrack } = useBroadcast(
    stream.streamId,
    media,
  );

  useEffect(() => {
    let stream: MediaStream | null = null;
    let cancelled = false;
    navigator.mediaDevices
      .getUserMedia({ video: { width: 1280, height: 720 }, audio: true })
      .then(async (m) => {
        if (cancelled) return m.getTracks().forEach((t) => t.stop());
        stream = m;
        setMedia(m);
        setDevices(await navigator.mediaDevices.enumerateDevices());
      })
      .catch((e: unknown) => !cancelled && setMediaError(cameraError(e)));
    return () => {
      cancelled = true;
      stream?.getTracks().forEach((t) => t.stop());
    };
  }, []);

  useEffect(() => {
    if (preview.current && media) preview.current.srcObject = media;
  }, [media]);

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);

  const toggle = (kind: 'audio' | 'video') => {
    const on = kind === 'audio' ? !micOn : !camOn;
    media
      ?.getTracks()
      .filter((t) => t.kind === kind)
      .forEach((t) => (t.enabled = on));
    if (kind === 'audio') setMicOn(on);
    else setCamOn(on);
  };

  const switchDevice = async (kind: 'audioinput' | 'videoinput', deviceId: string) => {
    if (!media) return;
    try {
      const fresh = await navigator.mediaDevices.getUserMedia(
        kind === 'videoinput'
          ? { video: { deviceId: { exact: deviceId }, width: 1280, height: 720 } }
          : { audio: { deviceId: { exact: deviceId } } },
      );
      const track = fresh.getTracks()[0];
      if (!track) return;
      const old = media.getTracks().find((t) => t.kind === track.kind);
      await replaceTrack(track);
      if (old) {
        media.removeTrack(old);
        old.stop();
      }
      media.addTrack(track);
      track.enabled = track.kind === 'audio' ? micOn : camOn;
    } catch (e) {
      setMediaError(cameraError(e));
    }
  };

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

  const select = 'rounded-lg border border-zinc-700 bg-zinc-900 px-2 py-1 text-sm';
  return (
    <div className="flex min-h-[calc(100dvh-3.5rem)] min-w-0 flex-col md:h-[calc(100dvh-3.5rem)] md:flex-row">
      <div className="relative flex-1 bg-black">
        <video
          ref={preview}
          autoPlay
          playsInline
          muted
          className="h-[50dvh] w-full -scale-x-100 object-contain md:h-full"
          aria-label="Your camera preview"
        />
        <FloatingReactions streamId={stream.streamId} />
        <div className="absolute inset-x-0 top-0 flex flex-wrap items-center gap-2 bg-gradient-to-b from-black/80 p-3 text-sm">
          <span
            className={`rounded px-2 py-0.5 font-bold ${phase === 'live' ? 'bg-rose-600' : 'bg-zinc-700'}`}
            data-testid="broadcast-status"
          >
            {phase === 'live'
              ? 'LIVE'
              : phase === 'ended'
                ? 'ENDED'
                : phase === 'reconnecting'
                  ? 'RECONNECTING'
                  : 'STARTING'}
          </span>
          <span aria-label="Elapsed time">{elapsed(stream.startedAt, now)}</span>
          <span className="flex items-center gap-1" aria-label={`${viewerCount} watching`}>
            <Users className="h-4 w-4" aria-hidden />{' '}
            <span data-testid="viewer-count">{viewerCount}</span>
          </span>
          <h1 className="min-w-0 flex-1 truncate font-semibold">{stream.title}</h1>
        </div>
        {health && (
          <dl
            className="absolute bottom-16 left-3 grid grid-cols-2 gap-x-3 rounded bg-black/60 p-2 text-xs"
            aria-label="Stream health"
          >
            <dt>Bitrate</dt>
            <dd>{health.kbps} kbit/s</dd>
            <dt>Frame rate</dt>
            <dd>{health.fps} fps</dd>
            <dt>Resolution</dt>
            <dd>
              {health.width}×{health.height}
            </dd>
            <dt>Loss</dt>
            <dd>{health.lossPct}%</dd>
          </dl>
        )}
        <div className="absolute inset-x-0 bottom-0 flex flex-wrap items-center justify-center gap-2 bg-gradient-to-t from-black/80 p-3">
          <Button
            variant="secondary"
            onClick={() => toggle('audio')}
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
            onClick={() => toggle('video')}
            aria-pressed={!camOn}
            aria-label={camOn ? 'Turn camera off' : 'Turn camera on'}
          >
            {camOn ? (
              <Video className="h-5 w-5" aria-hidden />
            ) : (
              <VideoOff className="h-5 w-5" aria-hidden />
            )}
          </Button>
          <select
            aria-label="Camera"
            className={select}
            // `switchDevice` shows its own failure; nothing is left to wait for.
            onChange={(e) => void switchDevice('videoinput', e.target.value)}
          >
            {devices
              .filter((d) => d.kind === 'videoinput')
              .map((d, i) => (
                <option key={d.deviceId || i} value={d.deviceId}>
                  {d.label || `Camera ${i + 1}`}
                </option>
              ))}
          </select>
          <select
            aria-label="Microphone"
            className={select}
            // As above.
            onChange={(e) => void switchDevice('audioinput', e.target.value)}
          >
            {devices
              .filter((d) => d.kind === 'audioinput')
              .map((d, i) => (
                <option key={d.deviceId || i} value={d.deviceId}>
                  {d.label || `Microphone ${i + 1}`}
                </option>
              ))}
          </select>
          {phase === 'ended' ? (
            <Button variant="secondary" onClick={onLeave}>
              Back to Live
            </Button>
          ) : (
            <Button variant="danger" onClick={() => setConfirming(true)}>
              <PhoneOff className="h-5 w-5" aria-hidden /> End stream
            </Button>
          )}
        </div>
        {confirming && (
          <div
            role="dialog"
            aria-modal="true"
            aria-labelledby="end-title"
            className="absolute inset-0 z-20 flex items-center justify-center bg-black/70 p-4"
          >
            <div className="max-w-sm rounded-xl bg-zinc-900 p-5">
              <h2 id="end-title" className="mb-2 text-lg font-semibold">
                End your stream?
              </h2>
              <p className="mb-4 text-sm text-zinc-400">
                Everyone watching will see that the stream has ended.
              </p>
              <div className="flex justify-end gap-2">
                <Button variant="secondary" autoFocus onClick={() => setConfirming(false)}>
                  Keep streaming
                </Button>
                <Button
                  variant="danger"
                  onClick={() => {
                    setConfirming(false);
                    // `end` shows its own failure as the broadcast's error.
                    void end();
                  }}
                >
                  End stream
                </Button>
              </div>
            </div>
          </div>
        )}
        {(error || mediaError) && (
          <p
            role="alert"
            className="absolute left-3 right-3 top-14 rounded bg-rose-950/90 p-2 text-sm"
          >
            {error ?? mediaError}
          </p>
        )}
      </div>
      <aside className="flex h-[50dvh] min-h-0 flex-col border-zinc-800 md:h-full md:w-80 md:border-l">
        <LiveChat streamId={stream.streamId} hostId={stream.host.id} disabled={phase === 'ended'} />
      </aside>
    </div>
  );
}
