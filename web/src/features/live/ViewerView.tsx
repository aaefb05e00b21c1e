import type { StreamDetails } from '@onair/protocol';
import { ArrowLeft, Users, VolumeX } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { Button } from '../../components/Button';
import { LiveChat } from '../chat/LiveChat';
import { FloatingReactions } from './Reactions';
import { Avatar } from './StreamCard';
import { useWatch } from './useLiveStreaming';

export function ViewerView({ stream, onLeave }: { stream: StreamDetails; onLeave: () => void }) {
  const { phase, remote, interrupted, error, viewerCount } = useWatch(stream.streamId);
  const video = useRef<HTMLVideoElement>(null);
  const [muted, setMuted] = useState(true);

  useEffect(() => {
    const el = video.current;
    if (!el || !remote) return;
    el.srcObject = remote;
    // Browsers allow muted autoplay; sound waits for a tap.
    el.play().catch(() => undefined);
  }, [remote]);

  const unmute = () => {
    if (!video.current) return;
    video.current.muted = false;
    setMuted(false);
    video.current.play().catch(() => undefined);
  };

  if (phase === 'ended') {
    return (
      <div
        className="flex min-h-[calc(100dvh-3.5rem)] flex-col items-center justify-center gap-4 p-6 text-center"
        data-testid="stream-ended"
      >
        <h1 className="text-2xl font-bold">This stream has ended</h1>
        <p className="text-zinc-400">Thanks for watching {stream.host.display_name}.</p>
        <Button onClick={onLeave}>Back to Live</Button>
      </div>
    );
  }

  return (
    <div className="flex min-h-[calc(100dvh-3.5rem)] min-w-0 flex-col md:h-[calc(100dvh-3.5rem)] md:flex-row">
      <div className="relative flex-1 bg-black">
        <video
          ref={video}
          autoPlay
          playsInline
          muted={muted}
          className="h-[50dvh] w-full object-contain md:h-full"
          aria-label={`${stream.title} by ${stream.host.display_name}`}
          data-testid="remote-video"
        />
        <FloatingReactions streamId={stream.streamId} />
        <div className="absolute inset-x-0 top-0 flex items-center gap-2 bg-gradient-to-b from-black/80 p-3 text-sm">
          <Button variant="ghost" onClick={onLeave} aria-label="Leave stream" className="px-2">
            <ArrowLeft className="h-5 w-5" aria-hidden />
          </Button>
          <span className="rounded bg-rose-600 px-2 py-0.5 font-bold">LIVE</span>
          <span className="flex items-center gap-1" aria-label={`${viewerCount} watching`}>
            <Users className="h-4 w-4" aria-hidden />{' '}
            <span data-testid="viewer-count">{viewerCount}</span>
          </span>
          <Link
            to={`/u/${stream.host.username}`}
            className="flex min-w-0 max-w-[40%] shrink-0 items-center gap-2 hover:underline"
          >
            <Avatar user={stream.host} size="h-7 w-7 text-xs" />
            <span className="truncate font-semibold">{stream.host.display_name}</span>
          </Link>
          <h1 className="min-w-0 flex-1 truncate text-sm font-normal">{stream.title}</h1>
        </div>
        {muted && remote && (
          <button
            type="button"
            onClick={unmute}
            className="absolute bottom-4 left-1/2 flex -translate-x-1/2 items-center gap-2 rounded-full bg-black/70 px-4 py-2 text-sm"
          >
            <VolumeX className="h-4 w-4" aria-hidden /> Tap to unmute
          </button>
        )}
        {(phase !== 'live' || interrupted) && (
          <div
            className="absolute inset-0 flex items-center justify-center bg-black/50"
            role="status"
          >
            <p className="rounded bg-black/70 px-4 py-2" data-testid="viewer-status">
              {interrupted
                ? 'Connection lost. Reconnecting…'
                : phase === 'reconnecting'
                  ? 'The broadcaster is reconnecting…'
                  : phase === 'waiting'
                    ? 'Waiting for the broadcaster’s video…'
                    : phase === 'error'
                      ? (error ?? 'Something went wrong')
                      : 'Joining…'}
            </p>
          </div>
        )}
      </div>
      <aside className="flex h-[50dvh] min-h-0 flex-col border-zinc-800 md:h-full md:w-80 md:border-l">
        <LiveChat streamId={stream.streamId} hostId={stream.host.id} />
      </aside>
    </div>
  );
}
