/**
 * RTP packets back into whole frames for recording: H.264 access units (RFC 6184 §5.6 single NAL
 * unit, §5.7.1 STAP-A, §5.8 FU-A) in Annex B, VP8 frames (RFC 7741 §4.2–4.3), Opus packets
 * (RFC 7587 §4.2); the reassembly window's reordering, loss, sequence wrap (RFC 3550 A.1),
 * duplicates and reset; and, where ffmpeg is installed, its real H.264 and VP8 RTP output.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Depacketizer,
  type DepacketizerCodec,
  type EncodedFrame,
} from '../src/media/recording/depacketize';
import { isRtcp, normalizeRtp } from '../src/media/rtp';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** A normalized RTP packet (RFC 3550 §5.1: V=2, no CSRC/extension/padding, PT 96). */
function rtp(seq: number, ts: number, marker: boolean, payload: Buffer | number[]): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = (marker ? 0x80 : 0) | 96;
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE(ts >>> 0, 4);
  header.writeUInt32BE(0xcafebabe, 8);
  return Buffer.concat([header, Buffer.from(payload)]);
}

/** Pushes packets one after another, `step` ms apart from `start`, and collects every frame. */
function feed(d: Depacketizer, packets: Buffer[], start = 0, step = 1): EncodedFrame[] {
  const frames: EncodedFrame[] = [];
  packets.forEach((packet, i) => frames.push(...d.push(packet, start + i * step)));
  return frames;
}

const annexB = (...nals: Buffer[]): Buffer =>
  Buffer.concat(nals.flatMap((nal) => [hex('00 00 00 01'), nal]));

// H.264 NAL units (header octet first). The SPS is the 640x360 constrained baseline one from
// h264.test.ts; both slices open their picture (first_mb_in_slice 0: the slice data's first bit
// is 1, H.264 §7.3.3), as the first slice of every access unit does.
const sps = hex('67 42 c0 1e 8d 68 0a 02 ff 95');
const pps = hex('68 ce 3c 80');
const idr = hex('65 88 84 00 33 ff');
const slice = hex('41 9a 24 6c 41 ff');
/** Access unit delimiter (type 9), primary_pic_type 7 (H.264 §7.3.2.4). */
const aud = hex('09 f0');

/** STAP-A (§5.7.1): header octet 78 (NRI 3, type 24), then 16-bit size + NAL unit, repeated. */
function stapA(...nals: Buffer[]): Buffer {
  return Buffer.concat([
    Buffer.from([0x78]),
    ...nals.flatMap((nal) => [Buffer.from([nal.length >> 8, nal.length & 0xff]), nal]),
  ]);
}

/** FU-A (§5.8): indicator F|NRI of the NAL and type 28, header S|E|R|type, then a piece of the NAL's payload. */
function fuA(nal: Buffer, from: number, to: number, start: boolean, end: boolean): Buffer {
  return Buffer.concat([
    Buffer.from([
      ((nal[0] as number) & 0xe0) | 28,
      (start ? 0x80 : 0) | (end ? 0x40 : 0) | ((nal[0] as number) & 0x1f),
    ]),
    nal.subarray(1 + from, 1 + to),
  ]);
}

// VP8 frame tags (RFC 6386 §9.1): P bit (bit 0 of the first octet) 0 for a key frame, with the
// start code 9d 01 2a and a 1280x720 size (ffmpeg's first key frame); 1 for an interframe.
const keyframeHeader = [0x50, 0xfa, 0x01, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02];
const deltaHeader = [0xd1, 0x8b, 0x00, 0xe5, 0x37];

/**
 * One VP8 frame of `count` packets from `seq` (RFC 7741 §4.2: X, I, M=1 15-bit picture id; S=1
 * PID=0 on the first packet), the marker on the last. Payload bytes after the tag name the frame.
 */
function vp8Frame(seq: number, ts: number, keyframe: boolean, count = 1): Buffer[] {
  const pictureId = (ts / 3000) & 0x7fff;
  const packets: Buffer[] = [];
  for (let i = 0; i < count; i += 1) {
    const descriptor = [i === 0 ? 0x90 : 0x80, 0x80, 0x80 | (pictureId >> 8), pictureId & 0xff];
    const body = i === 0 ? (keyframe ? keyframeHeader : deltaHeader) : [0xaa, i, ts & 0xff];
    packets.push(rtp(seq + i, ts, i === count - 1, [...descriptor, ...body]));
  }
  return packets;
}

