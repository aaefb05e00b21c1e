import type { ErrorData } from 'hls.js';
import { useEffect, useState, type RefObject } from 'react';

export type HlsPlayback =
  { status: 'loading' } | { status: 'playing' } | { status: 'error'; message: string };

/**
 * Live: stay 2 s (two segments) behind the edge, speed up by a quarter to catch up after a
 * stall, and jump back once 5 s behind (a stall at 1.1× took tens of seconds to make good:
 * glass-to-glass p95 was 10.6 s). In seconds, not target durations: the playlist's target is
 * 2 s to fit OBS's keyframes. Low-latency mode only matters if the playlist offers parts.
 */
const liveConfig = {
  lowLatencyMode: true,
  liveSyncDuration: 2,
  liveMaxLatencyDuration: 5,
  maxLiveSyncPlaybackRate: 1.25,
};

/** Fatal errors of one kind in a row that are retried before the player gives up. */
const maxRecoveries = 5;
const networkRetryMs = 1000;

const unsupported = 'This browser cannot play this video.';
const unreachable = 'The video could not be loaded. Check your connection and try again.';
const undecodable = 'The video could not be played in this browser.';

/** What a native player's `MediaError` means to the viewer. */
function describeMediaError(error: MediaError | null): string {
  if (error?.code === MediaError.MEDIA_ERR_NETWORK) return unreachable;
  if (error?.code === MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED) return unsupported;
  return undecodable;
}

/**
 * Plays the HLS playlist at `url` in the `video` element: natively where the browser can (Safari,
 * iOS), else with hls.js, fetched only when needed so it stays out of the main bundle. `live`
 * keeps close to the live edge. With `autoPlay`, it starts with sound when the browser allows it
 * and muted otherwise (`mutedByBrowser` then says so, to offer a tap to unmute).
 * `url` null plays nothing. A new `url`, or unmounting, tears the player down.
 */
export function useHlsPlayback(
  video: RefObject<HTMLVideoElement | null>,
  url: string | null,
  { live, autoPlay = false }: { live: boolean; autoPlay?: boolean },
): { playback: HlsPlayback; mutedByBrowser: boolean } {
  const [playback, setPlayback] = useState<HlsPlayback>({ status: 'loading' });
  const [mutedByBrowser, setMutedByBrowser] = useState(false);

  useEffect(() => {
    const el = video.current;
    if (!el || !url) return;
    let disposed = false;
    let hls: { destroy: () => void } | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    /** Fatal hls.js errors in a row; playing again resets them. */
    let networkFailures = 0;
    let mediaFailures = 0;
    setPlayback({ status: 'loading' });
    setMutedByBrowser(false);
    const fail = (message: string) => !disposed && setPlayback({ status: 'error', message });

    const start = () => {
      if (!autoPlay || disposed) return;
      el.muted = false;
      el.play().catch(() => {
        if (disposed) return;
        el.muted = true;
        setMutedByBrowser(true);
        el.play().catch(() => undefined);
      });
    };
    const onPlaying = () => {
      networkFailures = 0;
      mediaFailures = 0;
      setPlayback({ status: 'playing' });
    };
    // A stall (or a seek in a replay) is loading again until frames come.
    const onWaiting = () => setPlayback((p) => (p.status === 'error' ? p : { status: 'loading' }));
    el.addEventListener('playing', onPlaying);
    el.addEventListener('waiting', onWaiting);
    // A WebRTC stream this element showed before would win over `src`.
    el.srcObject = null;

    // A live playlist asked for in the first second of a stream may not exist yet (or list no
    // segment): the native player gives up on it for good, so it is loaded again a few times.
    const onNativeError = () => {
      if (disposed) return;
      if (live && networkFailures < maxRecoveries) {
        networkFailures += 1;
        clearTimeout(retry);
        retry = setTimeout(() => {
          if (disposed) return;
          el.src = url;
          start();
        }, networkRetryMs);
        return;
      }
      fail(describeMediaError(el.error));
    };
    const playNatively = () => {
      el.addEventListener('error', onNativeError);
      el.src = url;
      start();
    };

    const playWithHlsJs = async () => {
      const { default: HlsPlayer } = await import('hls.js');
      if (disposed) return;
      if (!HlsPlayer.isSupported()) return fail(unsupported);
      const player = new HlsPlayer(live ? liveConfig : {});
      hls = player;
      player.on(HlsPlayer.Events.ERROR, (_event, data: ErrorData) => {
        if (!data.fatal || disposed) return;
        // A live playlist may not have its first segments yet, and a network blip passes:
        // load again after a pause. A decoding hiccup is retried by re-attaching the media.
        if (data.type === HlsPlayer.ErrorTypes.NETWORK_ERROR && networkFailures < maxRecoveries) {
          networkFailures += 1;
          // A playlist that was not there yet (a stream's first second) is asked for again;
          // anything else resumes loading where it stopped.
          const manifest =
            data.details === HlsPlayer.ErrorDetails.MANIFEST_LOAD_ERROR ||
            data.details === HlsPlayer.ErrorDetails.MANIFEST_LOAD_TIMEOUT ||
            data.details === HlsPlayer.ErrorDetails.MANIFEST_PARSING_ERROR;
          clearTimeout(retry);
          retry = setTimeout(() => {
            if (disposed || hls !== player) return;
            if (manifest) player.loadSource(url);
            else player.startLoad();
          }, networkRetryMs);
        } else if (
          data.type === HlsPlayer.ErrorTypes.MEDIA_ERROR &&
          mediaFailures < maxRecoveries
        ) {
          mediaFailures += 1;
          player.recoverMediaError();
        } else {
          player.destroy();
          hls = null;
          fail(data.type === HlsPlayer.ErrorTypes.NETWORK_ERROR ? unreachable : undecodable);
        }
      });
      player.on(HlsPlayer.Events.MANIFEST_PARSED, start);
      player.loadSource(url);
      player.attachMedia(el);
    };

    // A VP8 recording's replay is one WebM file, which every browser's <video> plays itself.
    // HLS goes through hls.js wherever MSE is (it keeps two segments behind the live edge; a
    // native player, Chromium's included, starts three target durations behind), and through
    // the browser's own player elsewhere (iOS Safari).
    const isFile = new URL(url, window.location.href).pathname.endsWith('.webm');
    const mse = typeof window.MediaSource !== 'undefined' || 'ManagedMediaSource' in window;
    if (isFile || (!mse && el.canPlayType('application/vnd.apple.mpegurl'))) playNatively();
    else playWithHlsJs().catch(() => fail(unsupported));

    return () => {
      disposed = true;
      clearTimeout(retry);
      el.removeEventListener('playing', onPlaying);
      el.removeEventListener('waiting', onWaiting);
      el.removeEventListener('error', onNativeError);
      hls?.destroy();
      // Stops a native player's downloads too.
      el.removeAttribute('src');
      el.load();
    };
  }, [video, url, live, autoPlay]);

  return { playback, mutedByBrowser };
}
