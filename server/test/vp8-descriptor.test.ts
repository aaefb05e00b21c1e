/**
 * The VP8 payload descriptor (RFC 7741 §4.2) read and patched where it lies in an RTP packet,
 * and the size a key frame declares (RFC 6386 §9.1): every optional field alone and together,
 * wraps of the rewritten counters, packets cut short, and ffmpeg's real 1280x720 packets.
 */
import { describe, expect, it } from 'vitest';
import { startsKeyframe } from '../src/media/keyframes';
import { normalizeRtp, rtpHeaderLength } from '../src/media/rtp';
import {
  readVp8,
  vp8KeyframeSize,
  writeVp8PictureId,
  writeVp8Tl0PicIdx,
  type Vp8Descriptor,
} from '../src/media/vp8';
import { loadFixture } from './support/rtp-fixture';

/** A 12-byte RTP header (RFC 3550 §5.1, PT 96) in front of `payload`, so offsets are absolute. */
const rtp = (...payload: number[]): Buffer =>
  Buffer.from([0x80, 0x60, 0x12, 0x34, 0, 0, 0x0b, 0xb8, 0xca, 0xfe, 0xba, 0xbe, ...payload]);
const at = rtpHeaderLength;

// First 7 payload octets of ffmpeg's first 1280x720 key frame packet in server/test/fixtures/av.rtp:
// frame tag 50 fa 01 (P bit 0: key frame), start code 9d 01 2a, width 0x0500 and height
// 0x02d0 little-endian (RFC 6386 §9.1).
const keyframeHeader = [0x50, 0xfa, 0x01, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02];
// A delta frame's tag: P bit (bit 0 of the first octet) set (RFC 6386 §9.1, RFC 7741 §4.3).
const deltaHeader = [0xd1, 0x8b, 0x00, 0xe5, 0x37];

const absent = {
  pictureId: undefined,
  pictureIdAt: -1,
  pictureIdLong: false,
  tl0PicIdx: undefined,
  tl0PicIdxAt: -1,
  temporalId: undefined,
  layerSync: false,
};

