import { useEffect, useState } from 'react';
import { watchAudioLevel } from '../../lib/audio-level';

/** The microphone's level, 0..1, for a meter; 0 without a stream. */
export function useMicLevel(media: MediaStream | null): number {
  const [level, setLevel] = useState(0);
  useEffect(() => {
    if (!media) return;
    let last = 0;
    // A React update on every frame is wasteful: only a visible change is rendered.
    const stop = watchAudioLevel(media, (value) => {
      if (Math.abs(value - last) < 0.02) return;
      last = value;
      setLevel(value);
    });
    return () => {
      stop();
      setLevel(0);
    };
  }, [media]);
  return level;
}
