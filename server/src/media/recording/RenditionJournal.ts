import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fragmentSpan, trackTimescales } from '../../recordings/fmp4-boxes';
import { initFile, journalFile, liveFile, segmentFile } from '../../recordings/layout';
import {
  liveWindow,
  longestRounded,
  parsePlaylist,
  playlistHeader,
  segmentLines,
  type PlaylistSegment,
} from '../../recordings/playlist';

/** Segments a live playlist lists: about ten seconds behind the live edge. */
const liveWindowSegments = 10;
/**
 * The live window's target duration: segments are about a second (a keyframe is asked for every
 * 0.9 s), and an OBS set to 2 s keyframes still fits, so players' reload pace never changes.
 */
const liveTargetDuration = 2;
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
  private targetDuration = liveTargetDuration;
  private part = -1;
  private segmentInPart = 0;
  /**
   * Where the part's media so far ends (seconds of its timeline). A segment lasts from there to
   * its own end. Its tracks' fragments are not cut at one instant: the sound's ends on its own
   * 20 ms grid, a little before or after the keyframe that ends the pictures'. Adding up the
   * longest of each segment's tracks would count those overlaps and make a recording longer
   * than its media: 62.3 s for a 60.2 s stream, once.
   */
  private partEnd: number | undefined;
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
      // A writer that died mid-line left it torn: the next line must not be glued to it.
      if (!text.endsWith('\n')) await appendFile(join(dir, journalFile), '\n');
      const { segments } = parsePlaylist(text);
      for (const s of segments) journal.segments.push(s);
      journal.map = segments.at(-1)?.map;
      journal.targetDuration = longestRounded(segments, liveTargetDuration);
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
    this.partEnd = undefined;
    this.enqueue(() => this.writeAtomically(initFile(part), data));
  }

  segment(data: Buffer): void {
    if (this.part < 0) return;
    const span = fragmentSpan(data, this.timescales);
    const duration = span ? Math.max(0, span.end - (this.partEnd ?? span.start)) : 0;
    if (span) this.partEnd = Math.max(this.partEnd ?? -Infinity, span.end);
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
      // RFC 8216 §6.2.1 wants it fixed: it moves only for a publisher whose keyframes come
      // further apart than 2.5 s (an OBS set so), which no target could have foreseen.
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
    // Unique: a recorder of the same stream on another worker or node may write here too.
    const temporary = join(this.dir, `.${name}.${randomUUID()}.tmp`);
    await writeFile(temporary, data);
    await rename(temporary, join(this.dir, name));
  }
}
