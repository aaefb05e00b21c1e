import type { Codec, MediaKind, StreamCodecs } from '../codecs';
import { h264KeyframeSize } from '../h264';
import { rtpSsrc } from '../rtp';
import {
  readManifest,
  renditionDir,
  settleRecording,
  writeManifest,
  type RecordingManifest,
  type RenditionInfo,
} from '../../recordings/layout';
import { Depacketizer, type DepacketizerCodec, type EncodedFrame } from './depacketize';
import type { RecordingPlan, RecordingReport } from '../../recordings/reports';
import { writeWebmReplay } from '../../recordings/webm';
import { RenditionJournal } from './RenditionJournal';
import { RecordingBehindError, RenditionWriter } from './RenditionWriter';
import type { VideoTrackConfig } from './SegmentMuxer';

export interface RecorderHooks {
  /** Asks the publisher for a keyframe of every layer (coalesced by the router). */
  requestKeyframe(): void;
  report(report: RecordingReport): void;
  log(message: string, error?: unknown): void;
}

/** A segment should last about a second: a keyframe is asked for when the last is this old. */
const keyframeEveryMs = 900;
/** Progress is reported this often (and at the first segment). */
const reportEveryMs = 5000;
/** Sound missing this long while pictures go on is filled with silence (the muxer needs both). */
const silenceAfter = 0.5;
/**
 * A layer with no keyframe for this long is failing the recording: a fragment ends only at one,
 * so the muxer would hold everything since in memory.
 */
const keyframeStarvedMs = 30_000;

class MissingKeyframesError extends Error {}

/** The most silence filled in at once (seconds). */
const maxSilenceFill = 3;
/**
 * A source's RTP clock that strays this far (seconds) from the wall clock since the part began is
 * placed by the wall clock again: a sender's timestamps cannot move the recording hours ahead.
 */
const maxClockDrift = 10;

/** An Opus packet of one 20 ms frame that decodes as silence: a TOC byte alone (RFC 6716 §3.2.1). */
const opusSilence = Buffer.from([0xf8]);

interface TrackClock {
  ssrc: number;
  /** The last RTP timestamp, unwrapped (RFC 3550 §5.1: it wraps at 2^32). */
  last: number;
  lastRaw: number;
  /** Media time (seconds) of RTP timestamp 0 of this source, unwrapped. */
  origin: number;
  clockRate: number;
}

interface Part {
  index: number;
  /** Media time at which it begins, and the wall clock then. */
  at: number;
  wallStart: number;
  writers: Map<number, RenditionWriter>;
  clocks: Map<string, TrackClock>;
  lastAudioEnd: number;
  lastKeyframeAt: Map<number, number>;
  lastFrameAt: Map<number, number>;
}

function depacketizerCodec(codec: Codec | undefined): DepacketizerCodec | undefined {
  switch (codec?.mimeType.toLowerCase()) {
    case 'video/h264':
      return 'h264';
    case 'video/vp8':
      return 'vp8';
    case 'audio/opus':
      return 'opus';
    default:
      return undefined;
  }
}

/** The picture a keyframe starts: its size, and for H.264 its profile and level (RFC 6381 §3.3). */
function videoConfig(codec: DepacketizerCodec, frame: Buffer): VideoTrackConfig | undefined {
  if (codec === 'vp8') {
    // RFC 6386 §9.1: a 3-byte frame tag, the start code 9d 01 2a, then 14-bit width and height.
    if (frame.length < 10 || frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a)
      return undefined;
    const width = frame.readUInt16LE(6) & 0x3fff;
    const height = frame.readUInt16LE(8) & 0x3fff;
    return { codec: 'vp8', codecString: 'vp8', width, height };
  }
  for (const nal of annexBUnits(frame)) {
    if (((nal[0] ?? 0) & 0x1f) !== 7 || nal.length < 4) continue;
    const size = h264KeyframeSize(nal, 0);
    if (!size) return undefined;
    const hex = (n: number) => n.toString(16).padStart(2, '0');
    return {
      codec: 'avc',
      codecString: `avc1.${hex(nal[1] as number)}${hex(nal[2] as number)}${hex(nal[3] as number)}`,
      ...size,
    };
  }
  return undefined;
}

function* annexBUnits(data: Buffer): Generator<Buffer> {
  let start = -1;
  for (let i = 0; i + 3 <= data.length; i += 1) {
    if (data[i] !== 0 || data[i + 1] !== 0 || data[i + 2] !== 1) continue;
    if (start >= 0) yield data.subarray(start, i > 0 && data[i - 1] === 0 ? i - 1 : i);
    start = i + 3;
    i += 2;
  }
  if (start >= 0) yield data.subarray(start);
}