describe('VP8 payload descriptor (RFC 7741 §4.2)', () => {
  it('reads the one-octet form: no X, so no picture id, TL0PICIDX or TID', () => {
    // |X=0|R|N=0|S=1|R|PID=0| then the key frame's header.
    expect(readVp8(rtp(0x10, ...keyframeHeader), at)).toEqual<Vp8Descriptor>({
      ...absent,
      start: true,
      partition: 0,
      payloadAt: 13,
      keyframe: true,
    });
  });

  it('reads a 7-bit picture id (X, I, M=0)', () => {
    // 90: X S; 80: I; 25: M=0, picture id 0x25.
    expect(readVp8(rtp(0x90, 0x80, 0x25, ...deltaHeader), at)).toEqual<Vp8Descriptor>({
      ...absent,
      start: true,
      partition: 0,
      pictureId: 0x25,
      pictureIdAt: 14,
      payloadAt: 15,
      keyframe: false,
    });
  });

  it('reads a 15-bit picture id (M=1), as ffmpeg and Chromium send it', () => {
    // 81 23: M=1, picture id 0x0123.
    expect(readVp8(rtp(0x90, 0x80, 0x81, 0x23, ...keyframeHeader), at)).toMatchObject({
      pictureId: 0x0123,
      pictureIdAt: 14,
      pictureIdLong: true,
      payloadAt: 16,
      keyframe: true,
    });
  });

  it('reads TL0PICIDX (L) after the picture id', () => {
    // c0: I L; 80 01: picture id 1 (15-bit); 07: TL0PICIDX.
    expect(readVp8(rtp(0x90, 0xc0, 0x80, 0x01, 0x07, ...deltaHeader), at)).toMatchObject({
      pictureId: 1,
      tl0PicIdx: 7,
      tl0PicIdxAt: 16,
      temporalId: undefined,
      payloadAt: 17,
    });
    // L alone, without I.
    expect(readVp8(rtp(0x90, 0x40, 0xff, ...deltaHeader), at)).toMatchObject({
      ...absent,
      tl0PicIdx: 255,
      tl0PicIdxAt: 14,
      payloadAt: 15,
    });
  });

  it('reads TID and the Y bit (T) in the T/K octet, and nothing from it with K alone', () => {
    // e0: I L T; ff ff: picture id 0x7fff; 2a: TL0PICIDX; 60: TID=1 Y=1 KEYIDX=0.
    expect(readVp8(rtp(0x90, 0xe0, 0xff, 0xff, 0x2a, 0x60, ...keyframeHeader), at)).toEqual({
      start: true,
      partition: 0,
      pictureId: 0x7fff,
      pictureIdAt: 14,
      pictureIdLong: true,
      tl0PicIdx: 0x2a,
      tl0PicIdxAt: 16,
      temporalId: 1,
      layerSync: true,
      payloadAt: 18,
      keyframe: true,
    });
    // 20: T; 80: TID=2, Y=0.
    expect(readVp8(rtp(0x90, 0x20, 0x80, ...deltaHeader), at)).toMatchObject({
      temporalId: 2,
      layerSync: false,
      payloadAt: 15,
    });
    // 10: K only; the octet still takes its place, its TID and Y bits mean nothing (§4.2).
    expect(readVp8(rtp(0x90, 0x10, 0xe5, ...deltaHeader), at)).toMatchObject({
      temporalId: undefined,
      layerSync: false,
      payloadAt: 15,
    });
  });

  it('calls only the first packet of partition 0 of a P=0 frame a key frame (§4.3)', () => {
    const keyframe = (...bytes: number[]) => readVp8(rtp(...bytes), at)?.keyframe;
    expect(keyframe(0x90, 0x80, 0x05, ...keyframeHeader)).toBe(true);
    // S=0: a continuation packet, whatever its first octet looks like.
    expect(keyframe(0x80, 0x80, 0x05, ...keyframeHeader)).toBe(false);
    // S=1 but PID=1: the start of the second partition.
    expect(keyframe(0x91, 0x80, 0x05, ...keyframeHeader)).toBe(false);
    // P bit set: an interframe.
    expect(keyframe(0x90, 0x80, 0x05, ...deltaHeader)).toBe(false);
    expect(readVp8(rtp(0x93, 0x80, 0x05, ...deltaHeader), at)).toMatchObject({
      start: true,
      partition: 3,
    });
  });

  it('gives nothing for a packet that ends inside the descriptor or before any payload', () => {
    for (const [what, bytes] of [
      ['no payload at all', []],
      ['X set, no X octet', [0x90]],
      ['I set, no picture id', [0x90, 0x80]],
      ['M set, one octet of a 15-bit picture id', [0x90, 0x80, 0x81]],
      ['L set, no TL0PICIDX', [0x90, 0xc0, 0x81, 0x23]],
      ['T set, no T/K octet', [0x90, 0xe0, 0x81, 0x23, 0x07]],
      ['K set, no T/K octet', [0x90, 0x10]],
      ['a whole descriptor and no VP8 payload', [0x90, 0xe0, 0x81, 0x23, 0x07, 0x40]],
      ['one-octet descriptor and no VP8 payload', [0x10]],
    ] as const) {
      expect(readVp8(rtp(...bytes), at), what).toBeUndefined();
    }
    expect(readVp8(Buffer.from([0x10, 0x50]), 5), 'offset past the end').toBeUndefined();
  });
});

describe('rewriting picture id and TL0PICIDX in place', () => {
  const read = (packet: Buffer) => readVp8(packet, at) as Vp8Descriptor;

  it('wraps a 15-bit picture id from 0x7fff to 0 and keeps M set and the rest untouched', () => {
    const packet = rtp(0x90, 0xe0, 0xff, 0xff, 0x2a, 0x60, ...keyframeHeader);
    const before = Buffer.from(packet);
    const d = read(packet);
    writeVp8PictureId(packet, d, d.pictureId! + 1);
    expect(packet.subarray(14, 16)).toEqual(Buffer.from([0x80, 0x00]));
    expect(read(packet)).toMatchObject({ pictureId: 0, pictureIdLong: true, tl0PicIdx: 0x2a });
    writeVp8PictureId(packet, d, 0x1234);
    expect(read(packet).pictureId).toBe(0x1234);
    expect(packet.subarray(0, 14)).toEqual(before.subarray(0, 14));
    expect(packet.subarray(16)).toEqual(before.subarray(16));
  });

  it('wraps a 7-bit picture id from 0x7f to 0, keeping it one octet with M clear', () => {
    const packet = rtp(0x90, 0x80, 0x7f, ...deltaHeader);
    const before = Buffer.from(packet);
    const d = read(packet);
    writeVp8PictureId(packet, d, d.pictureId! + 1);
    expect(packet[14]).toBe(0x00);
    // A 15-bit value written to a 7-bit field keeps its low 7 bits (M stays clear).
    writeVp8PictureId(packet, d, 0x7fff);
    expect(packet[14]).toBe(0x7f);
    writeVp8PictureId(packet, d, 0x0185);
    expect(read(packet)).toMatchObject({ pictureId: 0x05, pictureIdLong: false, payloadAt: 15 });
    expect(packet.subarray(15)).toEqual(before.subarray(15));
  });

  it('wraps TL0PICIDX from 255 to 0', () => {
    const packet = rtp(0x90, 0xc0, 0x80, 0x01, 0xff, ...deltaHeader);
    const d = read(packet);
    writeVp8Tl0PicIdx(packet, d, d.tl0PicIdx! + 1);
    expect(read(packet)).toMatchObject({ pictureId: 1, tl0PicIdx: 0 });
    writeVp8Tl0PicIdx(packet, d, -1);
    expect(read(packet).tl0PicIdx).toBe(255);
  });

  it('leaves a packet without those fields alone', () => {
    const packet = rtp(0x90, 0x20, 0x80, ...deltaHeader);
    const before = Buffer.from(packet);
    const d = read(packet);
    writeVp8PictureId(packet, d, 5);
    writeVp8Tl0PicIdx(packet, d, 5);
    expect(packet).toEqual(before);
  });
});

