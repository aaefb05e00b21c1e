import { useEffect, useState, type RefObject } from 'react';

/**
 * Where the video's playhead is, in seconds, following playback and seeks both ways. `source` is
 * what the video plays: a new one (perhaps in a new element) starts from its own beginning.
 */
export function useMediaTime(
  video: RefObject<HTMLVideoElement | null>,
  source: string | null,
): number {
  const [time, setTime] = useState(0);

  useEffect(() => {
    const el = video.current;
    setTime(0);
    if (!el || !source) return;
    const update = () => setTime(el.currentTime);
    // `seeking` too: a seek back hides what comes later at once, before the new frames load.
    const events = ['timeupdate', 'seeking', 'seeked', 'loadedmetadata'] as const;
    for (const event of events) el.addEventListener(event, update);
    return () => {
      for (const event of events) el.removeEventListener(event, update);
    };
  }, [video, source]);

  return time;
}
