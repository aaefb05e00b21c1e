import { h264KeyframeSize } from './h264';
import { readVp8, vp8KeyframeSize } from './vp8';

/**
 * Whether an RTP payload starts a keyframe. VP8: RFC 7741 §4.2–4.3 (payload descriptor, then the
 * P bit of the first partition's header). H.264: RFC 6184 (IDR or SPS in a single NAL, STAP-A or
 * the first FU-A fragment). `at` is where the payload starts in `p`.
 */
export function startsKeyframe(mimeType: string, p: Buffer, at = 0): boolean {
  const codec = mimeType.toLowerCase();
  if (codec === 'video/vp8') return vp8StartsKeyframe(p, at);
  if (codec === 'video/h264') return h264StartsKeyframe(p, at);
  return false;
}

/**
 * The picture size a keyframe's first packet declares (VP8: the key frame header, RFC 6386
 * §9.1; H.264: the SPS), or undefined when the packet declares none. `at` is where the payload
 * starts in `packet`.
 */
export function keyframeSize(
  mimeType: string,
  packet: Buffer,
  at: number,
): { width: number; height: number } | undefined {
  const codec = mimeType.toLowerCase();
  if (codec === 'video/vp8') {
    const descriptor = readVp8(packet, at);
    return descriptor?.keyframe ? vp8KeyframeSize(packet, descriptor) : undefined;
  }
  if (codec === 'video/h264') return h264KeyframeSize(packet, at);
  return undefined;
}

function vp8StartsKeyframe(p: Buffer, at: number): boolean {
  if (p.length < at + 1) return false;
  const b0 = p[at] as number;
  const start = (b0 & 0x10) !== 0;
  const partition = b0 & 0x07;
  if (!start || partition !== 0) return false;
  let i = at + 1;
  if (b0 & 0x80) {
    const x = p[i++] ?? 0;
    if (x & 0x80) i += (p[i] ?? 0) & 0x80 ? 2 : 1; // picture id, 7 or 15 bits
    if (x & 0x40) i += 1; // TL0PICIDX
    if (x & 0x30) i += 1; // TID / KEYIDX
  }
  return i < p.length && ((p[i] as number) & 0x01) === 0;
}

function h264StartsKeyframe(p: Buffer, at: number): boolean {
  if (p.length < at + 2) return false;
  const type = (p[at] as number) & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 24) {
    // STAP-A: 16-bit sizes, each followed by a NAL unit.
    for (let i = at + 1; i + 2 < p.length;) {
      const size = p.readUInt16BE(i);
      const nal = (p[i + 2] as number) & 0x1f;
      if (nal === 5 || nal === 7) return true;
      i += 2 + size;
    }
    return false;
  }
  if (type === 28) {
    const fu = p[at + 1] as number;
    return (fu & 0x80) !== 0 && ((fu & 0x1f) === 5 || (fu & 0x1f) === 7);
  }
  return false;
}
