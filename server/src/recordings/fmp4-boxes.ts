/**
 * Just enough ISO BMFF (ISO/IEC 14496-12) reading to know how long a fragment plays: track
 * timescales from the initialization segment's `moov`, and where each track's samples begin and
 * how long they last from a fragment's `moof`. A playlist must name each segment's duration the
 * moment the segment lands.
 */

interface Box {
  type: string;
  /** Where the box's content starts and ends in the buffer. */
  start: number;
  end: number;
}

function* boxes(data: Buffer, start: number, end: number): Generator<Box> {
  for (let at = start; at + 8 <= end;) {
    let size = data.readUInt32BE(at);
    const type = data.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) return;
      size = Number(data.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) size = end - at;
    if (size < header || at + size > end) return;
    yield { type, start: at + header, end: at + size };
    at += size;
  }
}

function child(data: Buffer, parent: Box, type: string): Box | undefined {
  for (const box of boxes(data, parent.start, parent.end)) if (box.type === type) return box;
  return undefined;
}

const whole = (data: Buffer): Box => ({ type: '', start: 0, end: data.length });

/** Each track's timescale (§8.4.2 `mdhd`), by track id (§8.3.2 `tkhd`). */
export function trackTimescales(init: Buffer): Map<number, number> {
  const scales = new Map<number, number>();
  const moov = child(init, whole(init), 'moov');
  if (!moov) return scales;
  for (const trak of boxes(init, moov.start, moov.end)) {
    if (trak.type !== 'trak') continue;
    const tkhd = child(init, trak, 'tkhd');
    const mdia = child(init, trak, 'mdia');
    const mdhd = mdia && child(init, mdia, 'mdhd');
    if (!tkhd || !mdhd) continue;
    const tkhdV1 = init[tkhd.start] === 1;
    const trackId = init.readUInt32BE(tkhd.start + (tkhdV1 ? 20 : 12));
    const mdhdV1 = init[mdhd.start] === 1;
    scales.set(trackId, init.readUInt32BE(mdhd.start + (mdhdV1 ? 20 : 12)));
  }
  return scales;
}

/** Where a fragment's media begins and ends, in seconds of its tracks' timeline. */
export interface FragmentSpan {
  start: number;
  end: number;
}

/**
 * Where a fragment's media begins and ends: the earliest of its tracks' starts (§8.8.12 `tfdt`)
 * and the latest of their ends (the start plus §8.8.8 `trun` sample durations, else §8.8.7
 * `tfhd`'s default). `segment` starts with the `moof`. Undefined without a timed track.
 */
export function fragmentSpan(
  segment: Buffer,
  timescales: Map<number, number>,
): FragmentSpan | undefined {
  const moof = child(segment, whole(segment), 'moof');
  if (!moof) return undefined;
  let start = Infinity;
  let end = -Infinity;
  for (const traf of boxes(segment, moof.start, moof.end)) {
    if (traf.type !== 'traf') continue;
    const tfhd = child(segment, traf, 'tfhd');
    const tfdt = child(segment, traf, 'tfdt');
    if (!tfhd || !tfdt || tfhd.end - tfhd.start < 8) continue;
    const longTime = segment[tfdt.start] === 1;
    if (tfdt.end - tfdt.start < (longTime ? 12 : 8)) continue;
    const scale = timescales.get(segment.readUInt32BE(tfhd.start + 4));
    if (!scale) continue;
    const ticks = longTime
      ? Number(segment.readBigUInt64BE(tfdt.start + 4))
      : segment.readUInt32BE(tfdt.start + 4);
    start = Math.min(start, ticks / scale);
    end = Math.max(end, (ticks + runTicks(segment, traf, tfhd)) / scale);
  }
  return start === Infinity ? undefined : { start, end };
}

/** How long one track's samples in a fragment last, in its timescale's ticks. */
function runTicks(segment: Buffer, traf: Box, tfhd: Box): number {
  const tfhdFlags = segment.readUInt32BE(tfhd.start) & 0xffffff;
  let at = tfhd.start + 8;
  if (tfhdFlags & 0x01) at += 8; // base-data-offset
  if (tfhdFlags & 0x02) at += 4; // sample-description-index
  const defaultDuration = tfhdFlags & 0x08 && at + 4 <= tfhd.end ? segment.readUInt32BE(at) : 0;
  let ticks = 0;
  for (const trun of boxes(segment, traf.start, traf.end)) {
    if (trun.type !== 'trun' || trun.end - trun.start < 8) continue;
    const flags = segment.readUInt32BE(trun.start) & 0xffffff;
    const count = segment.readUInt32BE(trun.start + 4);
    let i = trun.start + 8;
    if (flags & 0x01) i += 4; // data-offset
    if (flags & 0x04) i += 4; // first-sample-flags
    const perSample =
      (flags & 0x100 ? 4 : 0) +
      (flags & 0x200 ? 4 : 0) +
      (flags & 0x400 ? 4 : 0) +
      (flags & 0x800 ? 4 : 0);
    if (!(flags & 0x100)) {
      ticks += count * defaultDuration;
      continue;
    }
    for (let n = 0; n < count && i + 4 <= trun.end; n += 1, i += perSample)
      ticks += segment.readUInt32BE(i);
  }
  return ticks;
}
