import { describe, expect, it } from 'vitest';
import { LayerForwarder, type VideoPacket } from '../src/media/LayerForwarder';
import { RtpForwarder } from '../src/media/RtpForwarder';
import { readVp8 } from '../src/media/vp8';

/**
 * One viewer's video across layer switches, temporal-layer drops and probe padding: what its
 * decoder receives must read as one continuous RTP stream (RFC 3550 §5.1, RFC 7667 §3.7) with
 * one continuous VP8 picture-id and TL0PICIDX sequence (RFC 7741 §4.2).
 */

interface Vp8Fields {
  seq: number;
  ts: number;
  ssrc?: number;
  pictureId: number;
  tl0: number;
  tid: number;
  /** Layer sync (Y bit). */
  sync?: boolean;
  keyframe?: boolean;
  /** First packet of the picture (S bit, partition 0). Default true. */
  start?: boolean;
}

/**
 * An RTP packet (RFC 3550 §5.1: V=2, PT 96) carrying a VP8 payload descriptor with every
 * optional field (RFC 7741 §4.2: X; I with M, a 15-bit picture id; L, TL0PICIDX; T, TID and Y),
 * then a frame tag whose P bit (§4.3) says key frame (0) or not (1).
 */
function vp8Packet(f: Vp8Fields): Buffer {
  const p = Buffer.alloc(12 + 6 + 4);
  p[0] = 0x80;
  p[1] = 96;
  p.writeUInt16BE(f.seq & 0xffff, 2);
  p.writeUInt32BE(f.ts >>> 0, 4);
  p.writeUInt32BE(f.ssrc ?? 0x1111, 8);
  const start = f.start ?? true;
  p[12] = 0x80 | (start ? 0x10 : 0); // X, S, PID 0
  p[13] = 0x80 | 0x40 | 0x20; // I, L, T
  p.writeUInt16BE(0x8000 | (f.pictureId & 0x7fff), 14); // M + 15-bit picture id
  p[16] = f.tl0 & 0xff;
  p[17] = ((f.tid & 0x03) << 6) | (f.sync ? 0x20 : 0);
  p[18] = f.keyframe ? 0x00 : 0x01; // frame tag: P bit
  return p;
}

interface Sent {
  seq: number;
  ts: number;
  ssrc: number;
  pt: number;
  padding: boolean;
  pictureId: number | undefined;
  tl0: number | undefined;
}

function viewer() {
  const sent: Sent[] = [];
  const rtp = new RtpForwarder(
    (packet) => {
      const padding = (packet[0]! & 0x20) !== 0;
      const vp8 = padding ? undefined : readVp8(packet, 12);
      sent.push({
        seq: packet.readUInt16BE(2),
        ts: packet.readUInt32BE(4),
        ssrc: packet.readUInt32BE(8),
        pt: packet[1]! & 0x7f,
        padding,
        pictureId: vp8?.pictureId,
        tl0: vp8?.tl0PicIdx,
      });
    },
    100,
    90_000,
    0xabcdef,
  );
  const video = new LayerForwarder(rtp);
  const offer = (encoding: number, f: Vp8Fields, now: number) => {
    const out = vp8Packet(f);
    const packet: VideoPacket = {
      out,
      encoding,
      sequence: f.seq & 0xffff,
      timestamp: f.ts >>> 0,
      keyframe: (f.keyframe ?? false) && (f.start ?? true),
      vp8: readVp8(out, 12),
    };
    return video.send(packet, now);
  };
  return { sent, rtp, video, offer };
}

/** Output sequence numbers follow each other without a gap (modulo 2^16). */
const contiguous = (sent: Sent[]) =>
  sent.every((s, i) => i === 0 || s.seq === ((sent[i - 1]!.seq + 1) & 0xffff));

