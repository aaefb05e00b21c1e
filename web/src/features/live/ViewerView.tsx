import { presentHlsUrl, type StreamDetails } from '@onair/protocol';
import { ArrowLeft, Clock, MicOff, Users, VideoOff, VolumeX } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Button } from '../../components/Button';
import { ChatSidebar } from '../chat/ChatSidebar';
import { useChatFeed } from '../chat/useChatFeed';
import { control, PlayerControls } from './PlayerControls';
import { QualityMenu } from './QualityMenu';
import { FollowToWatch, followersOnlySentence } from './FollowToWatch';
import { FloatingReactions } from './Reactions';
import { StreamEndedScreen } from './StreamEndedScreen';
import { StreamInfo } from './StreamInfo';
import { useBroadcasterMedia } from './useBroadcasterMedia';
import { useHlsFallback } from './useHlsFallback';
import { useHlsPlayback } from './useHlsPlayback';
import { useWatch } from './useLiveStreaming';
import { ViewerCountAnnouncement } from './ViewerCountAnnouncement';
import { useVideoAspect } from './useVideoAspect';

/**
 * A live stream as a viewer watches it: over WebRTC, or over HLS a few seconds behind when WebRTC
 * cannot deliver (see `useHlsFallback`) or `?playback=hls` asks for it (a network that blocks
 * UDP). Either way the room is joined: chat, reactions and the count work the same. `onEnded`
 * runs when the stream ends while watched, so the page can offer its replay.
 */
