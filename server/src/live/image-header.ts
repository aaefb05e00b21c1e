/**
 * What an uploaded image says about itself in its first bytes: its format and the size a browser
 * will decode it to. Read from the header alone, never by decoding: a 200 KB file may declare
 * 65500×65500 pixels, and it is every viewer's browser that would pay for it.
 */
import { AppError } from './errors';

export type ImageType = 'image/jpeg' | 'image/webp' | 'image/png';

export interface ImageSize {
  width: number;
  height: number;
}

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

const ascii = (bytes: Uint8Array, from: number, to: number): string =>
  asBuffer(bytes).toString('latin1', from, to);

const pngSignature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * The image type the bytes themselves announce, whatever the request said: JPEG starts with an
 * SOI marker and the next marker's FF (FF D8 FF); WebP is a RIFF container of form type "WEBP";
 * PNG has its eight-byte signature (PNG §5.2).
 */
export function sniffImageType(bytes: Uint8Array): ImageType | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
    return 'image/jpeg';
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP')
    return 'image/webp';
  if (bytes.length >= 8 && pngSignature.every((byte, i) => bytes[i] === byte)) return 'image/png';
  return undefined;
}

/**
 * SOFn markers (ITU T.81 Table B.1): C0–C3, C5–C7, C9–CB, CD–CF. C4 (DHT), C8 (JPG) and CC (DAC)
 * share the range but are not frames.
 */
const isStartOfFrame = (marker: number): boolean =>
  marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

/**
 * A JPEG's size from its frame header (T.81 §B.2.2: length, precision, Y, X), found by walking
 * the marker segments before the first scan. A decoder takes the first frame header; a height of
 * 0 (left to a DNL marker after the scan) is not accepted.
 */
function jpegSize(b: Buffer): ImageSize | undefined {
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return undefined;
    const marker = b.readUInt8(at + 1);
    // Fill bytes (T.81 §B.1.1.2): any number of FF before a marker.
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    // Markers that stand alone, without a length: TEM, RSTn.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    // A second SOI, the end of the image, or the first scan: no frame header came before.
    if (marker === 0xd8 || marker === 0xd9 || marker === 0xda) return undefined;
    const length = b.readUInt16BE(at + 2);
    if (length < 2) return undefined;
    if (isStartOfFrame(marker)) {
      if (length < 7 || at + 9 > b.length) return undefined;
      const height = b.readUInt16BE(at + 5);
      const width = b.readUInt16BE(at + 7);
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    at += 2 + length;
  }
  return undefined;
}

/**
 * The size a WebP bitstream declares in its chunk `fourcc` whose payload starts at `at`:
 * - `VP8 ` (lossy, RFC 6386 §9.1): a 3-byte frame tag, start code 9D 01 2A, then 14-bit width
 *   and height in 16 bits each, whose top 2 bits ask for an upscaling a decoder does not apply;
 * - `VP8L` (lossless, WebP Lossless §3.2): signature 2F, then 14-bit width − 1 and height − 1;
 * - `VP8X` (extended, WebP Container §"Extended File Format"): 4 bytes of flags, then 24-bit
 *   canvas width − 1 and height − 1.
 */
function webpChunkSize(b: Buffer, fourcc: string, at: number): ImageSize | undefined {
  if (fourcc === 'VP8 ') {
    if (at + 10 > b.length || b[at + 3] !== 0x9d || b[at + 4] !== 0x01 || b[at + 5] !== 0x2a)
      return undefined;
    return { width: b.readUInt16LE(at + 6) & 0x3fff, height: b.readUInt16LE(at + 8) & 0x3fff };
  }
  if (fourcc === 'VP8L') {
    if (at + 5 > b.length || b[at] !== 0x2f) return undefined;
    const bits = b.readUInt32LE(at + 1);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (fourcc === 'VP8X') {
    if (at + 10 > b.length) return undefined;
    return { width: b.readUIntLE(at + 4, 3) + 1, height: b.readUIntLE(at + 7, 3) + 1 };
  }
  return undefined;
}

/**
 * A WebP's size. A simple file is one `VP8 ` or `VP8L` chunk; an extended one declares its
 * canvas in `VP8X`, and a still image's bitstream follows at the top level: a decoder refuses
 * one that differs from the canvas, but both are read and the larger kept, so no declared size
 * escapes the check.
 */
function webpSize(b: Buffer): ImageSize | undefined {
  let size: ImageSize | undefined;
  let at = 12;
  while (at + 8 <= b.length) {
    const fourcc = ascii(b, at, at + 4);
    const found = webpChunkSize(b, fourcc, at + 8);
    if (fourcc === 'VP8 ' || fourcc === 'VP8L' || fourcc === 'VP8X') {
      if (!found) return undefined;
      size = size
        ? { width: Math.max(size.width, found.width), height: Math.max(size.height, found.height) }
        : found;
      if (fourcc !== 'VP8X') break;
    } else if (!size) {
      return undefined; // the first chunk must say what the file is
    }
    // Chunks are padded to an even length (RIFF).
    const length = b.readUInt32LE(at + 4);
    at += 8 + length + (length % 2);
  }
  return size && size.width > 0 && size.height > 0 ? size : undefined;
}

/** A PNG's size from its IHDR chunk, which must come first (PNG §11.2.2). */
function pngSize(b: Buffer): ImageSize | undefined {
  if (b.length < 24 || ascii(b, 12, 16) !== 'IHDR') return undefined;
  const width = b.readUInt32BE(16);
  const height = b.readUInt32BE(20);
  return width > 0 && height > 0 ? { width, height } : undefined;
}

/**
 * The type and the size an image declares in its header, without decoding it; undefined when it
 * is none of the types read here or its header is malformed or cut short.
 */
export function readImageHeader(bytes: Uint8Array): (ImageSize & { type: ImageType }) | undefined {
  const type = sniffImageType(bytes);
  const b = asBuffer(bytes);
  let size: ImageSize | undefined;
  try {
    size =
      type === 'image/jpeg'
        ? jpegSize(b)
        : type === 'image/webp'
          ? webpSize(b)
          : type === 'image/png'
            ? pngSize(b)
            : undefined;
  } catch (error) {
    // Every read is checked against the length first; a read past the end is a header cut short.
    if (error instanceof RangeError) return undefined;
    throw error;
  }
  return type && size ? { type, ...size } : undefined;
}

/**
 * Whether `size` fits within `max` in either orientation (a portrait frame as a landscape one):
 * its longer side within the longer limit, its shorter within the shorter.
 */
export function fitsWithin(size: ImageSize, max: ImageSize): boolean {
  return (
    Math.max(size.width, size.height) <= Math.max(max.width, max.height) &&
    Math.min(size.width, size.height) <= Math.min(max.width, max.height)
  );
}

/**
 * The size of an uploaded image (`what`: "The thumbnail", "The avatar"), refused when its header
 * cannot be read (`invalid_input`) or declares more than `max` (`payload_too_large`: the same
 * answer as too many bytes, and the same remedy, a smaller image).
 */
export function checkImageSize(bytes: Uint8Array, max: ImageSize, what: string): ImageSize {
  const header = readImageHeader(bytes);
  if (!header) throw AppError.invalidInput(`${what}'s size cannot be read from its header`);
  if (!fitsWithin(header, max)) {
    throw new AppError(
      'payload_too_large',
      `${what} is ${header.width}×${header.height} pixels; at most ${max.width}×${max.height}`,
    );
  }
  return { width: header.width, height: header.height };
}