function failureMessage(error: Error): string {
  if (error instanceof RecordingBehindError)
    return 'The recording could not keep up with the stream';
  if (error instanceof MissingKeyframesError) return 'The broadcaster sends no keyframes';
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'The disk is full';
  if (['EACCES', 'EPERM', 'EROFS', 'ENOENT', 'ENOTDIR', 'EEXIST', 'EISDIR'].includes(code ?? ''))
    return 'The recordings directory cannot be written';
  return 'The recording could not be written';
}

/**
 * Records one stream where its publisher is: the forwarded RTP is put back into frames
 * (H.264, VP8, Opus) and written, without re-encoding, as CMAF segments per simulcast layer
 * (HLS renditions) under the stream's directory. A publisher that comes back (on this worker,
 * another, or another node sharing the directory) continues the same recording as a new part.
 * When the stream ends the largest rendition is kept as the recording, unless the host turned
 * recording off. A write error stops the recording, never the stream.
 */
export class StreamRecorder {
  private readonly audioCodec: DepacketizerCodec | undefined;
  private readonly videoCodec: DepacketizerCodec | undefined;
  private readonly depacketizers = new Map<string, Depacketizer>();
  private readonly journals = new Map<number, Promise<RenditionJournal>>();
  private manifest: RecordingManifest;
  private part: Part | undefined;
  private readonly ready: Promise<void>;
  private isReady = false;
  private failed = false;
  private finishing: Promise<void> | undefined;
  private reportedAt = 0;
  private manifestWrites: Promise<void> = Promise.resolve();
  private readonly ticker: NodeJS.Timeout;