export function ViewerView({
  stream,
  onLeave,
  onEnded,
}: {
  stream: StreamDetails;
  onLeave: () => void;
  onEnded?: () => void;
}) {
  const [search] = useSearchParams();
  // The page's socket already counts this viewer: its playlist polls must not count it again.
  const hlsUrl = stream.hlsUrl === null ? null : presentHlsUrl(stream.hlsUrl);
  const [viaHls, setViaHls] = useState(() => hlsUrl !== null && search.get('playback') === 'hls');
  const feed = useChatFeed(stream.streamId);
  const watched = useWatch(stream.streamId, feed.catchUp, { receiveMedia: !viaHls });
  const { phase, remote, interrupted, error, viewerCount } = watched;
  const media = useBroadcasterMedia(stream.streamId, stream.media, watched.stream?.media);
  const video = useRef<HTMLVideoElement>(null);
  const aspect = useVideoAspect(video);
  const player = useRef<HTMLDivElement>(null);
  const [muted, setMuted] = useState(false);
  /** The browser refused to play with sound before a tap: say so until there is one. */
  const [autoMuted, setAutoMuted] = useState(false);
  const shutOut = watched.banned || watched.followersOnly;

  useHlsFallback(video, {
    enabled: !viaHls && hlsUrl !== null,
    // With the camera off no picture comes over WebRTC either: that is no reason to give it up.
    connecting: (phase === 'joining' || phase === 'live') && !shutOut && media.camera,
    full: watched.full,
    onFallBack: () => setViaHls(true),
  });
  const hls = useHlsPlayback(video, viaHls && !shutOut && phase !== 'ended' ? hlsUrl : null, {
    live: true,
    autoPlay: true,
  });
  useEffect(() => {
    if (!hls.mutedByBrowser) return;
    setMuted(true);
    setAutoMuted(true);
  }, [hls.mutedByBrowser]);

  const ended = useRef(onEnded);
  ended.current = onEnded;
  useEffect(() => {
    if (phase === 'ended') ended.current?.();
  }, [phase]);

  useEffect(() => {
    const el = video.current;
    // Over HLS the player owns the element's source.
    if (!el || viaHls) return;
    // No stream any more (a ban closed it): no frozen last frame either.
    if (!remote) {
      el.srcObject = null;
      return;
    }
    el.srcObject = remote;
    el.muted = false;
    // With sound if the browser allows it; otherwise muted, which every browser plays.
    el.play().catch(() => {
      el.muted = true;
      setMuted(true);
      setAutoMuted(true);
      el.play().catch(() => undefined);
    });
  }, [remote, viaHls]);

  // React does not keep a video's `muted` property in step with its attribute: set it here.
  useEffect(() => {
    if (video.current) video.current.muted = muted;
  }, [muted]);

  const changeMuted = (next: boolean) => {
    setMuted(next);
    if (!next) {
      setAutoMuted(false);
      video.current?.play().catch(() => undefined);
    }
  };

  if (phase === 'ended')
    return (
      <StreamEndedScreen
        streamId={stream.streamId}
        hostName={stream.host.display_name}
        hostId={stream.host.id}
        onLeave={onLeave}
      />
    );

  const hlsStatus = watched.banned
    ? error
    : hls.playback.status === 'error'
      ? hls.playback.message
      : hls.playback.status === 'loading'
        ? 'Loading…'
        : null;
  // Over HLS the video goes on through a dropped socket or a media error: only what stops it shows.
  const statusText = viaHls
    ? hlsStatus
    : interrupted
      ? 'Connection lost. Reconnecting…'
      : phase === 'reconnecting'
        ? 'The broadcaster is reconnecting…'
        : phase === 'waiting'
          ? 'Waiting for the broadcaster’s video…'
          : phase === 'error'
            ? (error ?? 'Something went wrong')
            : phase === 'joining'
              ? 'Joining…'
              : null;

  return (
    // A phone shows the video at its own shape, then the chat filling the rest of the screen
    // (its input always in view); wider screens put the chat beside the video.
    <div className="flex h-[calc(100dvh-3.5rem)] w-full flex-col overflow-x-hidden overflow-y-auto md:flex-row">
      <section
        aria-label="Live video"
        className="flex min-w-0 shrink-0 flex-col md:min-h-0 md:flex-1 md:shrink"
      >
        <div
          ref={player}
          className="relative mx-auto aspect-[var(--video-aspect)] max-h-[60dvh] w-full max-w-[calc(60dvh*var(--video-w-per-h))] bg-black md:mx-0 md:aspect-auto md:max-h-none md:min-h-0 md:max-w-none md:flex-1"
          style={aspect.style}
          data-portrait={aspect.portrait || undefined}
        >
          <video
            ref={video}
            autoPlay
            playsInline
            className="h-full w-full object-contain"
            aria-label={`${stream.title} by ${stream.host.display_name}`}
            data-testid="remote-video"
            data-playback={viaHls ? 'hls' : 'webrtc'}
          />
          {!media.camera && !statusText && (
            <div
              className="absolute inset-0 flex flex-col items-center justify-center gap-2 bg-zinc-950 text-zinc-300"
              data-testid="camera-off"
            >
              <VideoOff className="h-10 w-10" aria-hidden />
              <p>Camera is off</p>
            </div>
          )}
          <FloatingReactions streamId={stream.streamId} />
          <div className="absolute inset-x-0 top-0 flex min-w-0 items-center gap-2 bg-gradient-to-b from-black/80 p-3 text-sm">
            <Button variant="ghost" onClick={onLeave} aria-label="Leave stream" className="px-2">
              <ArrowLeft className="h-5 w-5" aria-hidden />
            </Button>
            <span className="shrink-0 rounded bg-rose-600 px-2 py-0.5 font-bold">LIVE</span>
            <span
              className="flex shrink-0 items-center gap-1"
              aria-label={`${viewerCount} watching`}
            >
              <Users className="h-4 w-4" aria-hidden />{' '}
              <span data-testid="viewer-count">{viewerCount}</span>
            </span>
            <ViewerCountAnnouncement viewerCount={viewerCount} />
            {!media.microphone && (
              <span
                className="flex shrink-0 items-center gap-1 rounded bg-black/60 px-2 py-0.5 text-xs"
                data-testid="mic-off"
              >
                <MicOff className="h-3.5 w-3.5" aria-hidden /> Host muted
              </span>
            )}
          </div>
          {autoMuted && muted && (remote || viaHls) && !statusText && (
            <button
              type="button"
              onClick={() => changeMuted(false)}
              className="absolute left-1/2 top-1/2 flex -translate-x-1/2 -translate-y-1/2 items-center gap-2 rounded-full bg-black/75 px-5 py-3 font-medium"
            >
              <VolumeX className="h-5 w-5" aria-hidden /> Tap to unmute
            </button>
          )}
          {viaHls && (
            <p
              className="absolute inset-x-0 top-14 mx-auto flex w-fit max-w-[calc(100%-1.5rem)] items-center gap-1.5 rounded bg-black/70 px-2 py-1 text-xs text-zinc-200"
              data-testid="hls-fallback-notice"
            >
              <Clock className="h-3.5 w-3.5 shrink-0" aria-hidden />
              Low-latency unavailable, watching with a few seconds delay
            </p>
          )}
          {(remote || viaHls) && (
            <div className="absolute bottom-3 right-3">
              <PlayerControls
                video={video}
                container={player}
                muted={muted}
                onMutedChange={changeMuted}
              >
                {/* Over HLS the player picks the rendition by itself. */}
                {!viaHls && (
                  <QualityMenu
                    video={video}
                    layers={watched.layers}
                    quality={watched.quality}
                    onChoose={watched.chooseQuality}
                    buttonClassName={control}
                  />
                )}
              </PlayerControls>
            </div>
          )}
          {watched.followersOnly && (
            // They unfollowed the host (here or elsewhere): the server stopped their video.
            <div className="absolute inset-0 flex items-center justify-center overflow-y-auto bg-zinc-950/95 p-4">
              <FollowToWatch
                owner={stream.host}
                streamId={stream.streamId}
                // The server's `live_access_granted` lets this page back in: nothing to do here.
                onFollowed={() => undefined}
                compact
              />
            </div>
          )}
          {statusText && !watched.followersOnly && (
            <div
              className="absolute inset-0 flex items-center justify-center bg-black/50 p-4"
              role="status"
            >
              <p className="rounded bg-black/70 px-4 py-2 text-center" data-testid="viewer-status">
                {statusText}
              </p>
            </div>
          )}
        </div>
        <StreamInfo stream={watched.stream ?? stream} />
      </section>
      <aside className="flex min-h-64 min-w-0 flex-1 flex-col border-zinc-800 md:h-full md:w-80 md:flex-none md:border-l">
        <ChatSidebar
          streamId={stream.streamId}
          hostId={stream.host.id}
          chat={watched.chat}
          banned={watched.banned}
          disabled={watched.followersOnly}
          feed={feed}
        />
        {watched.followersOnly && (
          <p
            role="status"
            className="border-t border-zinc-800 p-3 text-sm text-amber-200"
            data-testid="chat-followers-only"
          >
            {followersOnlySentence(stream.host)}
          </p>
        )}
      </aside>
    </div>
  );
}