describe('a viewer moving between simulcast layers', () => {
  it('switches only at a keyframe of the target layer, and continues every number (RFC 7667 §3.7)', () => {
    const { sent, video, offer } = viewer();
    video.aim(0, 2, 0);
    // Layer 0 starts with its keyframe; layer 1 runs beside it with numbers of its own.
    for (let i = 0; i < 5; i += 1) {
      offer(
        0,
        {
          seq: 100 + i,
          ts: 9000 + i * 3000,
          pictureId: 50 + i,
          tl0: 7 + i,
          tid: 0,
          keyframe: i === 0,
        },
        i * 33,
      );
      offer(
        1,
        {
          seq: 40_000 + i,
          ts: 777_000 + i * 3000,
          ssrc: 0x2222,
          pictureId: 9000 + i,
          tl0: 200 + i,
          tid: 0,
        },
        i * 33,
      );
    }
    expect(sent).toHaveLength(5);
    expect(video.aim(1, 2, 200)).toBe(true);
    // Delta frames of the target are not a place to switch; the current layer goes on.
    expect(
      offer(1, { seq: 40_005, ts: 792_000, ssrc: 0x2222, pictureId: 9005, tl0: 205, tid: 0 }, 200),
    ).toBe(false);
    expect(offer(0, { seq: 105, ts: 24_000, pictureId: 55, tl0: 12, tid: 0 }, 200)).toBe(true);
    // The target's keyframe: the switch, 33 ms after the last packet sent.
    expect(
      offer(
        1,
        {
          seq: 40_006,
          ts: 795_000,
          ssrc: 0x2222,
          pictureId: 9006,
          tl0: 206,
          tid: 0,
          keyframe: true,
        },
        233,
      ),
    ).toBe(true);
    expect(offer(0, { seq: 106, ts: 27_000, pictureId: 56, tl0: 13, tid: 0 }, 233)).toBe(false);
    offer(1, { seq: 40_007, ts: 798_000, ssrc: 0x2222, pictureId: 9007, tl0: 207, tid: 0 }, 266);

    expect(contiguous(sent)).toBe(true);
    expect(new Set(sent.map((s) => s.ssrc))).toEqual(new Set([0xabcdef]));
    expect(new Set(sent.map((s) => s.pt))).toEqual(new Set([100]));
    const [before, switched, after] = sent.slice(-3) as [Sent, Sent, Sent];
    // Timestamps move on by the wall-clock gap (33 ms at 90 kHz), then at the new layer's pace.
    expect((switched.ts - before.ts) >>> 0).toBe(Math.round(0.033 * 90_000));
    expect((after.ts - switched.ts) >>> 0).toBe(3000);
    // Picture ids and TL0PICIDX carry on from the old layer's (RFC 7741 §4.2).
    expect(switched.pictureId).toBe(before.pictureId! + 1);
    expect(after.pictureId).toBe(before.pictureId! + 2);
    expect(switched.tl0).toBe(before.tl0! + 1);
    expect(video.current).toBe(1);
    expect(video.switching).toBe(false);
  });

  it('waits for the next keyframe when the target keyframe\u2019s first packet was lost', () => {
    const { sent, video, offer } = viewer();
    video.aim(0, 2, 0);
    offer(0, { seq: 1, ts: 0, pictureId: 1, tl0: 1, tid: 0, keyframe: true }, 0);
    video.aim(1, 2, 10);
    // The keyframe's second packet arrives without its first: not a start, no switch.
    expect(
      offer(
        1,
        {
          seq: 501,
          ts: 3000,
          ssrc: 0x2222,
          pictureId: 30,
          tl0: 4,
          tid: 0,
          keyframe: true,
          start: false,
        },
        20,
      ),
    ).toBe(false);
    expect(offer(0, { seq: 2, ts: 3000, pictureId: 2, tl0: 2, tid: 0 }, 33)).toBe(true);
    expect(video.current).toBe(0);
    expect(
      offer(
        1,
        { seq: 530, ts: 90_000, ssrc: 0x2222, pictureId: 40, tl0: 9, tid: 0, keyframe: true },
        1000,
      ),
    ).toBe(true);
    expect(video.current).toBe(1);
    expect(contiguous(sent)).toBe(true);
  });

  it('runs on across a sequence-number wrap and a 15-bit picture-id wrap (RFC 3550 §5.1, RFC 7741 §4.2)', () => {
    const { sent, video, offer } = viewer();
    video.aim(0, 2, 0);
    const seqs = [65_533, 65_534, 65_535, 0, 1];
    const pids = [0x7ffd, 0x7ffe, 0x7fff, 0, 1];
    seqs.forEach((seq, i) =>
      offer(
        0,
        {
          seq,
          ts: 0xffff_f000 + i * 3000,
          pictureId: pids[i]!,
          tl0: 254 + i,
          tid: 0,
          keyframe: i === 0,
        },
        i * 33,
      ),
    );
    expect(contiguous(sent)).toBe(true);
    const outPids = sent.map((s) => s.pictureId!);
    outPids.forEach((pid, i) => i > 0 && expect(pid).toBe((outPids[i - 1]! + 1) & 0x7fff));
    const tl0s = sent.map((s) => s.tl0!);
    tl0s.forEach((t, i) => i > 0 && expect(t).toBe((tl0s[i - 1]! + 1) & 0xff));
    const ts = sent.map((s) => s.ts);
    ts.forEach((t, i) => i > 0 && expect((t - ts[i - 1]!) >>> 0).toBe(3000));
  });
});

