import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fragmentDuration, trackTimescales } from '../../recordings/fmp4-boxes';
import { initFile, journalFile, liveFile, segmentFile } from '../../recordings/layout';
import {
  liveWindow,
  parsePlaylist,
  playlistHeader,
  segmentLines,
  type PlaylistSegment,
} from '../../recordings/playlist';

/** Segments a live playlist lists: about ten seconds behind the live edge. */
const liveWindowSegments = 10;
/** What the journal's header names as the longest segment (it is never rewritten). */
const journalTargetDuration = 4;

/**
 * One rendition's files on disk, across the parts of a recording: each part's initialization
 * segment, every media segment, the journal playlist that lists them all (appended to, never
 * rewritten, so a crash loses at most the segment being written) and the live window. Writes run
 * one at a time, in order; the first failure stops it and is kept for the recorder.
 */
export class RenditionJournal {
  private readonly segments: PlaylistSegment[] = [];
  private queue: Promise<void> = Promise.resolve();
  private timescales = new Map<number, number>();
  private map: string | undefined;
  private nextIsBreak = false;
  private targetDuration = 1;
  private part = -1;
  private segmentInPart = 0;
  failure: Error | undefined;
  bytes = 0;
  /** The highest bit rate of one segment so far (bit/s). */
  peakBitrate = 0;

  private constructor(
    readonly dir: string,
    private readonly onFailure: (error: Error) => void,
  ) {}

  /** Opens a rendition's directory, reading back what an earlier part left there. */
  static async open(dir: string, onFailure: (error: Error) => void): Promise<RenditionJournal> {
    const journal = new RenditionJournal(dir, onFailure);
    await mkdir(dir, { recursive: true });
    let text: string | undefined;
    try {
      text = await readFile(join(dir, journalFile), 'utf8');
    } catch {
      text = undefined;
    }
    if (text === undefined)
      await writeFile(join(dir, journalFile), playlistHeader(journalTargetDuration, true));
    else {
      const { segments } = parsePlaylist(text);
      journal.segments.push(...segments);
      journal.map = segments.at(-1)?.map;
      journal.targetDuration = Math.max(1, ...segments.map((s) => Math.round(s.duration)));
    }
    return journal;
  }

  /** Media time the segments so far cover (seconds). */
  get duration(): number {
    let total = 0;
    for (const s of this.segments) total += s.duration;
    return total;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** A new part begins with its initialization segment; its first segment follows a break. */
  init(part: number, data: Buffer): void {
    this.part = part;
    this.segmentInPart = 0;
    this.nextIsBreak = this.segments.length > 0;
    this.timescales = trackTimescales(data);
    this.enqueue(() => this.writeAtomically(initFile(part), data));
  }

  segment(data: Buffer): void {
    if (this.part < 0) return;
    const duration = fragmentDuration(data, this.timescales);
    const segment: PlaylistSegment = {
      uri: segmentFile(this.part, this.segmentInPart),
      duration,
      map: initFile(this.part),
      discontinuity: this.nextIsBreak,
    };
    this.segmentInPart += 1;
    this.nextIsBreak = false;
    this.enqueue(async () => {
      await this.writeAtomically(segment.uri, data);
      // Listed only once its bytes are in place: a player never fetches a missing segment.
      await appendFile(join(this.dir, journalFile), segmentLines(segment, this.map));
      this.map = segment.map;
      this.segments.push(segment);
      this.bytes += data.length;
      if (duration > 0.2)
        this.peakBitrate = Math.max(this.peakBitrate, (data.length * 8) / duration);
      this.targetDuration = Math.max(this.targetDuration, Math.round(duration));
      await this.writeAtomically(
        liveFile,
        liveWindow(this.segments, liveWindowSegments, this.targetDuration),
      );
    });
  }

  /** Resolves once every write asked for so far is done (or the journal failed). */
  flushed(): Promise<void> {
    return this.queue;
  }

  private enqueue(write: () => Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (this.failure) return;
      try {
        await write();
      } catch (error) {
        this.failure = error instanceof Error ? error : new Error(String(error));
        this.onFailure(this.failure);
      }
    });
  }

  private async writeAtomically(name: string, data: Buffer | string): Promise<void> {
    const temporary = join(this.dir, `.${name}.tmp`);
    await writeFile(temporary, data);
    await rename(temporary, join(this.dir, name));
  }
}