/** What vp8Frame's packets reassemble to: the payloads with the descriptors stripped. */
function vp8FrameData(ts: number, keyframe: boolean, count = 1): Buffer {
  const parts = [Buffer.from(keyframe ? keyframeHeader : deltaHeader)];
  for (let i = 1; i < count; i += 1) parts.push(Buffer.from([0xaa, i, ts & 0xff]));
  return Buffer.concat(parts);
}

const timestamps = (frames: EncodedFrame[]) => frames.map((f) => f.rtpTimestamp);

describe('H.264 access units (RFC 6184, packetization-mode 1)', () => {
  it('joins single NAL unit packets (§5.6) sharing a timestamp into one access unit', () => {
    const d = new Depacketizer('h264');
    const frames = feed(d, [
      rtp(100, 9000, false, sps),
      rtp(101, 9000, false, pps),
      rtp(102, 9000, true, idr),
      rtp(103, 12000, true, slice),
    ]);
    expect(frames).toEqual([
      { data: annexB(sps, pps, idr), rtpTimestamp: 9000, keyframe: true },
      { data: annexB(slice), rtpTimestamp: 12000, keyframe: false },
    ]);
  });

  it('unpacks a STAP-A (§5.7.1) of SPS, PPS and IDR', () => {
    const d = new Depacketizer('h264');
    expect(feed(d, [rtp(7, 3000, true, stapA(sps, pps, idr))])).toEqual([
      { data: annexB(sps, pps, idr), rtpTimestamp: 3000, keyframe: true },
    ]);
  });

  it('rebuilds an IDR fragmented into three FU-A packets (§5.8) byte for byte', () => {
    // NRI 2 (header 45): the rebuilt header takes F|NRI from the indicator, the type from the
    // FU header.
    const big = Buffer.concat([hex('45'), Buffer.from(Array.from({ length: 3000 }, (_, i) => i))]);
    const fragments = [
      fuA(big, 0, 1000, true, false),
      fuA(big, 1000, 2000, false, false),
      fuA(big, 2000, 3000, false, true),
    ];
    expect(fragments.map((f) => f.subarray(0, 2))).toEqual([
      hex('5c 85'),
      hex('5c 05'),
      hex('5c 45'),
    ]);
    const d = new Depacketizer('h264');
    const frames = feed(d, [
      rtp(40, 90000, false, stapA(sps, pps)),
      rtp(41, 90000, false, fragments[0]!),
      rtp(42, 90000, false, fragments[1]!),
      rtp(43, 90000, true, fragments[2]!),
    ]);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.keyframe).toBe(true);
    expect(frames[0]!.data.equals(annexB(sps, pps, big))).toBe(true);
  });

  it('puts the remembered SPS and PPS in front of a keyframe that lacks them', () => {
    const d = new Depacketizer('h264');
    const frames = feed(d, [
      rtp(1, 0, true, stapA(sps, pps, idr)),
      rtp(2, 3000, true, slice),
      rtp(3, 6000, true, idr),
      // Only the PPS missing: the SPS goes in front again, so the PPS never precedes an SPS.
      rtp(4, 9000, false, sps),
      rtp(5, 9000, true, idr),
    ]);
    expect(frames.map((f) => f.data)).toEqual([
      annexB(sps, pps, idr),
      annexB(slice),
      annexB(sps, pps, idr),
      annexB(sps, pps, sps, idr),
    ]);
  });

  it('keeps parameter sets that come in an access unit of their own for the next keyframe', () => {
    const d = new Depacketizer('h264');
    const frames = feed(d, [rtp(1, 0, true, stapA(sps, pps)), rtp(2, 3000, true, idr)]);
    expect(frames).toEqual([{ data: annexB(sps, pps, idr), rtpTimestamp: 3000, keyframe: true }]);
  });

  it('drops access unit delimiters (type 9), alone or in a STAP-A', () => {
    const d = new Depacketizer('h264');
    const frames = feed(d, [
      rtp(1, 0, false, aud),
      rtp(2, 0, true, stapA(sps, pps, idr)),
      rtp(3, 3000, true, stapA(aud, slice)),
    ]);
    expect(frames.map((f) => f.data)).toEqual([annexB(sps, pps, idr), annexB(slice)]);
  });

  it('skips STAP-B, MTAP and FU-B payloads and types 0, 30, 31 (modes other than 1)', () => {
    const d = new Depacketizer('h264');
    const frames = feed(d, [
      rtp(1, 0, false, stapA(sps, pps, idr)),
      rtp(2, 0, false, hex('19 00 00 00 02 41 00')), // STAP-B (25)
      rtp(3, 0, false, hex('1a 00 00')), // MTAP16 (26)
      rtp(4, 0, false, hex('1e 01 02')), // 30
      rtp(5, 0, true, hex('1f 01 02')), // 31
    ]);
    expect(frames.map((f) => f.data)).toEqual([annexB(sps, pps, idr)]);
  });

  it('drops a frame whose FU-A run lacks its start fragment (§5.8), then waits for a keyframe', () => {
    const big = Buffer.concat([hex('41'), Buffer.alloc(2000, 0x5a)]);
    const d = new Depacketizer('h264');
    const frames = feed(d, [
      rtp(1, 0, true, stapA(sps, pps, idr)),
      rtp(2, 3000, false, slice),
      rtp(3, 3000, false, fuA(big, 1000, 1999, false, true)),
      rtp(4, 3000, true, hex('41 9a 00')),
      rtp(5, 6000, true, slice),
      rtp(6, 9000, true, idr),
    ]);
    expect(timestamps(frames)).toEqual([0, 9000]);
    expect(d.droppedFrames).toBe(2);
  });
});

