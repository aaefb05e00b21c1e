import { useEffect, useRef, useState, type RefObject } from 'react';

/** How long WebRTC has to show a playing video before the viewer is moved to HLS. */
export const webRtcGraceMs = 5000;

/**
 * Watches a viewer's WebRTC playback and calls `onFallBack` once it is not worth waiting for:
 * the server refused a session for want of room (`full`), or no video has played within
 * `webRtcGraceMs` of starting to connect (UDP blocked, say). `connecting` is false while there is
 * nothing to receive anyway (the broadcaster is away, the viewer is shut out): the wait starts
 * again when it turns true. Once a video has played, it never falls back.
 */
export function useHlsFallback(
  video: RefObject<HTMLVideoElement | null>,
  {
    enabled,
    connecting,
    full,
    onFallBack,
  }: { enabled: boolean; connecting: boolean; full: boolean; onFallBack: () => void },
) {
  const [played, setPlayed] = useState(false);
  const fallBack = useRef(onFallBack);
  fallBack.current = onFallBack;

  // A picture decoded, not a `playing` event: a <video> fed a MediaStream whose connection never
  // came up still fires `playing`, with no frame ever shown.
  const decoded = () => (video.current?.getVideoPlaybackQuality().totalVideoFrames ?? 0) > 0;

  useEffect(() => {
    if (!enabled || played) return;
    const check = setInterval(() => {
      if (decoded()) setPlayed(true);
    }, 500);
    return () => clearInterval(check);
  }, [enabled, played]);

  useEffect(() => {
    if (!enabled || played) return;
    if (full) {
      fallBack.current();
      return;
    }
    if (!connecting) return;
    const timer = setTimeout(() => {
      if (decoded()) setPlayed(true);
      else fallBack.current();
    }, webRtcGraceMs);
    return () => clearTimeout(timer);
  }, [enabled, played, connecting, full]);
}
