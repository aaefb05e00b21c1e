import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';

/**
 * Writes a Y4M clip of moving noise for Chromium's `--use-file-for-fake-video-capture`. The
 * default fake camera compresses to a few hundred kbit/s whatever the encoder is allowed; noise
 * makes the encoder use the bandwidth it is given, which is what a quality check must see.
 */
export async function writeNoisyY4m(
  file: string,
  width = 1280,
  height = 720,
  frames = 20,
): Promise<void> {
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F30:1 Ip A1:1 C420jpeg\n`);
  const lumaSize = width * height;
  const chroma = Buffer.alloc(lumaSize / 2, 128);
  const parts: Buffer[] = [header];
  for (let i = 0; i < frames; i += 1) {
    parts.push(Buffer.from('FRAME\n'), randomBytes(lumaSize), chroma);
  }
  await writeFile(file, Buffer.concat(parts));
}
