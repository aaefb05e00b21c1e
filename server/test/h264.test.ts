/**
 * H.264 over RTP (RFC 6184): which payloads start a keyframe, and the picture size the SPS they
 * carry declares (ITU-T H.264 §7.3.2.1.1), in each packetization: single NAL unit (§5.6),
 * STAP-A (§5.7.1) and FU-A (§5.8).
 */
import { describe, expect, it } from 'vitest';
import { h264KeyframeSize } from '../src/media/h264';
import { keyframeSize, startsKeyframe } from '../src/media/keyframes';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
/** A 12-byte RTP header (RFC 3550 §5.1) in front of the payload, so `at` is not 0. */
const rtp = (payload: Buffer): Buffer =>
  Buffer.concat([hex('80 66 00 01 00 00 0b b8 ca fe ba be'), payload]);
const at = 12;

/**
 * SPS NAL units (header octet 67: NRI 3, type 7), each with the size it declares.
 *
 * Constrained baseline as WebRTC's software encoder sends it, hand-encoded field by field
 * (profile_idc 66, constraint_set0+1 c0, then ue(v) codes): for 640x360,
 *   8d     1 sps_id 0 | 0001101 log2_max_frame_num_minus4 12
 *   68     011 poc_type 2 | 010 max_num_ref_frames 1 | 0 gaps | 0…
 *   0a 02  …0000101000 pic_width_in_mbs_minus1 39 (640) | 00001…
 *   ff     …0111 pic_height_in_map_units_minus1 22 (368) | 1 frame_mbs_only | 1 direct_8x8 |
 *          1 frame_cropping | 1 left 0 | 1 right 0
 *   95     1 top 0 | 00101 bottom 4 (4:2:0, frame: 2 rows a unit, 368 − 8 = 360) | 0 vui | 1 stop
 * 1280x720 is 80x45 macroblocks, uncropped; 320x180 crops 12 rows of 192.
 */
const baseline640x360 = hex('67 42 c0 1e 8d 68 0a 02 ff 95');
const baseline1280x720 = hex('67 42 c0 1f 8d 68 05 00 5b 90');
const baseline320x180 = hex('67 42 c0 0c 8d 68 14 19 f9 d0');
/**
 * x264's High profile (64) level 4.0 SPS for 1920x1080, as OBS sends: chroma_format_idc 1 and
 * bit depths in the high-profile branch, 120x68 macroblocks (1088 rows) cropped by
 * frame_crop_bottom_offset 4 (8 rows), emulation prevention bytes (00 00 03) in the VUI.
 */
const x264High1920x1080 = hex(
  '67 64 00 28 ac d9 40 78 02 27 e5 c0 44 00 00 03 00 04 00 00 03 00 f0 3c 60 c6 58',
);
/**
 * ffmpeg's SPS with profile_idc 122 (High 4:2:2) and emulation prevention bytes inside the
 * fields read, for camera captures (libwebrtc's common_video/h264/sps_parser_unittest.cc vectors):
 * 640x360 cropped from 368 rows, 200x400 cropped both ways.
 */
const ffmpeg640x360 = hex(
  '67 7a 00 1e bc d9 40 a0 2f f8 98 40 00 00 03 01 80 00 00 56 83 c5 8b 65 80',
);
const ffmpeg200x400 = hex(
  '67 7a 00 0d bc d9 43 43 3e 5e 10 00 00 03 00 60 00 00 15 a0 f1 42 99 60',
);
/** A 1920x1080 High profile SPS with seq_scaling_matrix_present_flag and scaling lists (same source). */
const scalingLists1920x1080 = hex(
  '67 64 00 2a ad 84 01 0c 20 08 61 00 43 08 02 18 40 10 c2 00 84 3b 50 3c 01 13 f2 cd c0 40 40 50 00 00 00 10 00 00 01 e8 40',
);
const pps = hex('68 ce 3c 80');
const idrSlice = hex('65 88 84 00 33 ff');
const nonIdrSlice = hex('41 9a 24 6c 41 ff');

/** STAP-A (§5.7.1): header octet 78 (NRI 3, type 24), then 16-bit size + NAL unit, repeated. */
function stapA(...nals: Buffer[]): Buffer {
  return Buffer.concat([
    Buffer.from([0x78]),
    ...nals.flatMap((nal) => [Buffer.from([nal.length >> 8, nal.length & 0xff]), nal]),
  ]);
}

/** FU-A (§5.8): indicator (NRI of the NAL, type 28), header S|E|R|type, then the NAL's payload. */
function fuA(nal: Buffer, from: number, to: number, start: boolean, end: boolean): Buffer {
  const header = (nal[0] as number) & 0x1f;
  return Buffer.concat([
    Buffer.from([((nal[0] as number) & 0xe0) | 28, (start ? 0x80 : 0) | (end ? 0x40 : 0) | header]),
    nal.subarray(1 + from, 1 + to),
  ]);
}

