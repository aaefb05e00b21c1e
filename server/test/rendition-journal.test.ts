/**
 * How long the recording says it is. Its segments' durations (the playlists' EXTINF, and their
 * sum, the replay's length) must add up to the media it holds, however its tracks' fragments
 * overlap: a real muxer (mediabunny) writes the fragments from real VP8 and Opus frames. And the
 * reading of a fragment's boxes, which runs in the media worker, never throws.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Depacketizer, type EncodedFrame } from '../src/media/recording/depacketize';
import { RenditionJournal } from '../src/media/recording/RenditionJournal';
import { RenditionWriter } from '../src/media/recording/RenditionWriter';
import { fragmentSpan } from '../src/recordings/fmp4-boxes';
import { journalFile } from '../src/recordings/layout';
import { parsePlaylist } from '../src/recordings/playlist';
import { loadFixture } from './support/rtp-fixture';

/** The fixture's VP8 and Opus frames, each with its RTP timestamp as seconds from its first. */
function fixtureFrames() {
  const video = new Depacketizer('vp8');
  const audio = new Depacketizer('opus');
  const frames: { kind: 'video' | 'audio'; frame: EncodedFrame }[] = [];
  for (const p of loadFixture()) {
    const d = p.kind === 'video' ? video : audio;
    for (const frame of d.push(p.packet.serialize(), p.at / 1000))
      frames.push({ kind: p.kind, frame });
  }
  const first = { video: NaN, audio: NaN };
  return frames.map(({ kind, frame }) => {
    const rate = kind === 'video' ? 90_000 : 48_000;
    if (Number.isNaN(first[kind])) first[kind] = frame.rtpTimestamp;
    return { kind, frame, at: (frame.rtpTimestamp - first[kind]) / rate };
  });
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/**
 * Records `passes` loops of the fixture (5 s each) into one rendition. Each picture is stamped
 * up to `pictureJitter` seconds late (a camera's frames are never exactly 1/30 s apart), so the
 * keyframes that cut the fragments fall anywhere on the sound's 20 ms grid, and the sound's
 * fragments end a little before or after their pictures', differently each time.
 */
async function record(passes: number, pictureJitter: number) {
  const dir = await mkdtemp(join(tmpdir(), 'onair-journal-'));
  dirs.push(dir);
  const journal = RenditionJournal.open(dir, () => undefined);
  const once = fixtureFrames();
  const passSeconds = 5;
  // A fixed sequence (a linear congruential generator): the test is the same every run.
  let seed = 7;
  const jitter = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return (seed / 2 ** 31) * pictureJitter;
  };
  const frames = [];
  for (let pass = 0; pass < passes; pass += 1)
    for (const { kind, frame, at } of once) {
      const t = pass * passSeconds + at;
      frames.push({ kind, frame, t: kind === 'video' ? t + jitter() : t });
    }
  const writer = new RenditionWriter(
    0,
    0,
    { codec: 'vp8', codecString: 'vp8', width: 1280, height: 720 },
    true,
    journal,
    (error) => {
      throw error;
    },
  );
  const media = { start: Infinity, end: 0, keyframes: [] as number[] };
  for (const [n, { kind, frame, t }] of frames.entries()) {
    // A second at a time, as a stream would hand it over: the writer holds a bounded queue.
    if (n % 100 === 0) await writer.drained();
    if (kind === 'video') {
      writer.addVideo(frame.data, t, frame.keyframe);
      if (!writer.hasBegun) continue;
      if (frame.keyframe) media.keyframes.push(t);
      media.end = Math.max(media.end, t + 1 / 30);
    } else {
      writer.addAudio(frame.data, t);
      if (!writer.hasBegun) continue;
      media.end = Math.max(media.end, t + 0.02);
    }
    media.start = Math.min(media.start, t);
  }
  await writer.finish();
  const playlist = parsePlaylist(await readFile(join(dir, journalFile), 'utf8'));
  return { journal: await journal, playlist, media };
}

describe('a rendition journal', () => {
  it('gives a recording the length of its media, wherever its keyframes fall among its sound', async () => {
    // 60 s, about 60 segments.
    const { journal, playlist, media } = await record(12, 0.02);
    expect(media.end - media.start).toBeCloseTo(60, 0);
    expect(playlist.segments.length).toBeGreaterThan(50);
    expect(journal.duration).toBeCloseTo(media.end - media.start, 1);
    const listed = playlist.segments.reduce((sum, s) => sum + s.duration, 0);
    expect(listed).toBeCloseTo(journal.duration, 1);
  });

  it("places each segment on the playlist's timeline where its pictures begin", async () => {
    const { playlist, media } = await record(12, 0.02);
    // A segment starts at each keyframe (one a second): a player that seeks by the playlist
    // lands on the picture it asked for, to the end of the recording.
    expect(media.keyframes.length).toBeGreaterThan(50);
    let listed = 0;
    for (const [n, keyframe] of media.keyframes.entries()) {
      expect(listed, `segment ${n}`).toBeCloseTo(keyframe - media.start, 1);
      listed += playlist.segments[n]!.duration;
    }
  });
});

/** An ISO BMFF box: 32-bit size, type, content. */
const box = (type: string, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
};
const words = (...values: number[]): Buffer => {
  const data = Buffer.alloc(values.length * 4);
  values.forEach((v, n) => data.writeUInt32BE(v, n * 4));
  return data;
};

describe('reading a fragment', () => {
  const timescales = new Map([[1, 90_000]]);
  const tfhd = box('tfhd', words(0x08, 1, 3000)); // default sample duration 3000 ticks
  const trun = box('trun', words(0, 30)); // 30 samples

  it("spans from its tfdt to its samples' end", () => {
    const fragment = box('moof', box('traf', tfhd, box('tfdt', words(0, 90_000)), trun));
    expect(fragmentSpan(fragment, timescales)).toEqual({ start: 1, end: 2 });
  });

  it('gives no span, rather than an exception, for boxes too short to hold their fields', () => {
    for (const traf of [
      box('traf', tfhd, box('tfdt', words(0)), trun),
      box('traf', tfhd, box('tfdt', words(0x01000000, 0)), trun),
      box('traf', box('tfhd', words(0x08)), box('tfdt', words(0, 0)), trun),
    ])
      expect(fragmentSpan(box('moof', traf), timescales)).toBeUndefined();
    const shortRuns = box(
      'moof',
      box('traf', box('tfhd', words(0x08, 1)), box('tfdt', words(0, 0)), box('trun', words(0))),
    );
    expect(fragmentSpan(shortRuns, timescales)).toEqual({ start: 0, end: 0 });
  });
});
