/**
 * The VP8 payload descriptor (RFC 7741 §4.2), read where it lies and patched in place: a viewer
 * switched between simulcast layers must see one run of picture ids and TL0PICIDX values, and
 * the forwarding path copies no packet to get there.
 *
 *        0 1 2 3 4 5 6 7
 *       +-+-+-+-+-+-+-+-+
 *       |X|R|N|S|R| PID | (REQUIRED)
 *       +-+-+-+-+-+-+-+-+
 *  X:   |I|L|T|K| RSV   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *  I:   |M| PictureID   | (OPTIONAL, 7 bits, or 15 with the next octet when M is set)
 *       +-+-+-+-+-+-+-+-+
 *  L:   |   TL0PICIDX   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *  T/K: |TID|Y| KEYIDX  | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 */

/** The VP8 payload descriptor of one RTP packet (RFC 7741 §4.2). Offsets are absolute in the buffer. */
export interface Vp8Descriptor {
  /** S bit: first packet of a VP8 partition. */
  start: boolean;
  /** PID: partition index. */
  partition: number;
  /** Picture ID (I bit), 7- or 15-bit; undefined when absent. */
  pictureId: number | undefined;
  /** Where the picture id's first byte is, -1 when absent. */
  pictureIdAt: number;
  /** M bit: 15-bit picture id. */
  pictureIdLong: boolean;
  /** TL0PICIDX (L bit), undefined when absent. */
  tl0PicIdx: number | undefined;
  /** Where TL0PICIDX is, -1 when absent. */
  tl0PicIdxAt: number;
  /** TID (T bit), undefined when absent. */
  temporalId: number | undefined;
  /** Y bit (layer sync). */
  layerSync: boolean;
  /** Where the VP8 payload (frame header) starts. */
  payloadAt: number;
  /** First packet of a key frame: S=1, PID=0 and the frame tag's P bit is 0 (RFC 7741 §4.3). */
  keyframe: boolean;
}

/**
 * Reads the descriptor of the RTP payload starting at `at`; undefined when the packet ends
 * inside the descriptor or carries no VP8 payload after it.
 */
export function readVp8(packet: Buffer, at: number): Vp8Descriptor | undefined {
  if (at < 0 || packet.length <= at) return undefined;
  const b0 = packet[at] as number;
  const start = (b0 & 0x10) !== 0;
  const partition = b0 & 0x07;
  let i = at + 1;
  let pictureId: number | undefined;
  let pictureIdAt = -1;
  let pictureIdLong = false;
  let tl0PicIdx: number | undefined;
  let tl0PicIdxAt = -1;
  let temporalId: number | undefined;
  let layerSync = false;
  if (b0 & 0x80) {
    if (i >= packet.length) return undefined;
    const x = packet[i++] as number;
    if (x & 0x80) {
      if (i >= packet.length) return undefined;
      pictureIdAt = i;
      pictureIdLong = ((packet[i] as number) & 0x80) !== 0;
      if (pictureIdLong) {
        if (i + 1 >= packet.length) return undefined;
        pictureId = packet.readUInt16BE(i) & 0x7fff;
        i += 2;
      } else {
        pictureId = packet[i] as number;
        i += 1;
      }
    }
    if (x & 0x40) {
      if (i >= packet.length) return undefined;
      tl0PicIdxAt = i;
      tl0PicIdx = packet[i++] as number;
    }
    // T and K share one octet; TID and Y mean something only with T (§4.2).
    if (x & 0x30) {
      if (i >= packet.length) return undefined;
      const tk = packet[i++] as number;
      if (x & 0x20) {
        temporalId = tk >> 6;
        layerSync = (tk & 0x20) !== 0;
      }
    }
  }
  if (i >= packet.length) return undefined;
  return {
    start,
    partition,
    pictureId,
    pictureIdAt,
    pictureIdLong,
    tl0PicIdx,
    tl0PicIdxAt,
    temporalId,
    layerSync,
    payloadAt: i,
    // §4.3: the P bit, bit 0 of the first octet of the frame tag, is 0 for key frames.
    keyframe: start && partition === 0 && ((packet[i] as number) & 0x01) === 0,
  };
}

/**
 * Writes a picture id in place, keeping the packet's width (7 or 15 bits, value masked); no-op
 * when the packet has none. `d` is not updated.
 */
export function writeVp8PictureId(packet: Buffer, d: Vp8Descriptor, pictureId: number): void {
  if (d.pictureIdAt < 0) return;
  if (d.pictureIdLong) packet.writeUInt16BE(0x8000 | (pictureId & 0x7fff), d.pictureIdAt);
  else packet[d.pictureIdAt] = pictureId & 0x7f;
}

/** Writes TL0PICIDX in place (8 bits, value masked); no-op when the packet has none. */
export function writeVp8Tl0PicIdx(packet: Buffer, d: Vp8Descriptor, value: number): void {
  if (d.tl0PicIdxAt < 0) return;
  packet[d.tl0PicIdxAt] = value & 0xff;
}

/**
 * Width and height from a VP8 key frame's header (RFC 6386 §9.1: 3-byte tag, start code
 * 9d 01 2a, 14-bit sizes). The two scale bits above each size ask the renderer to upscale; the
 * coded size, what a layer is told apart by, is the 14 bits.
 */
export function vp8KeyframeSize(
  packet: Buffer,
  d: Vp8Descriptor,
): { width: number; height: number } | undefined {
  const p = d.payloadAt;
  if (!d.keyframe || p + 10 > packet.length) return undefined;
  if (packet[p + 3] !== 0x9d || packet[p + 4] !== 0x01 || packet[p + 5] !== 0x2a) return undefined;
  // §9.1: little-endian, unlike the RTP around it.
  const width = packet.readUInt16LE(p + 6) & 0x3fff;
  const height = packet.readUInt16LE(p + 8) & 0x3fff;
  if (width === 0 || height === 0) return undefined;
  return { width, height };
}