describe('H.264 keyframe start (RFC 6184)', () => {
  const starts = (payload: Buffer) => startsKeyframe('video/H264', rtp(payload), at);

  it('sees a single IDR or SPS NAL unit (§5.6), not a non-IDR slice or a PPS', () => {
    expect(starts(idrSlice)).toBe(true);
    expect(starts(baseline640x360)).toBe(true);
    expect(starts(nonIdrSlice)).toBe(false);
    expect(starts(pps)).toBe(false);
    // The NRI bits do not matter: 25 is an IDR with NRI 1.
    expect(starts(hex('25 88 84 00'))).toBe(true);
  });

  it('sees an SPS or IDR anywhere in a STAP-A (§5.7.1)', () => {
    expect(starts(stapA(baseline640x360, pps))).toBe(true);
    expect(starts(stapA(pps, idrSlice))).toBe(true);
    expect(starts(stapA(hex('06 05 02 aa bb'), pps))).toBe(false);
  });

  it('sees only the first FU-A fragment (S bit) of an IDR or SPS (§5.8)', () => {
    const idr = Buffer.concat([hex('65'), Buffer.alloc(3000, 0x5a)]);
    expect(starts(fuA(idr, 0, 1000, true, false))).toBe(true);
    expect(starts(fuA(idr, 1000, 2000, false, false))).toBe(false);
    expect(starts(fuA(idr, 2000, 2999, false, true))).toBe(false);
    const slice = Buffer.concat([hex('41'), Buffer.alloc(3000, 0x5a)]);
    expect(starts(fuA(slice, 0, 1000, true, false))).toBe(false);
  });

  it('is false for a payload too short to tell', () => {
    expect(starts(hex('65'))).toBe(false);
    expect(starts(Buffer.alloc(0))).toBe(false);
  });
});

describe('H.264 SPS size (ITU-T H.264 §7.3.2.1.1)', () => {
  const size = (payload: Buffer) => h264KeyframeSize(rtp(payload), at);

  it('reads constrained baseline sizes, cropped where the height is no multiple of 16', () => {
    expect(size(baseline640x360)).toEqual({ width: 640, height: 360 });
    expect(size(baseline1280x720)).toEqual({ width: 1280, height: 720 });
    expect(size(baseline320x180)).toEqual({ width: 320, height: 180 });
  });

  it('reads high profiles: chroma format, bit depths, scaling lists and cropping', () => {
    expect(size(x264High1920x1080)).toEqual({ width: 1920, height: 1080 });
    expect(size(ffmpeg640x360)).toEqual({ width: 640, height: 360 });
    expect(size(ffmpeg200x400)).toEqual({ width: 200, height: 400 });
    expect(size(scalingLists1920x1080)).toEqual({ width: 1920, height: 1080 });
  });

  it('finds the SPS in a STAP-A, wherever it lies', () => {
    expect(size(stapA(baseline1280x720, pps))).toEqual({ width: 1280, height: 720 });
    expect(size(stapA(hex('06 05 02 aa bb'), pps, x264High1920x1080))).toEqual({
      width: 1920,
      height: 1080,
    });
    expect(size(stapA(pps, idrSlice))).toBeUndefined();
  });

  it('reads the SPS from a FU-A first fragment, whose NAL header octet is not carried', () => {
    const whole = x264High1920x1080.length - 1;
    expect(size(fuA(x264High1920x1080, 0, whole, true, true))).toEqual({
      width: 1920,
      height: 1080,
    });
    expect(size(fuA(x264High1920x1080, 0, whole, false, true))).toBeUndefined();
    const idr = Buffer.concat([hex('65'), x264High1920x1080.subarray(1)]);
    expect(size(fuA(idr, 0, whole, true, true))).toBeUndefined();
  });

  it('gives none for a payload without an SPS, an SPS cut short or a STAP-A that lies', () => {
    expect(size(idrSlice)).toBeUndefined();
    expect(size(pps)).toBeUndefined();
    // Cut inside pic_height_in_map_units_minus1.
    expect(size(baseline640x360.subarray(0, 8))).toBeUndefined();
    expect(size(x264High1920x1080.subarray(0, 9))).toBeUndefined();
    // A STAP-A whose first size runs past the packet.
    expect(size(Buffer.concat([hex('78 00 40'), baseline640x360]))).toBeUndefined();
    // Cropping that leaves nothing: 16 columns, crop_right 8 chroma units = 16 pixels.
    //   8d 69  as above to gaps 0, then 1 pic_width_in_mbs_minus1 0
    //   f8     1 height_minus1 0 | 1 frame_mbs_only | 1 direct | 1 cropping | 1 left 0 | 000…
    //   9d     …1001 right 8 | 1 top 0 | 1 bottom 0 | 0 vui | 1 stop
    const croppedAway = hex('67 42 c0 1e 8d 69 f8 9d');
    expect(size(croppedAway)).toBeUndefined();
    const right7 = hex('67 42 c0 1e 8d 69 f8 8d'); // right 7 (0001000): 2 columns are left
    expect(size(right7)).toEqual({ width: 2, height: 16 });
  });
});

describe('keyframeSize dispatches on the codec', () => {
  it('reads VP8 key frames, H.264 SPS, and nothing else', () => {
    // RFC 7741 §4.2 descriptor 10 (S, PID 0), then a 640x360 key frame header (RFC 6386 §9.1).
    const vp8Key = rtp(hex('10 50 fa 01 9d 01 2a 80 02 68 01'));
    expect(keyframeSize('video/VP8', vp8Key, at)).toEqual({ width: 640, height: 360 });
    const vp8Delta = rtp(hex('10 51 fa 01 9d 01 2a 80 02 68 01'));
    expect(keyframeSize('video/vp8', vp8Delta, at)).toBeUndefined();
    expect(keyframeSize('video/H264', rtp(stapA(baseline640x360, pps)), at)).toEqual({
      width: 640,
      height: 360,
    });
    expect(keyframeSize('audio/opus', rtp(baseline640x360), at)).toBeUndefined();
  });
});
