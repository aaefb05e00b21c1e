/**
 * Reading an image's declared size from its header, without decoding it: real files encoded by
 * Chromium, the same files with their sizes rewritten, and headers cut short or malformed.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../src/live/errors';
import { checkImageSize, fitsWithin, readImageHeader } from '../src/live/image-header';
import {
  jpeg,
  jpegDeclaring,
  markerAt,
  png,
  riff,
  vp8Declaring,
  vp8l,
  vp8x,
  webp,
  webpDeclaring,
} from './support/images';

const fourK = { width: 3840, height: 2160 };

describe('image header', () => {
  it('reads the size of the JPEG and WebP thumbnails a browser encodes', () => {
    expect(readImageHeader(jpeg)).toEqual({ type: 'image/jpeg', width: 64, height: 36 });
    expect(readImageHeader(webp)).toEqual({ type: 'image/webp', width: 64, height: 36 });
  });

  it('reads the size a JPEG declares in its first frame header, whichever kind of frame', () => {
    expect(readImageHeader(jpegDeclaring(65500, 65500))).toMatchObject({
      width: 65500,
      height: 65500,
    });
    // Progressive (C2), lossless (C3), arithmetic (C9, CA) and the rest of the SOFn markers.
    for (const sof of [0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]) {
      expect(readImageHeader(jpegDeclaring(4000, 3000, sof)), sof.toString(16)).toMatchObject({
        width: 4000,
        height: 3000,
      });
    }
    // Fill bytes before a marker (T.81 §B.1.1.2) are skipped.
    const at = markerAt(jpeg, 0xc0);
    const filled = Buffer.concat([
      jpeg.subarray(0, at),
      Buffer.from([0xff, 0xff]),
      jpeg.subarray(at),
    ]);
    expect(readImageHeader(filled)).toMatchObject({ width: 64, height: 36 });
  });

  it('gives no size for a JPEG cut short, without a frame header, or with a height left to DNL', () => {
    const sof = markerAt(jpeg, 0xc0);
    const sos = markerAt(jpeg, 0xda);
    const withoutFrame = Buffer.concat([jpeg.subarray(0, sof), jpeg.subarray(sos)]);
    const broken = Buffer.from(jpeg);
    broken[sof] = 0x00; // where the frame's marker was, something that is no marker
    for (const [what, bytes] of [
      ['SOI only', Buffer.from([0xff, 0xd8, 0xff])],
      ['cut inside the frame header', jpeg.subarray(0, sof + 6)],
      ['cut before the frame header', jpeg.subarray(0, sof)],
      ['scan before any frame', withoutFrame],
      ['height 0', jpegDeclaring(64, 0)],
      ['width 0', jpegDeclaring(0, 36)],
      ['garbage between segments', broken],
    ] as const) {
      expect(readImageHeader(bytes), what).toBeUndefined();
    }
  });

  it('reads the size a WebP declares: lossy, lossless, and extended (the larger of canvas and bitstream)', () => {
    expect(readImageHeader(riff(['VP8 ', vp8Declaring(16383, 16383)]))).toMatchObject({
      width: 16383,
      height: 16383,
    });
    expect(readImageHeader(riff(['VP8L', vp8l(16384, 9000)]))).toMatchObject({
      width: 16384,
      height: 9000,
    });
    expect(readImageHeader(webpDeclaring(65500, 65500))).toMatchObject({
      width: 65500,
      height: 65500,
    });
    expect(readImageHeader(riff(['VP8X', vp8x(1 << 24, 1 << 24)]))).toMatchObject({
      width: 1 << 24,
      height: 1 << 24,
    });
    // A small canvas over a large still image.
    expect(
      readImageHeader(riff(['VP8X', vp8x(64, 36)], ['VP8 ', vp8Declaring(9000, 36)])),
    ).toMatchObject({ width: 9000, height: 36 });
  });

  it('gives no size for a WebP cut short or without a bitstream chunk first', () => {
    for (const [what, bytes] of [
      ['RIFF header only', webp.subarray(0, 12)],
      ['cut inside VP8X', webp.subarray(0, 25)],
      ['VP8 without its start code', riff(['VP8 ', Buffer.alloc(10)])],
      ['VP8L without its signature', riff(['VP8L', Buffer.alloc(5)])],
      ['another chunk first', riff(['ICCP', Buffer.alloc(4)], ['VP8 ', vp8Declaring(64, 36)])],
      [
        'cut inside the bitstream chunk after VP8X',
        riff(['VP8X', vp8x(64, 36)], ['VP8 ', Buffer.alloc(4)]),
      ],
    ] as const) {
      expect(readImageHeader(bytes), what).toBeUndefined();
    }
  });

  it('reads the size a PNG declares in IHDR', () => {
    expect(readImageHeader(png(65500, 65500))).toEqual({
      type: 'image/png',
      width: 65500,
      height: 65500,
    });
    expect(readImageHeader(png(0, 10))).toBeUndefined();
    expect(readImageHeader(png(10, 10).subarray(0, 20))).toBeUndefined();
  });

  it('fits a size within a limit in either orientation', () => {
    expect(fitsWithin({ width: 3840, height: 2160 }, fourK)).toBe(true);
    expect(fitsWithin({ width: 2160, height: 3840 }, fourK)).toBe(true);
    expect(fitsWithin({ width: 3841, height: 100 }, fourK)).toBe(false);
    expect(fitsWithin({ width: 2161, height: 2161 }, fourK)).toBe(false);
    expect(fitsWithin({ width: 512, height: 512 }, { width: 512, height: 512 })).toBe(true);
  });

  it('refuses an image larger than the limit, or whose size cannot be read, with a clear error', () => {
    expect(checkImageSize(jpeg, fourK, 'The thumbnail')).toEqual({ width: 64, height: 36 });
    const refusal = (bytes: Buffer) => {
      try {
        checkImageSize(bytes, fourK, 'The thumbnail');
      } catch (error) {
        expect(error).toBeInstanceOf(AppError);
        return (error as AppError).toBody();
      }
      throw new Error('accepted');
    };
    expect(refusal(jpegDeclaring(65500, 65500))).toEqual({
      code: 'payload_too_large',
      message: 'The thumbnail is 65500×65500 pixels; at most 3840×2160',
    });
    expect(refusal(jpeg.subarray(0, 100))).toEqual({
      code: 'invalid_input',
      message: "The thumbnail's size cannot be read from its header",
    });
  });
});
