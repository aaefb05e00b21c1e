import { createReadStream, type ReadStream } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  journalFile,
  journalFiles,
  liveFile,
  readJournal,
  readManifest,
  renditionDir,
  settleRecording,
  streamDir,
  type RecordingManifest,
  type RenditionInfo,
} from './layout';
import { parsePlaylist, vodPlaylist } from './playlist';
import { webmFile } from './webm';

/** What a rendition is assumed to need before it has been measured, by picture height. */
function assumedBandwidth(r: RenditionInfo): number {
  const audio = 64_000;
  if (r.height === 0) return audio;
  if (r.height >= 540) return 2_500_000 + audio;
  if (r.height >= 270) return 700_000 + audio;
  return 200_000 + audio;
}

/**
 * The files of the recordings directory as the HTTP side reads them: playlists (the live window
 * while live, the whole recording once ended), segments as streams, sizes, and removal. It
 * never writes media; the worker holding a stream's publisher does.
 */
export class RecordingFiles {
  /** Parsed journals of finished recordings, by path, while their size stays the same. */
  private readonly vodCache = new Map<string, { size: number; text: string; segments: number }>();

  constructor(readonly root: string) {}

  manifest(streamId: string): Promise<RecordingManifest | undefined> {
    return readManifest(this.root, streamId);
  }

  /** A VP8 recording's WebM replay, if it was written. */
  async webm(streamId: string): Promise<{ path: string; size: number } | undefined> {
    const path = join(streamDir(this.root, streamId), webmFile);
    const info = await stat(path).catch(() => undefined);
    return info?.isFile() ? { path, size: info.size } : undefined;
  }

  /** Keeps the largest rendition of an ended stream (all of it goes when not kept). */
  async settle(streamId: string, keep: boolean): Promise<void> {
    await settleRecording(this.root, streamId, keep);
  }

  /**
   * The multivariant playlist (RFC 8216 §4.3.4.2): while live every rendition, largest first;
   * once ended, the one kept. `suffix` (a signed token) is added to each URI.
   */
  async multivariant(streamId: string, live: boolean, suffix: string): Promise<string | undefined> {
    const manifest = await this.manifest(streamId);
    if (!manifest) return undefined;
    const renditions = manifest.renditions
      .filter((r) => (live ? true : r.id === manifest.kept))
      .sort((a, b) => b.width * b.height - a.width * a.height);
    const playable = [];
    for (const r of renditions)
      if (
        await exists(join(renditionDir(this.root, streamId, r.id), live ? liveFile : journalFile))
      )
        playable.push(r);
    if (playable.length === 0) return undefined;
    const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
    for (const r of playable) {
      const attributes = [
        `BANDWIDTH=${Math.max(r.bandwidth, 1) > 1 ? r.bandwidth : assumedBandwidth(r)}`,
        ...(r.width > 0 ? [`RESOLUTION=${r.width}x${r.height}`] : []),
        ...(r.codecs ? [`CODECS="${r.codecs}"`] : []),
      ];
      lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, `${r.id}/index.m3u8${suffix}`);
    }
    return `${lines.join('\n')}\n`;
  }

  /** A rendition's playlist: its live window while live, else the whole recording as VOD. */
  async mediaPlaylist(
    streamId: string,
    rendition: string,
    live: boolean,
    suffix: string,
  ): Promise<string | undefined> {
    const dir = renditionDir(this.root, streamId, rendition);
    const text = live
      ? await readText(join(dir, liveFile))
      : await this.vod(join(dir, journalFile));
    if (text === undefined) return undefined;
    return suffix ? withSuffix(text, suffix) : text;
  }

  /** A segment or initialization segment, streamed; undefined when it is not there. */
  async open(
    streamId: string,
    rendition: string,
    file: string,
  ): Promise<{ stream: ReadStream; size: number } | undefined> {
    const path = join(renditionDir(this.root, streamId, rendition), file);
    try {
      const info = await stat(path);
      if (!info.isFile()) return undefined;
      return { stream: createReadStream(path), size: info.size };
    } catch {
      return undefined;
    }
  }

  /**
   * The kept rendition as one fragmented MP4: its first initialization segment, then every
   * media segment in order (parts that began with another initialization segment follow on;
   * players take the first's tracks).
   */
  async download(streamId: string): Promise<{ files: string[]; size: number } | undefined> {
    const manifest = await this.manifest(streamId);
    const kept = manifest?.kept ?? manifest?.renditions[0]?.id;
    if (!kept) return undefined;
    const segments = await readJournal(this.root, streamId, kept);
    const files = journalFiles(this.root, streamId, kept, segments ?? []);
    if (files.length === 0) return undefined;
    let size = 0;
    for (const f of files) size += (await stat(f).catch(() => ({ size: 0 }))).size;
    return { files, size };
  }

  /** Seconds a recording's kept rendition lists, read from its journal (what survives a crash). */
  async duration(streamId: string): Promise<number> {
    const manifest = await this.manifest(streamId);
    let longest = 0;
    for (const r of manifest?.renditions ?? []) {
      const segments = await readJournal(this.root, streamId, r.id);
      const total = (segments ?? []).reduce((sum, s) => sum + s.duration, 0);
      longest = Math.max(longest, total);
    }
    return longest;
  }

  /** Bytes a stream's directory holds. */
  async size(streamId: string): Promise<number> {
    return directorySize(streamDir(this.root, streamId));
  }

  async remove(streamId: string): Promise<void> {
    await rm(streamDir(this.root, streamId), { recursive: true, force: true });
  }

  private async vod(path: string): Promise<string | undefined> {
    const size = (await stat(path).catch(() => undefined))?.size;
    if (size === undefined) return undefined;
    const cached = this.vodCache.get(path);
    if (cached?.size === size) return cached.text;
    const journal = await readText(path);
    if (journal === undefined) return undefined;
    const { segments } = parsePlaylist(journal);
    if (segments.length === 0) return undefined;
    const text = vodPlaylist(segments);
    if (this.vodCache.size > 200) this.vodCache.clear();
    this.vodCache.set(path, { size, text, segments: segments.length });
    return text;
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** Adds `suffix` (`?token=…`) to every URI of a media playlist: segment lines and `EXT-X-MAP`. */
function withSuffix(text: string, suffix: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (line.startsWith('#EXT-X-MAP:')) return line.replace(/URI="([^"]*)"/, `URI="$1${suffix}"`);
      return line && !line.startsWith('#') ? `${line}${suffix}` : line;
    })
    .join('\n');
}

async function directorySize(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    // Temporary files (dot-named) are not the recording's.
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await directorySize(path);
    else total += (await stat(path).catch(() => ({ size: 0 }))).size;
  }
  return total;
}
