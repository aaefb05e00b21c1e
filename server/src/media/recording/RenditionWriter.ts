import type { RenditionJournal } from './RenditionJournal';
import { SegmentMuxer, type VideoTrackConfig } from './SegmentMuxer';

/** A frame's duration is only known when the next one comes; past a gap, a frame gets this. */
const fallbackVideoDuration = 1 / 30;
const opusFrameDuration = 0.02;
/** The longest a frame is taken to last: a longer pause is a gap, not a long frame. */
const longestFrame = 1;
/** Frames queued for the muxer at most (about 20 s of video and sound): beyond, it fell behind. */
const maxPending = 2500;

/** The muxer or the disk could not keep up with the stream. */
export class RecordingBehindError extends Error {
  constructor() {
    super('the recording fell behind the stream');
    this.name = 'RecordingBehindError';
  }
}

/** Fragments start at a keyframe once the current one is this long (seconds). */
export const fragmentSeconds = 0.8;

interface Held {
  data: Buffer;
  at: number;
  keyframe: boolean;
}

/**
 * One rendition of one part of a recording: its video layer's frames and the stream's sound,
 * muxed into CMAF segments that its journal writes. Each frame is held until the next one says
 * how long it lasts. Work is queued: the forwarding path never waits for the muxer or the disk.
 */
export class RenditionWriter {
  private readonly muxer: SegmentMuxer;
  private queue: Promise<void>;
  private video: Held | undefined;
  private audio: Held | undefined;
  /** Sound is taken only once the pictures have begun, so every segment starts on a keyframe. */
  private begun: boolean;
  failed = false;
  /** Steps queued and not yet run. */
  private pending = 0;

  constructor(
    readonly encoding: number,
    readonly part: number,
    readonly config: VideoTrackConfig | undefined,
    hasAudio: boolean,
    private readonly journal: Promise<RenditionJournal>,
    private readonly onError: (error: Error) => void,
  ) {
    this.begun = config === undefined;
    this.muxer = new SegmentMuxer(
      { video: config, audio: hasAudio },
      {
        init: (data) => void journal.then((j) => j.init(part, data)),
        segment: (data) => void journal.then((j) => j.segment(data)),
      },
      fragmentSeconds,
    );
    this.queue = journal.then(() => undefined);
  }

  get hasBegun(): boolean {
    return this.begun;
  }

  addVideo(data: Buffer, at: number, keyframe: boolean): void {
    if (this.failed || !this.config) return;
    if (!this.begun) {
      if (!keyframe) return;
      this.begun = true;
    }
    const held = this.video;
    this.video = { data, at, keyframe };
    if (!held) return;
    const duration = at - held.at;
    this.run(() =>
      this.muxer.addVideo(
        held.data,
        held.at,
        duration > 0 && duration < longestFrame ? duration : fallbackVideoDuration,
        held.keyframe,
      ),
    );
  }

  addAudio(data: Buffer, at: number): void {
    if (this.failed || !this.begun) return;
    const held = this.audio;
    this.audio = { data, at, keyframe: true };
    if (!held) return;
    const duration = at - held.at;
    this.run(() =>
      this.muxer.addAudio(
        held.data,
        held.at,
        duration > 0 && duration < longestFrame ? duration : opusFrameDuration,
      ),
    );
  }

  /** Writes what is held and the last fragment; resolves once the journal has it all on disk. */
  async finish(): Promise<void> {
    const video = this.video;
    const audio = this.audio;
    this.video = undefined;
    this.audio = undefined;
    if (video)
      this.run(() =>
        this.muxer.addVideo(video.data, video.at, fallbackVideoDuration, video.keyframe),
      );
    if (audio) this.run(() => this.muxer.addAudio(audio.data, audio.at, opusFrameDuration));
    this.run(() => this.muxer.finish());
    await this.drained();
    await (await this.journal).flushed();
  }

  /** Resolves once every frame handed over so far has been muxed. */
  drained(): Promise<void> {
    return this.queue;
  }

  /** Stops at once (the recording failed): nothing more is muxed. */
  cancel(): void {
    this.failed = true;
    this.queue = this.queue.then(() => this.muxer.cancel()).catch(() => undefined);
  }

  private run(step: () => Promise<void>): void {
    if (this.failed) return;
    // The forwarding path never waits for the muxer or the disk: a disk that stalls shows here.
    if (this.pending >= maxPending) {
      this.failed = true;
      this.onError(new RecordingBehindError());
      return;
    }
    this.pending += 1;
    this.queue = this.queue.then(async () => {
      this.pending -= 1;
      if (this.failed) return;
      try {
        await step();
      } catch (error) {
        this.failed = true;
        this.onError(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }
}