describe('temporal layers (RFC 7741 §4.2 TID, Y)', () => {
  // L1T3: TID pattern 0,2,1,2 repeating; TL0PICIDX counts base-layer pictures.
  const pattern = [0, 2, 1, 2];
  const feed = (offer: ReturnType<typeof viewer>['offer'], from: number, count: number) => {
    for (let i = from; i < from + count; i += 1)
      offer(
        0,
        {
          seq: 1000 + i,
          ts: i * 3000,
          pictureId: 300 + i,
          tl0: 20 + Math.floor(i / 4),
          tid: pattern[i % 4]!,
          keyframe: i === 0,
        },
        i * 33,
      );
  };

  it('drops the pictures above the cap and closes the gaps they leave', () => {
    const { sent, video, offer } = viewer();
    video.aim(0, 0, 0);
    feed(offer, 0, 12);
    // Only the base layer: every fourth picture.
    expect(sent).toHaveLength(3);
    expect(contiguous(sent)).toBe(true);
    const pids = sent.map((s) => s.pictureId!);
    expect(pids[1]).toBe(pids[0]! + 1);
    expect(pids[2]).toBe(pids[0]! + 2);
    // TL0PICIDX is untouched by dropping upper layers: it still counts base pictures.
    expect(sent.map((s) => s.tl0)).toEqual([20, 21, 22]);
  });

  it('takes a higher cap only from a base-layer picture or a layer sync', () => {
    const { sent, video, offer } = viewer();
    video.aim(0, 0, 0);
    feed(offer, 0, 2); // TID 0 sent, TID 2 dropped
    video.aim(0, 2, 70);
    feed(offer, 2, 1); // TID 1 without Y: depends on nothing dropped? not taken before a base picture
    expect(sent).toHaveLength(1);
    feed(offer, 3, 3); // TID 2, then TID 0 (the cap rises here), then TID 2
    expect(sent).toHaveLength(3);
    expect(contiguous(sent)).toBe(true);
    expect(sent.at(-1)!.pictureId).toBe(sent.at(-2)!.pictureId! + 1);
  });

  it('lowers the cap at the next picture', () => {
    const { sent, video, offer } = viewer();
    video.aim(0, 2, 0);
    feed(offer, 0, 4);
    expect(sent).toHaveLength(4);
    video.aim(0, 1, 140);
    feed(offer, 4, 4); // 0,2,1,2 -> 0 and 1 sent
    expect(sent).toHaveLength(6);
    expect(contiguous(sent)).toBe(true);
  });
});

describe('probe padding and retransmission', () => {
  it('gives padding sequence numbers of its own, never taken for media in a NACK', () => {
    const { sent, rtp, video, offer } = viewer();
    video.aim(0, 2, 0);
    offer(0, { seq: 10, ts: 0, pictureId: 1, tl0: 1, tid: 0, keyframe: true }, 0);
    rtp.pad(267);
    rtp.pad(267);
    offer(0, { seq: 11, ts: 3000, pictureId: 2, tl0: 2, tid: 0 }, 33);
    expect(contiguous(sent)).toBe(true);
    expect(sent.map((s) => s.padding)).toEqual([false, true, true, false]);
    // A padding packet repeats the last timestamp (RFC 3550 §5.1 padding carries no media).
    expect(sent[1]!.ts).toBe(sent[0]!.ts);
    expect(rtp.inputOf(sent[1]!.seq)).toBeUndefined();
    expect(rtp.inputOf(sent[3]!.seq)).toEqual({ source: 0, sequence: 11 });
    expect(rtp.inputOf(sent[0]!.seq)).toEqual({ source: 0, sequence: 10 });
  });

  it('resends a packet as first sent: its sequence number, timestamp, picture id and TL0PICIDX', () => {
    const { sent, video, offer } = viewer();
    video.aim(0, 2, 0);
    offer(0, { seq: 10, ts: 0, pictureId: 1, tl0: 1, tid: 0, keyframe: true }, 0);
    video.aim(1, 2, 10);
    // After a switch the second layer's pictures are renumbered to follow the first's.
    offer(1, { seq: 900, ts: 50_000, pictureId: 7000, tl0: 90, tid: 0, keyframe: true }, 33);
    offer(1, { seq: 901, ts: 53_000, pictureId: 7001, tl0: 91, tid: 0 }, 66);
    const asked = sent.at(-1)!;
    expect(asked.pictureId).toBe(3);
    video.resend(
      vp8Packet({ seq: 901, ts: 53_000, pictureId: 7001, tl0: 91, tid: 0 }),
      asked.seq,
      53_000,
    );
    expect(sent.at(-1)).toEqual(asked);
  });

  it('forgets what is older than its memory of sequence numbers', () => {
    const { sent, rtp, video, offer } = viewer();
    video.aim(0, 2, 0);
    for (let i = 0; i < 1100; i += 1)
      offer(0, { seq: i, ts: i * 3000, pictureId: i, tl0: i, tid: 0, keyframe: i === 0 }, i);
    expect(rtp.inputOf(sent[0]!.seq)).toBeUndefined();
    expect(rtp.inputOf(sent.at(-1)!.seq)).toEqual({ source: 0, sequence: 1099 });
  });
});