describe('VP8 frames (RFC 7741)', () => {
  it('strips 7-bit picture id descriptors (§4.2) and joins a frame over three packets', () => {
    // 90: X S, PID 0; 80: I; 25: M=0, picture id 0x25. Then S=0 continuations.
    const d = new Depacketizer('vp8');
    const frames = feed(d, [
      rtp(10, 3000, false, [0x90, 0x80, 0x25, ...keyframeHeader]),
      rtp(11, 3000, false, [0x80, 0x80, 0x25, 0x01, 0x02]),
      rtp(12, 3000, true, [0x80, 0x80, 0x25, 0x03]),
    ]);
    expect(frames).toEqual([
      { data: Buffer.from([...keyframeHeader, 1, 2, 3]), rtpTimestamp: 3000, keyframe: true },
    ]);
  });

  it('strips 15-bit picture ids with TL0PICIDX and TID (§4.2), and the one-octet form', () => {
    const d = new Depacketizer('vp8');
    const frames = feed(d, [
      // e0: I L T; 81 23: M=1, picture id 0x0123; 07: TL0PICIDX; 40: TID 1.
      rtp(1, 0, false, [0x90, 0xe0, 0x81, 0x23, 0x07, 0x40, ...keyframeHeader]),
      rtp(2, 0, false, [0x80, 0xe0, 0x81, 0x23, 0x07, 0x40, 0x11]),
      rtp(3, 0, true, [0x80, 0xe0, 0x81, 0x23, 0x07, 0x40, 0x22]),
      // No X: just |X=0|R|N|S|R|PID|.
      rtp(4, 3000, true, [0x10, ...deltaHeader]),
    ]);
    expect(frames.map((f) => [...f.data])).toEqual([[...keyframeHeader, 0x11, 0x22], deltaHeader]);
  });

  it("reads keyframe from the first packet's P bit (§4.3, RFC 6386 §9.1)", () => {
    const d = new Depacketizer('vp8');
    const frames = feed(d, [
      ...vp8Frame(1, 0, true, 2),
      ...vp8Frame(3, 3000, false, 2),
      ...vp8Frame(5, 6000, true),
    ]);
    expect(frames.map((f) => f.keyframe)).toEqual([true, false, true]);
    expect(frames.map((f) => f.data)).toEqual([
      vp8FrameData(0, true, 2),
      vp8FrameData(3000, false, 2),
      vp8FrameData(6000, true),
    ]);
  });

  it('drops a frame that does not open with S=1 in partition 0 (§4.2)', () => {
    const d = new Depacketizer('vp8');
    const frames = feed(d, [
      ...vp8Frame(1, 0, true),
      // Right after a marker, a frame whose first packet claims partition 1.
      rtp(2, 3000, true, [0x91, 0x80, 0x80, 0x01, ...deltaHeader]),
      ...vp8Frame(3, 6000, false),
      ...vp8Frame(4, 9000, true),
    ]);
    expect(timestamps(frames)).toEqual([0, 9000]);
    expect(d.droppedFrames).toBe(2);
  });
});