  constructor(
    readonly streamId: string,
    private readonly plan: RecordingPlan,
    codecs: StreamCodecs,
    private readonly hooks: RecorderHooks,
  ) {
    this.audioCodec = depacketizerCodec(codecs.audio);
    this.videoCodec = depacketizerCodec(codecs.video);
    this.manifest = { streamId, parts: [], renditions: [], keep: plan.keep, kept: null };
    this.ready = this.load().then(
      () => {
        this.isReady = true;
      },
      (error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error))),
    );
    this.ticker = setInterval(() => this.tick(), 250);
    this.ticker.unref();
  }

  get isRecording(): boolean {
    return !this.failed && !this.finishing;
  }

  /** One packet from the publisher (normalized RTP), as the router forwards it. */
  packet(kind: MediaKind, packet: Buffer, encoding: number, now: number): void {
    if (!this.isReady || this.failed || this.finishing) return;
    const codec = kind === 'audio' ? this.audioCodec : this.videoCodec;
    if (!codec) return;
    const key = `${kind}${encoding}`;
    let depacketizer = this.depacketizers.get(key);
    if (!depacketizer) {
      depacketizer = new Depacketizer(codec);
      this.depacketizers.set(key, depacketizer);
    }
    const ssrc = rtpSsrc(packet);
    const clock = this.part?.clocks.get(key);
    // Another source for a track already running: the publisher came back, so a new part.
    if (clock && clock.ssrc !== ssrc) {
      this.startPart(now);
      for (const d of this.depacketizers.values()) d.reset();
    }
    for (const frame of depacketizer.push(packet, now))
      if (kind === 'audio') this.audioFrame(frame, ssrc, now);
      else this.videoFrame(frame, codec, encoding, ssrc, now);
  }

  /**
   * Stops recording here. `ended`: the stream is over, so the last fragments are written and the
   * recording kept (its largest rendition) or, when recording was off, removed with the live
   * packaging. Otherwise the stream moved: this part ends and the next holder continues.
   */
  finish(ended: boolean): Promise<void> {
    this.finishing ??= this.close(ended);
    return this.finishing;
  }

  private async close(ended: boolean): Promise<void> {
    clearInterval(this.ticker);
    await this.ready;
    await this.endPart();
    await this.manifestWrites;
    if (!ended) return;
    const { durationSeconds, bytes } = await this.totals();
    try {
      await this.keepOrRemove();
    } catch (error) {
      this.hooks.log('recording cleanup failed', error);
    }
    if (!this.failed) this.hooks.report({ state: 'finished', durationSeconds, bytes });
  }

  private async keepOrRemove(): Promise<void> {
    await this.manifestWrites;
    const settled = await settleRecording(this.plan.root, this.streamId, this.plan.keep);
    if (!settled?.kept || this.videoCodec !== 'vp8') return;
    try {
      await writeWebmReplay(this.plan.root, this.streamId, settled.kept);
      await writeManifest(this.plan.root, { ...settled, webm: true });
    } catch (error) {
      // The HLS recording stays: players that take VP8 in MP4 (ffmpeg, VLC) still play it.
      this.hooks.log('the WebM replay could not be written', error);
    }
  }

  private async load(): Promise<void> {
    const earlier = await readManifest(this.plan.root, this.streamId);
    if (earlier) this.manifest = { ...earlier, keep: this.plan.keep, kept: null };
  }

  private videoFrame(
    frame: EncodedFrame,
    codec: DepacketizerCodec,
    encoding: number,
    ssrc: number,
    now: number,
  ): void {
    if (!this.part) {
      if (!frame.keyframe) return;
      this.startPart(now);
    }
    const part = this.part as Part;
    let writer = part.writers.get(encoding);
    if (!writer) {
      if (!frame.keyframe) return;
      const config = videoConfig(codec, frame.data);
      if (!config) return;
      writer = new RenditionWriter(
        encoding,
        part.index,
        config,
        this.audioCodec !== undefined,
        this.journal(encoding),
        (error) => this.fail(error),
      );
      part.writers.set(encoding, writer);
      this.noteRendition(encoding, config);
    }
    const at = this.mediaTime(part, `video${encoding}`, ssrc, frame.rtpTimestamp, 90_000, now);
    // Pictures back after a pause (a camera turned on) are given their own time for a keyframe.
    if (now - (part.lastFrameAt.get(encoding) ?? now) > 2000)
      part.lastKeyframeAt.set(encoding, now);
    if (frame.keyframe) part.lastKeyframeAt.set(encoding, now);
    part.lastFrameAt.set(encoding, now);
    // Pictures go on without sound (a muted or missing microphone): silence keeps the muxer
    // cutting segments and the players' audio buffers continuous.
    if (this.audioCodec && at - part.lastAudioEnd > silenceAfter) {
      // At most the last few seconds: a longer hole is left as it is, not filled frame by frame.
      const from = Math.max(part.lastAudioEnd, part.at, at - maxSilenceFill);
      for (let t = from; t < at - 0.1; t += 0.02)
        for (const w of part.writers.values()) w.addAudio(opusSilence, t);
      part.lastAudioEnd = at - 0.1;
    }
    writer.addVideo(frame.data, at, frame.keyframe);
  }

  private audioFrame(frame: EncodedFrame, ssrc: number, now: number): void {
    const part = this.part ?? (this.videoCodec ? undefined : this.startPart(now));
    if (!part) return;
    if (!this.videoCodec && !part.writers.has(0)) {
      part.writers.set(
        0,
        new RenditionWriter(0, part.index, undefined, true, this.journal(0), (e) => this.fail(e)),
      );
      this.noteRendition(0, undefined);
    }
    const at = this.mediaTime(part, 'audio0', ssrc, frame.rtpTimestamp, 48_000, now);
    // Silence already stands in for this moment.
    if (at < part.lastAudioEnd) return;
    part.lastAudioEnd = at + 0.02;
    for (const writer of part.writers.values()) writer.addAudio(frame.data, at);
  }

  /**
   * A frame's media time: each source's first frame is placed by when it arrived within the
   * part, later ones by their RTP timestamps from it. Strictly rising per track.
   */
  private mediaTime(
    part: Part,
    key: string,
    ssrc: number,
    rtp: number,
    clockRate: number,
    now: number,
  ): number {
    let clock = part.clocks.get(key);
    if (!clock || clock.ssrc !== ssrc) {
      clock = {
        ssrc,
        last: rtp,
        lastRaw: rtp,
        origin: part.at + (now - part.wallStart) / 1000 - rtp / clockRate,
        clockRate,
      };
      part.clocks.set(key, clock);
    }
    const delta = ((rtp - clock.lastRaw) | 0) as number;
    clock.lastRaw = rtp;
    const unwrapped = clock.last + delta;
    const previous = clock.origin + clock.last / clockRate;
    clock.last = unwrapped;
    let at = clock.origin + unwrapped / clockRate;
    const wall = part.at + (now - part.wallStart) / 1000;
    if (Math.abs(at - wall) > maxClockDrift) {
      clock.origin += wall - at;
      at = wall;
    }
    return Math.max(at, delta === 0 ? at : previous + 1 / clockRate, part.at);
  }

  private startPart(now: number): Part {
    const previous = this.part;
    if (previous) void this.endPart();
    const at = Math.max(
      0,
      ...[...this.journalsDone.values()].map((j) => j.duration),
      this.lastPartEnd,
    );
    const part: Part = {
      index: this.manifest.parts.length,
      at,
      wallStart: now,
      writers: new Map(),
      clocks: new Map(),
      lastAudioEnd: at,
      lastKeyframeAt: new Map(),
      lastFrameAt: new Map(),
    };
    this.part = part;
    this.manifest.parts.push({ at, wallClock: new Date(now).toISOString() });
    void this.saveManifest();
    return part;
  }

  /** Journals that have opened, to read their duration synchronously. */
  private readonly journalsDone = new Map<number, RenditionJournal>();
  /** Where the part that ended last ended, as its frames said. */
  private lastPartEnd = 0;

  private async endPart(): Promise<void> {
    const part = this.part;
    if (!part) return;
    this.part = undefined;
    this.lastPartEnd = Math.max(this.lastPartEnd, part.lastAudioEnd);
    await Promise.all([...part.writers.values()].map((w) => w.finish().catch(() => undefined)));
  }

  private journal(encoding: number): Promise<RenditionJournal> {
    let journal = this.journals.get(encoding);
    if (!journal) {
      const dir = renditionDir(this.plan.root, this.streamId, `r${encoding}`);
      journal = RenditionJournal.open(dir, (error) => this.fail(error));
      journal.then(
        (j) => this.journalsDone.set(encoding, j),
        (error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error))),
      );
      this.journals.set(encoding, journal);
    }
    return journal;
  }

  private noteRendition(encoding: number, config: VideoTrackConfig | undefined): void {
    const id = `r${encoding}`;
    const codecs = [
      config?.codecString === 'vp8' ? 'vp8' : config?.codecString,
      this.audioCodec && 'opus',
    ]
      .filter(Boolean)
      .join(',');
    const info: RenditionInfo = {
      id,
      width: config?.width ?? 0,
      height: config?.height ?? 0,
      bandwidth: 0,
      codecs,
    };
    this.manifest.renditions = [...this.manifest.renditions.filter((r) => r.id !== id), info];
    void this.saveManifest();
  }

  private tick(): void {
    const part = this.part;
    if (!part || this.failed || this.finishing) return;
    const now = Date.now();
    let stale = false;
    for (const encoding of part.writers.keys()) {
      const since = now - (part.lastKeyframeAt.get(encoding) ?? now);
      if (since >= keyframeEveryMs) stale = true;
      // Only while pictures come: a camera turned off sends nothing, and that is no fault.
      const flowing = now - (part.lastFrameAt.get(encoding) ?? 0) < 2000;
      if (since >= keyframeStarvedMs && flowing) {
        this.fail(new MissingKeyframesError('no keyframe for 30 s'));
        return;
      }
    }
    if (stale && this.videoCodec) this.hooks.requestKeyframe();
    if (now - this.reportedAt >= reportEveryMs) {
      const journals = [...this.journalsDone.values()];
      if (journals.some((j) => j.segmentCount > 0)) {
        this.reportedAt = now;
        let changed = false;
        for (const r of this.manifest.renditions) {
          const j = this.journalsDone.get(Number(r.id.slice(1)));
          const bandwidth = Math.round(j?.peakBitrate ?? 0);
          if (j && bandwidth > r.bandwidth) {
            r.bandwidth = bandwidth;
            changed = true;
          }
        }
        if (changed) void this.saveManifest();
        void this.totals().then(
          (totals) => this.failed || this.hooks.report({ state: 'recording', ...totals }),
        );
      }
    }
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.hooks.log('recording stopped', error);
    for (const writer of this.part?.writers.values() ?? []) writer.cancel();
    void this.totals().then((totals) =>
      this.hooks.report({ state: 'failed', error: failureMessage(error), ...totals }),
    );
  }

  /** The longest rendition's duration (the recording's) and every rendition's bytes. */
  private async totals(): Promise<{ durationSeconds: number; bytes: number }> {
    let longest = 0;
    let bytes = 0;
    for (const journal of this.journals.values()) {
      const j = await journal.catch(() => undefined);
      if (!j) continue;
      longest = Math.max(longest, j.duration);
      bytes += j.bytes;
    }
    return { durationSeconds: Math.round(longest * 1000) / 1000, bytes };
  }

  private saveManifest(): Promise<void> {
    const snapshot = structuredClone(this.manifest);
    this.manifestWrites = this.manifestWrites
      .then(() => writeManifest(this.plan.root, snapshot))
      .catch((error: unknown) =>
        this.fail(error instanceof Error ? error : new Error(String(error))),
      );
    return this.manifestWrites;
  }
}

export type { RecordingPlan, RecordingReport };
