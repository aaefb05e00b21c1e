/**
 * The stamp a benchmark comment carries in its text, `bench:<run>:<seq>:<sentMs>`, and how a
 * receiver reads it back out of a raw `live_comment_added` frame with a byte search, without
 * decoding the JSON around it. `sentMs` is the wall clock (Date.now()) of the time the comment
 * was scheduled to be sent: every process on the machine reads the same clock.
 */
const MARK = Buffer.from('bench:');
const COLON = 0x3a;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** The Socket.IO event frame of a new comment: `42["live_comment_added",{...}]`. */
export const commentFramePrefix = Buffer.from('42["live_comment_added",');

export const stampText = (run: number, seq: number, sentMs: number): string =>
  `bench:${run}:${seq}:${sentMs}`;

/** Filled in by readStamp: one object reused for every frame a process receives. */
export interface Stamp {
  run: number;
  seq: number;
  sentMs: number;
}

/**
 * Reads the stamp of a comment frame into `out`; false when the frame is not a new comment or
 * carries no stamp.
 */
export function readStamp(frame: Buffer, out: Stamp): boolean {
  if (frame.length < commentFramePrefix.length) return false;
  if (frame.compare(commentFramePrefix, 0, commentFramePrefix.length, 0, commentFramePrefix.length))
    return false;
  let i = frame.indexOf(MARK, commentFramePrefix.length);
  if (i < 0) return false;
  i += MARK.length;
  const fields = [0, 0, 0];
  for (let f = 0; f < 3; f += 1) {
    const start = i;
    let value = 0;
    for (; i < frame.length && frame[i]! >= DIGIT_0 && frame[i]! <= DIGIT_9; i += 1)
      value = value * 10 + frame[i]! - DIGIT_0;
    if (i === start) return false;
    fields[f] = value;
    if (f < 2) {
      if (frame[i] !== COLON) return false;
      i += 1;
    }
  }
  out.run = fields[0]!;
  out.seq = fields[1]!;
  out.sentMs = fields[2]!;
  return true;
}
