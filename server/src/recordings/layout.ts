import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePlaylist, type PlaylistSegment } from './playlist';

/**
 * Where a stream's recording lies, under the recordings directory (`RECORDINGS_DIR`, by default
 * `DATA_DIR/recordings`): one directory per stream, one per rendition (simulcast layer) in it,
 * and a manifest the HTTP side reads to list the renditions and parts. Any node that mounts the
 * same directory serves any stream's files.
 *
 *   <root>/<streamId>/recording.json
 *   <root>/<streamId>/r<encoding>/index.m3u8      every segment so far (an EVENT playlist)
 *   <root>/<streamId>/r<encoding>/live.m3u8       the last few (what live players poll)
 *   <root>/<streamId>/r<encoding>/init-<part>.mp4
 *   <root>/<streamId>/r<encoding>/seg-<part>-<n>.m4s
 */

export const manifestFile = 'recording.json';
export const journalFile = 'index.m3u8';
export const liveFile = 'live.m3u8';
export const initFile = (part: number): string => `init-${part}.mp4`;
export const segmentFile = (part: number, n: number): string => `seg-${part}-${n}.m4s`;

export const streamDir = (root: string, streamId: string): string => join(root, streamId);
export const renditionDir = (root: string, streamId: string, rendition: string): string =>
  join(root, streamId, rendition);

/** One rendition: a simulcast layer's pictures with the stream's sound. */
export interface RenditionInfo {
  id: string;
  width: number;
  height: number;
  /** Peak bit rate (bit/s) as HLS's `BANDWIDTH` wants it, measured over segments so far. */
  bandwidth: number;
  /** RFC 6381 codecs, for `CODECS`: `avc1.42e01f,opus`. */
  codecs: string;
}

export interface RecordingManifest {
  streamId: string;
  /** Each continuous part: media time `at` (seconds) began at wall clock `wallClock` (ISO). */
  parts: { at: number; wallClock: string }[];
  renditions: RenditionInfo[];
  /** Whether the recording is kept once the stream ends (else only live HLS was packaged). */
  keep: boolean;
  /** Once finished: the rendition kept as the recording, the others deleted. */
  kept: string | null;
  /** A VP8 recording's replay as one WebM file (`recording.webm`), written once it ended. */
  webm?: boolean;
}

export async function readManifest(
  root: string,
  streamId: string,
): Promise<RecordingManifest | undefined> {
  try {
    return JSON.parse(
      await readFile(join(streamDir(root, streamId), manifestFile), 'utf8'),
    ) as RecordingManifest;
  } catch {
    return undefined;
  }
}

/** Written whole and renamed into place: a reader never sees half a manifest. */
export async function writeManifest(root: string, manifest: RecordingManifest): Promise<void> {
  const dir = streamDir(root, manifest.streamId);
  await mkdir(dir, { recursive: true });
  // Unique: another worker or node recording the same stream may write it too.
  const temporary = join(dir, `.${manifestFile}.${randomUUID()}`);
  await writeFile(temporary, JSON.stringify(manifest));
  await rename(temporary, join(dir, manifestFile));
}

/** The rendition a finished recording keeps: the largest picture. */
export function topRendition(renditions: readonly RenditionInfo[]): RenditionInfo | undefined {
  let top: RenditionInfo | undefined;
  for (const r of renditions) if (!top || r.height * r.width > top.height * top.width) top = r;
  return top;
}

/**
 * A stream's files once it has ended: the largest rendition is kept as the recording and the
 * others deleted; when recording was off (or nothing was written) everything goes. Run by the
 * worker that recorded it, or by the sweep when that worker died first.
 */
export async function settleRecording(
  root: string,
  streamId: string,
  keep: boolean,
): Promise<RecordingManifest | undefined> {
  const manifest = await readManifest(root, streamId);
  const top = manifest && topRendition(manifest.renditions);
  if (!keep || !manifest || !top) {
    await rm(streamDir(root, streamId), { recursive: true, force: true });
    return undefined;
  }
  for (const r of manifest.renditions)
    if (r.id !== top.id)
      await rm(renditionDir(root, streamId, r.id), { recursive: true, force: true });
  // What a writer killed mid-way left: the WebM remux's copies.
  for (const stray of ['.joined.mp4', '.recording.webm'])
    await rm(join(streamDir(root, streamId), stray), { force: true });
  const settled = { ...manifest, renditions: [top], kept: top.id };
  await writeManifest(root, settled);
  return settled;
}

/** A rendition's journal read back: what it lists, or undefined when it has no journal. */
export async function readJournal(
  root: string,
  streamId: string,
  rendition: string,
): Promise<PlaylistSegment[] | undefined> {
  try {
    const text = await readFile(join(renditionDir(root, streamId, rendition), journalFile), 'utf8');
    return parsePlaylist(text).segments;
  } catch {
    return undefined;
  }
}

/**
 * The files that put a rendition together as one fragmented MP4, in order: its first
 * initialization segment, then every media segment (players take the first's tracks).
 */
export function journalFiles(
  root: string,
  streamId: string,
  rendition: string,
  segments: readonly PlaylistSegment[],
): string[] {
  const first = segments[0];
  if (!first) return [];
  const dir = renditionDir(root, streamId, rendition);
  return [join(dir, first.map), ...segments.map((s) => join(dir, s.uri))];
}