describe('Opus (RFC 7587 §4.2)', () => {
  it('gives one frame per packet, the payload as it came, marker or not', () => {
    const d = new Depacketizer('opus');
    const frames = feed(d, [
      rtp(1, 960, true, [0xfc, 0x01, 0x02]),
      rtp(2, 1920, false, [0xfc, 0x03]),
      rtp(3, 2880, false, [0x78]),
    ]);
    expect(frames).toEqual([
      { data: Buffer.from([0xfc, 0x01, 0x02]), rtpTimestamp: 960, keyframe: true },
      { data: Buffer.from([0xfc, 0x03]), rtpTimestamp: 1920, keyframe: true },
      { data: Buffer.from([0x78]), rtpTimestamp: 2880, keyframe: true },
    ]);
  });

  it('skips a lost packet once it has waited past maxWaitMs, counting it', () => {
    const d = new Depacketizer('opus', { maxWaitMs: 100 });
    const at = (seq: number) => rtp(seq, seq * 960, false, [0xfc, seq]);
    expect(timestamps(d.push(at(1), 0))).toEqual([960]);
    expect(d.push(at(3), 20)).toEqual([]);
    expect(d.push(at(4), 40)).toEqual([]);
    expect(timestamps(d.push(at(5), 121))).toEqual([3 * 960, 4 * 960, 5 * 960]);
    expect(d.droppedFrames).toBe(1);
    // The retransmission comes too late: ignored.
    expect(d.push(at(2), 130)).toEqual([]);
    expect(timestamps(d.push(at(6), 140))).toEqual([6 * 960]);
  });
});

