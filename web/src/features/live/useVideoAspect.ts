import { useEffect, useState, type CSSProperties, type RefObject } from 'react';

/** The shape a player has before its video says its own: the usual landscape camera. */
const defaultRatio = 16 / 9;

/**
 * The video's own shape (`videoWidth / videoHeight`), followed as it changes (a phone turned
 * round, a camera switched), as CSS variables for the player's frame: `--video-aspect` for
 * `aspect-ratio`, `--video-w-per-h` to cap the width so a portrait picture keeps its shape
 * within a height limit instead of being letterboxed into a landscape strip.
 */
export function useVideoAspect(video: RefObject<HTMLVideoElement | null>): {
  style: CSSProperties;
  portrait: boolean;
} {
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  // After every render: the element may be replaced (a view that comes back after a reconnect).
  useEffect(() => {
    const element = video.current;
    if (!element) return;
    const read = () => {
      const { videoWidth: width, videoHeight: height } = element;
      if (width > 0 && height > 0)
        setSize((old) => (old?.width === width && old.height === height ? old : { width, height }));
    };
    read();
    // `resize` fires when the decoded frames change size, `loadedmetadata` at the first one.
    element.addEventListener('loadedmetadata', read);
    element.addEventListener('resize', read);
    return () => {
      element.removeEventListener('loadedmetadata', read);
      element.removeEventListener('resize', read);
    };
  });
  const ratio = size ? size.width / size.height : defaultRatio;
  return {
    style: {
      '--video-aspect': size ? `${size.width} / ${size.height}` : '16 / 9',
      '--video-w-per-h': ratio.toFixed(4),
    } as CSSProperties,
    portrait: ratio < 1,
  };
}
