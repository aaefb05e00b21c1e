import { THUMBNAIL_MAX_BYTES } from '@onair/protocol';

const width = 480;
const qualities = [0.8, 0.65, 0.5, 0.35];

const toJpeg = (canvas: HTMLCanvasElement, quality: number) =>
  new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));

/**
 * One frame of a playing video as a JPEG 480 px wide, within the server's size limit (lower
 * quality until it fits). Null when the video has no frame yet or nothing fits.
 */
export async function captureThumbnail(video: HTMLVideoElement): Promise<Blob | null> {
  if (!video.videoWidth || !video.videoHeight) return null;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = Math.round((video.videoHeight / video.videoWidth) * width);
  const context = canvas.getContext('2d');
  if (!context) return null;
  context.drawImage(video, 0, 0, canvas.width, canvas.height);
  for (const quality of qualities) {
    const blob = await toJpeg(canvas, quality);
    if (blob && blob.size <= THUMBNAIL_MAX_BYTES) return blob;
  }
  return null;
}