describe('the reassembly window', () => {
  const codecs: DepacketizerCodec[] = ['vp8', 'h264'];

  it('waits for a reordered packet and then emits its frame whole, in order', () => {
    const d = new Depacketizer('vp8');
    const [k1, k2, k3] = vp8Frame(1, 0, true, 3);
    const [d1, d2] = vp8Frame(4, 3000, false, 2);
    const [d3] = vp8Frame(6, 6000, false);
    expect(d.push(k1!, 0)).toEqual([]);
    expect(d.push(k3!, 5)).toEqual([]);
    expect(d.push(d1!, 10)).toEqual([]);
    expect(d.push(d2!, 15)).toEqual([]);
    expect(d.push(d3!, 20)).toEqual([]);
    // The missing packet, 250 ms late but within the default 300 ms.
    const frames = d.push(k2!, 250);
    expect(timestamps(frames)).toEqual([0, 3000, 6000]);
    expect(frames[0]!.data).toEqual(vp8FrameData(0, true, 3));
    expect(frames[1]!.data).toEqual(vp8FrameData(3000, false, 2));
    expect(d.droppedFrames).toBe(0);
  });

  it('gives up on a packet lost past maxWaitMs: drops its frame and the delta frames after it until a keyframe', () => {
    const d = new Depacketizer('vp8', { maxWaitMs: 300 });
    const packets = [
      ...vp8Frame(1, 0, true, 2), // 1–2
      ...vp8Frame(3, 3000, false, 2), // 3–4, 4 is lost
      ...vp8Frame(5, 6000, false), // 5
      ...vp8Frame(6, 9000, false), // 6
      ...vp8Frame(7, 12000, true, 2), // 7–8
      ...vp8Frame(9, 15000, false), // 9
    ];
    const lost = packets.splice(3, 1)[0]!;
    // 100 ms apart: packet 5 arrives at 300, so the gap is given up at 700 (packet 9).
    const frames = feed(d, packets, 0, 100);
    expect(timestamps(frames)).toEqual([0, 12000, 15000]);
    expect(frames[1]!.keyframe).toBe(true);
    // The frame with the hole and the two delta frames that referenced it.
    expect(d.droppedFrames).toBe(3);
    expect(d.push(lost, 800)).toEqual([]);
  });

  it('gives up early when more than ~500 packets wait behind a gap', () => {
    const d = new Depacketizer('opus', { maxWaitMs: 60_000 });
    const packets = Array.from({ length: 600 }, (_, i) => rtp(i, i * 960, false, [0xfc, i & 0xff]));
    packets.splice(1, 1);
    const frames = feed(d, packets, 0, 0);
    expect(frames).toHaveLength(599);
    expect(frames[1]!.rtpTimestamp).toBe(2 * 960);
    expect(d.droppedFrames).toBe(1);
  });

  it('an H.264 slice after a lost first slice is not taken for a frame start', () => {
    // Two slices per picture; the first slice of the delta picture at 3000 is lost. Its second
    // slice (first_mb_in_slice ≠ 0, first bit 0) must not become a frame of its own.
    const second = hex('41 40 11 22');
    const d = new Depacketizer('h264', { maxWaitMs: 50 });
    const frames = feed(
      d,
      [
        rtp(1, 0, false, stapA(sps, pps, idr)),
        rtp(2, 0, true, hex('65 40 aa')),
        rtp(4, 3000, true, second),
        rtp(5, 6000, true, slice),
        rtp(6, 9000, false, idr),
        rtp(7, 9000, true, hex('65 40 bb')),
      ],
      0,
      30,
    );
    expect(timestamps(frames)).toEqual([0, 9000]);
    expect(frames[1]!.data).toEqual(annexB(sps, pps, idr, hex('65 40 bb')));
    expect(d.droppedFrames).toBe(2);
  });

  it.each(codecs)('unwraps the sequence number at 65535 → 0 (RFC 3550 A.1), %s', (codec) => {
    const d = new Depacketizer(codec);
    let frames: EncodedFrame[];
    if (codec === 'vp8') {
      frames = feed(d, [...vp8Frame(65534, 0, true, 3), ...vp8Frame(1, 3000, false, 2)]);
      expect(frames.map((f) => f.data)).toEqual([
        vp8FrameData(0, true, 3),
        vp8FrameData(3000, false, 2),
      ]);
    } else {
      const big = Buffer.concat([hex('65'), Buffer.alloc(2500, 7)]);
      // Arrival order across the wrap is mixed up too.
      frames = feed(d, [
        rtp(65534, 0, false, stapA(sps, pps)),
        rtp(0, 0, false, fuA(big, 1000, 2000, false, false)),
        rtp(65535, 0, false, fuA(big, 0, 1000, true, false)),
        rtp(1, 0, true, fuA(big, 2000, 2500, false, true)),
        rtp(2, 3000, true, slice),
      ]);
      expect(frames.map((f) => f.data)).toEqual([annexB(sps, pps, big), annexB(slice)]);
    }
    expect(timestamps(frames)).toEqual([0, 3000]);
    expect(d.droppedFrames).toBe(0);
  });

  it('ignores duplicates, pending or already emitted', () => {
    const d = new Depacketizer('vp8');
    const [a, b] = vp8Frame(1, 0, true, 2);
    const [c] = vp8Frame(3, 3000, false);
    const frames = feed(d, [a!, a!, b!, a!, b!, c!, c!, b!]);
    expect(timestamps(frames)).toEqual([0, 3000]);
    expect(frames[0]!.data).toEqual(vp8FrameData(0, true, 2));
    expect(d.droppedFrames).toBe(0);
  });

  it.each(codecs)('drops frames before the first keyframe, without counting them, %s', (codec) => {
    const d = new Depacketizer(codec);
    const packets =
      codec === 'vp8'
        ? [
            // Joining mid-frame: a continuation packet first.
            ...vp8Frame(1, 0, false, 2).slice(1),
            ...vp8Frame(3, 3000, false),
            ...vp8Frame(4, 6000, true, 2),
            ...vp8Frame(6, 9000, false),
          ]
        : [
            rtp(2, 0, true, fuA(Buffer.concat([slice, Buffer.alloc(20)]), 5, 25, false, true)),
            rtp(3, 3000, true, slice),
            rtp(4, 6000, false, stapA(sps, pps)),
            rtp(5, 6000, true, idr),
            rtp(6, 9000, true, slice),
          ];
    // 100 ms apart: the continuation packet first waits in case its frame's start is only late.
    const frames = feed(d, packets, 0, 100);
    expect(timestamps(frames)).toEqual([6000, 9000]);
    expect(frames[0]!.keyframe).toBe(true);
    expect(d.droppedFrames).toBe(0);
  });

  it.each(codecs)('starts from a packet reordered ahead of the first one seen, %s', (codec) => {
    const d = new Depacketizer(codec);
    const big = Buffer.concat([hex('65'), Buffer.alloc(2000, 3)]);
    const packets =
      codec === 'vp8'
        ? [...vp8Frame(10, 0, true, 3), ...vp8Frame(13, 3000, false)]
        : [
            rtp(10, 0, false, stapA(sps, pps)),
            rtp(11, 0, false, fuA(big, 0, 1000, true, false)),
            rtp(12, 0, true, fuA(big, 1000, 2000, false, true)),
            rtp(13, 3000, true, slice),
          ];
    const [p10, p11, p12, p13] = packets;
    expect(d.push(p11!, 0)).toEqual([]);
    expect(d.push(p12!, 5)).toEqual([]);
    const frames = [...d.push(p10!, 10), ...d.push(p13!, 15)];
    expect(timestamps(frames)).toEqual([0, 3000]);
    expect(frames[0]!.keyframe).toBe(true);
    expect(frames[0]!.data).toEqual(
      codec === 'vp8' ? vp8FrameData(0, true, 3) : annexB(sps, pps, big),
    );
  });

  it('reset forgets the old source: its packets, its parameter sets, the keyframe it started on', () => {
    const d = new Depacketizer('h264');
    expect(timestamps(feed(d, [rtp(10, 0, true, stapA(sps, pps, idr))]))).toEqual([0]);
    // Half a frame of the old source, then a new one from a nearby sequence number.
    d.push(rtp(11, 3000, false, slice), 10);
    d.reset();
    const frames = feed(d, [
      rtp(12, 500, true, slice), // a delta frame first: needs a keyframe again
      rtp(13, 800, true, idr), // no SPS/PPS known since the reset: undecodable, no start
      rtp(14, 900, true, stapA(sps, pps, idr)),
    ]);
    expect(frames).toEqual([{ data: annexB(sps, pps, idr), rtpTimestamp: 900, keyframe: true }]);
  });

  it('treats a jump of thousands of sequence numbers as a new source', () => {
    const d = new Depacketizer('vp8');
    feed(d, [...vp8Frame(100, 0, true), vp8Frame(101, 3000, false, 2)[0]!]);
    const frames = feed(d, [...vp8Frame(40000, 90000, false), ...vp8Frame(40001, 93000, true)]);
    expect(timestamps(frames)).toEqual([93000]);
    expect(d.droppedFrames).toBe(0);
  });

  it('never holds more than its window: a packet far ahead pushes what is held out', () => {
    const d = new Depacketizer('vp8');
    const [start, rest] = vp8Frame(2, 3000, false, 2);
    feed(d, [...vp8Frame(1, 0, true), start!]);
    // 2000 ahead: not a new source, but beyond the 1024-packet window. 978–2000 may still come.
    expect(d.push(vp8Frame(2001, 6000, true)[0]!, 10)).toEqual([]);
    // The frame that was held is gone: its last packet completes nothing.
    expect(d.push(rest!, 20)).toEqual([]);
    expect(timestamps(d.push(vp8Frame(2002, 9000, false)[0]!, 400))).toEqual([6000, 9000]);
    expect(d.droppedFrames).toBe(1);

    // The same while a first packet (a continuation) still waits for its frame's start.
    const fresh = new Depacketizer('vp8');
    expect(fresh.push(vp8Frame(4, 0, true, 2)[1]!, 0)).toEqual([]);
    expect(fresh.push(vp8Frame(1500, 3000, true)[0]!, 1)).toEqual([]);
    expect(timestamps(fresh.push(vp8Frame(1501, 6000, false)[0]!, 400))).toEqual([3000, 6000]);
  });
});

