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

  useEffect(() => {
    const el = video.current;
    if (!el || !enabled) return;
    const onPlaying = () => setPlayed(true);
    el.addEventListener('playing', onPlaying);
    return () => el.removeEventListener('playing', onPlaying);
  }, [video, enabled]);

  useEffect(() => {
    if (!enabled || played) return;
    if (full) {
      fallBack.current();
      return;
    }
    if (!connecting) return;
    const timer = setTimeout(() => fallBack.current(), webRtcGraceMs);
    return () => clearTimeout(timer);
  }, [enabled, played, connecting, full]);
}