describe('VP8 key frame size (RFC 6386 §9.1)', () => {
  it('reads 1280x720 from ffmpeg’s key frame header', () => {
    const packet = rtp(0x90, 0x80, 0x80, 0x00, ...keyframeHeader);
    expect(vp8KeyframeSize(packet, readVp8(packet, at)!)).toEqual({ width: 1280, height: 720 });
  });

  it('reads the 14-bit sizes without the scale bits above them', () => {
    // width 320 | horizontal_scale 1 << 14 = 0x4140, height 180 | vertical_scale 2 << 14 = 0x80b4.
    const packet = rtp(0x10, 0x50, 0xfa, 0x01, 0x9d, 0x01, 0x2a, 0x40, 0x41, 0xb4, 0x80);
    expect(vp8KeyframeSize(packet, readVp8(packet, at)!)).toEqual({ width: 320, height: 180 });
    // Both scale bits set: 640 | 3 << 14 = 0xc280, 360 | 3 << 14 = 0xc168.
    const both = rtp(0x10, 0x50, 0xfa, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0xc2, 0x68, 0xc1);
    expect(vp8KeyframeSize(both, readVp8(both, at)!)).toEqual({ width: 640, height: 360 });
  });

  it('gives none for a delta frame, a wrong start code or a header cut short', () => {
    const size = (packet: Buffer) => vp8KeyframeSize(packet, readVp8(packet, at)!);
    expect(size(rtp(0x10, ...deltaHeader, 0, 0, 0, 0, 0))).toBeUndefined();
    expect(size(rtp(0x10, 0x50, 0xfa, 0x01, 0x9d, 0x01, 0x2b, 0x00, 0x05, 0xd0, 0x02))).toBe(
      undefined,
    );
    expect(size(rtp(0x10, ...keyframeHeader.slice(0, 9)))).toBeUndefined();
    // The first packet of a key frame's second partition has no frame header.
    expect(size(rtp(0x11, ...keyframeHeader))).toBeUndefined();
  });
});

describe('ffmpeg’s VP8 packets (server/test/fixtures/av.rtp)', () => {
  const video = loadFixture()
    .filter((p) => p.kind === 'video')
    .map((p) => normalizeRtp(p.packet.serialize())!);

  it('all parse, agree with startsKeyframe, and every key frame is 1280x720', () => {
    let keyframes = 0;
    for (const packet of video) {
      const d = readVp8(packet, at);
      expect(d).toBeDefined();
      expect(d!.keyframe).toBe(startsKeyframe('video/VP8', packet, at));
      if (!d!.keyframe) continue;
      keyframes += 1;
      expect(vp8KeyframeSize(packet, d!)).toEqual({ width: 1280, height: 720 });
    }
    // A key frame a second over a recording of several seconds.
    expect(keyframes).toBeGreaterThanOrEqual(3);
  });

  it('carry one 15-bit picture id per frame, counting up by one', () => {
    const ids: number[] = [];
    for (const packet of video) {
      const d = readVp8(packet, at)!;
      expect(d.pictureIdLong).toBe(true);
      if (d.start && d.partition === 0) ids.push(d.pictureId!);
    }
    for (let i = 1; i < ids.length; i += 1) expect(ids[i]).toBe((ids[i - 1]! + 1) & 0x7fff);
  });
});