const ffmpeg = '/usr/bin/ffmpeg';
const ffprobe = '/usr/bin/ffprobe';
const haveFfmpeg = existsSync(ffmpeg) && existsSync(ffprobe);

/** Runs ffmpeg's RTP muxer (`-f rtp`) at real-time pace to a local UDP port, returns the packets. */
async function ffmpegRtp(encoder: string[]): Promise<Buffer[]> {
  const socket = createSocket('udp4');
  const packets: Buffer[] = [];
  socket.on('message', (packet) => packets.push(packet));
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  const child = spawn(
    ffmpeg,
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x240:rate=30',
      '-t',
      '1',
      ...encoder,
      '-f',
      'rtp',
      '-payload_type',
      '96',
      `rtp://127.0.0.1:${port}?pkt_size=1200`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  await new Promise((resolve) => setTimeout(resolve, 100));
  socket.close();
  expect(code, stderr).toBe(0);
  return packets;
}

function depacketizeAll(codec: DepacketizerCodec, packets: Buffer[]) {
  const d = new Depacketizer(codec);
  const frames: EncodedFrame[] = [];
  packets.forEach((raw, i) => {
    const packet = normalizeRtp(raw);
    if (packet && !isRtcp(packet)) frames.push(...d.push(packet, i));
  });
  return { frames, dropped: d.droppedFrames };
}

/** Frames ffprobe decodes from a file (its own count, not the container's). */
function probeFrames(file: string): number {
  const result = spawnSync(
    ffprobe,
    [
      '-v',
      'error',
      '-count_frames',
      '-show_entries',
      'stream=nb_read_frames',
      '-of',
      'csv=p=0',
      file,
    ],
    { encoding: 'utf8' },
  );
  expect(result.stderr).toBe('');
  return Number(result.stdout.trim());
}

describe.skipIf(!haveFfmpeg)('ffmpeg RTP output (skipped: /usr/bin/ffmpeg not installed)', () => {
  it('H.264 baseline from libx264: 1 s at 30 fps, keyframe first, all decodable', async () => {
    const packets = await ffmpegRtp([
      '-c:v',
      'libx264',
      '-profile:v',
      'baseline',
      '-pix_fmt',
      'yuv420p',
      '-g',
      '30',
      '-tune',
      'zerolatency',
    ]);
    const { frames, dropped } = depacketizeAll('h264', packets);
    expect(frames.length).toBeGreaterThanOrEqual(25);
    expect(frames.length).toBeLessThanOrEqual(30);
    expect(frames[0]!.keyframe).toBe(true);
    expect(dropped).toBe(0);
    const dir = mkdtempSync(path.join(tmpdir(), 'depacketize-'));
    try {
      const file = path.join(dir, 'out.h264');
      writeFileSync(file, Buffer.concat(frames.map((f) => f.data)));
      expect(probeFrames(file)).toBe(frames.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('VP8 from libvpx: 1 s at 30 fps, keyframe first, all decodable', async () => {
    const packets = await ffmpegRtp([
      '-c:v',
      'libvpx',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-g',
      '30',
      '-b:v',
      '500k',
    ]);
    const { frames, dropped } = depacketizeAll('vp8', packets);
    expect(frames.length).toBeGreaterThanOrEqual(25);
    expect(frames.length).toBeLessThanOrEqual(30);
    expect(frames[0]!.keyframe).toBe(true);
    expect(frames.slice(1).some((f) => f.keyframe)).toBe(false);
    expect(dropped).toBe(0);
    // IVF (the libvpx container): 32-byte file header, then 12-byte frame headers.
    const header = Buffer.alloc(32);
    header.write('DKIF', 0, 'latin1');
    header.writeUInt16LE(0, 4);
    header.writeUInt16LE(32, 6);
    header.write('VP80', 8, 'latin1');
    header.writeUInt16LE(320, 12);
    header.writeUInt16LE(240, 14);
    header.writeUInt32LE(90000, 16);
    header.writeUInt32LE(1, 20);
    header.writeUInt32LE(frames.length, 24);
    const parts: Buffer[] = [header];
    for (const frame of frames) {
      const head = Buffer.alloc(12);
      head.writeUInt32LE(frame.data.length, 0);
      head.writeBigUInt64LE(BigInt(frame.rtpTimestamp - frames[0]!.rtpTimestamp), 4);
      parts.push(head, frame.data);
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'depacketize-'));
    try {
      const file = path.join(dir, 'out.ivf');
      writeFileSync(file, Buffer.concat(parts));
      expect(probeFrames(file)).toBe(frames.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
