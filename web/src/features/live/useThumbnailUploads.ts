import { useEffect, type RefObject } from 'react';
import { call } from '../../lib/api';
import { captureThumbnail } from '../../lib/thumbnail';
import { useSession } from '../auth/AuthContext';

/** The first frame once the picture has settled after going live, then one a minute. */
const firstAfterMs = 5000;
const everyMs = 60_000;

/**
 * Uploads frames of the broadcaster's own camera as the stream's thumbnail while `active` (live
 * with the camera on). A failed upload is skipped: the next one replaces it.
 */
export function useThumbnailUploads(
  streamId: string,
  video: RefObject<HTMLVideoElement | null>,
  active: boolean,
) {
  const { session } = useSession();
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    const upload = async () => {
      const element = video.current;
      if (!element || stopped) return;
      const image = await captureThumbnail(element);
      if (!image || stopped) return;
      await call('uploadThumbnail', {
        params: { streamId },
        body: image,
        token: session.token,
      }).catch(() => undefined);
    };
    // `upload` swallows its own failures; nothing is left to wait for.
    const first = setTimeout(() => void upload(), firstAfterMs);
    const every = setInterval(() => void upload(), everyMs);
    return () => {
      stopped = true;
      clearTimeout(first);
      clearInterval(every);
    };
  }, [active, session.token, streamId, video]);
}
