import type { Page } from 'playwright-core';

/** Frames decoded by the web app's <video> so far; 0 while it shows nothing. */
export const framesDecoded = (page: Page): Promise<number> =>
  page.evaluate(() => {
    const video = document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]');
    return video?.srcObject ? video.getVideoPlaybackQuality().totalVideoFrames : 0;
  });
