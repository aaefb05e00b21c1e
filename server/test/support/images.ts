/** Image files for upload tests: Chromium's own encodings, and the same files declaring other sizes. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');
export const jpeg = readFileSync(path.join(fixtures, 'thumbnail.jpg'));
export const webp = readFileSync(path.join(fixtures, 'thumbnail.webp'));

/** The offset of the first `FF marker` in a JPEG. */
export const markerAt = (bytes: Buffer, marker: number): number => {
  for (let at = 2; at + 1 < bytes.length; at += 1) {
    if (bytes[at] === 0xff && bytes[at + 1] === marker) return at;
  }
  throw new Error(`no marker ${marker.toString(16)}`);
};

/** The fixture JPEG with its frame header (SOF0) declaring another size. */
export function jpegDeclaring(width: number, height: number, sof = 0xc0): Buffer {
  const copy = Buffer.from(jpeg);
  const at = markerAt(copy, 0xc0);
  copy[at + 1] = sof;
  copy.writeUInt16BE(height, at + 5);
  copy.writeUInt16BE(width, at + 7);
  return copy;
}

/** A RIFF WebP file of these chunks. */
export const riff = (...chunks: [fourcc: string, payload: Buffer][]): Buffer => {
  const body = Buffer.concat(
    chunks.map(([fourcc, payload]) => {
      const header = Buffer.alloc(8);
      header.write(fourcc, 0, 'latin1');
      header.writeUInt32LE(payload.length, 4);
      return Buffer.concat([header, payload, Buffer.alloc(payload.length % 2)]);
    }),
  );
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length + 4, 4);
  head.write('WEBP', 8, 'latin1');
  return Buffer.concat([head, body]);
};

/** The fixture's chunks, by fourcc. */
const webpChunks = (): Map<string, Buffer> => {
  const chunks = new Map<string, Buffer>();
  for (let at = 12; at + 8 <= webp.length;) {
    const length = webp.readUInt32LE(at + 4);
    chunks.set(webp.toString('latin1', at, at + 4), webp.subarray(at + 8, at + 8 + length));
    at += 8 + length + (length % 2);
  }
  return chunks;
};

/** The fixture's lossy bitstream (`VP8 `) declaring another size (RFC 6386 §9.1). */
export const vp8Declaring = (width: number, height: number): Buffer => {
  const vp8 = Buffer.from(webpChunks().get('VP8 ')!);
  vp8.writeUInt16LE(width & 0x3fff, 6);
  vp8.writeUInt16LE(height & 0x3fff, 8);
  return vp8;
};

/** A `VP8X` payload: flags, then canvas width − 1 and height − 1 in 24 bits each. */
export const vp8x = (width: number, height: number, flags = 0): Buffer => {
  const payload = Buffer.alloc(10);
  payload[0] = flags;
  payload.writeUIntLE(width - 1, 4, 3);
  payload.writeUIntLE(height - 1, 7, 3);
  return payload;
};

/** A lossless (`VP8L`) header: signature 2F, 14-bit width − 1 and height − 1, alpha and version. */
export const vp8l = (width: number, height: number): Buffer => {
  const payload = Buffer.alloc(5);
  payload[0] = 0x2f;
  payload.writeUInt32LE(((width - 1) | ((height - 1) << 14)) >>> 0, 1);
  return payload;
};

/** The fixture WebP (extended: VP8X, ICCP, VP8) with its canvas declaring another size. */
export function webpDeclaring(width: number, height: number): Buffer {
  const chunks = webpChunks();
  return riff(
    ['VP8X', vp8x(width, height, chunks.get('VP8X')![0])],
    ['ICCP', chunks.get('ICCP')!],
    ['VP8 ', chunks.get('VP8 ')!],
  );
}

export const png = (width: number, height: number): Buffer => {
  const bytes = Buffer.from(
    '89504e470d0a1a0a0000000d494844520000000000000000080600000000000000',
    'hex',
  );
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  return bytes;
};

/** A real PNG (PNG §5–§11) of one colour, 8-bit RGB, that any decoder reads. */
export function solidPng(width: number, height: number, rgb = [220, 40, 80]): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Buffer) => {
    let c = 0xffffffff;
    for (const byte of bytes) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([length, body, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array(width).fill(rgb).flat())]);
  const pixels = deflateSync(Buffer.concat(Array<Buffer>(height).fill(row)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', pixels),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
