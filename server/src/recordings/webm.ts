import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ALL_FORMATS,
  Conversion,
  FilePathSource,
  FilePathTarget,
  Input,
  Output,
  WebMOutputFormat,
} from 'mediabunny';
import { journalFiles, readJournal, streamDir } from './layout';

export const webmFile = 'recording.webm';

/**
 * A VP8 recording as one WebM file: browsers' MSE plays no VP8 in MP4, so HLS players cannot
 * replay it, but every browser's <video> plays VP8 + Opus in WebM, with seeking (its cues).
 * The rendition's segments are put back together and remuxed by mediabunny, packet for packet
 * (no re-encoding).
 */
export async function writeWebmReplay(
  root: string,
  streamId: string,
  rendition: string,
): Promise<void> {
  const files = journalFiles(
    root,
    streamId,
    rendition,
    (await readJournal(root, streamId, rendition)) ?? [],
  );
  if (files.length === 0) return;
  const joined = join(streamDir(root, streamId), '.joined.mp4');
  // One segment in memory at a time (about a second of video).
  const out = await open(joined, 'w');
  try {
    for (const path of files) await out.write(await readFile(path));
  } finally {
    await out.close();
  }
  const temporary = join(streamDir(root, streamId), `.${webmFile}`);
  const input = new Input({ source: new FilePathSource(joined), formats: ALL_FORMATS });
  const output = new Output({
    format: new WebMOutputFormat(),
    target: new FilePathTarget(temporary),
  });
  try {
    const conversion = await Conversion.init({ input, output });
    if (!conversion.isValid) throw new Error('the recording cannot be remuxed to WebM');
    await conversion.execute();
    await rename(temporary, join(streamDir(root, streamId), webmFile));
  } finally {
    // Files are let go of whatever happened, so the disk space of the copies comes back.
    input.dispose();
    if (output.state === 'started' || output.state === 'pending')
      await output.cancel().catch(() => undefined);
    await rm(joined, { force: true });
    await rm(temporary, { force: true });
  }
}
