import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RtpPacket } from 'werift';

export type Kind = 'audio' | 'video';

export interface FixturePacket {
  kind: Kind;
  /** Microseconds since the recording's first packet. */
  at: number;
  packet: RtpPacket;
}

const fixturePath = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/av.rtp');
const magic = 'ONAIRRTP1\n';

let cached: FixturePacket[] | undefined;

/** Real VP8 (1280x720, keyframe every second) and Opus packets recorded from ffmpeg; see record-av-fixture.ts. */
export function loadFixture(): FixturePacket[] {
  if (cached) return cached;
  const data = readFileSync(fixturePath);
  if (data.subarray(0, magic.length).toString() !== magic) throw new Error('not an RTP fixture');
  const packets: FixturePacket[] = [];
  for (let i = magic.length; i < data.length;) {
    const kind: Kind = data.readUInt8(i) === 1 ? 'video' : 'audio';
    const at = data.readUInt32BE(i + 1);
    const length = data.readUInt16BE(i + 5);
    packets.push({ kind, at, packet: RtpPacket.deSerialize(data.subarray(i + 7, i + 7 + length)) });
    i += 7 + length;
  }
  cached = packets;
  return packets;
}

/** Duration of one pass, and per-kind RTP clock advance per pass, for seamless looping. */
function loopShape(packets: FixturePacket[]) {
  const last = packets[packets.length - 1]!;
  const durationUs = last.at + 20_000;
  const shape = {} as Record<Kind, { seqSpan: number; tsSpan: number }>;
  for (const kind of ['audio', 'video'] as const) {
    const own = packets.filter((p) => p.kind === kind);
    const first = own[0]!.packet.header;
    const lastOwn = own[own.length - 1]!.packet.header;
    const clock = kind === 'video' ? 90 : 48;
    shape[kind] = {
      seqSpan: ((lastOwn.sequenceNumber - first.sequenceNumber + 0x10000) & 0xffff) + 1,
      tsSpan: Math.round((durationUs / 1000) * clock),
    };
  }
  return { durationUs, shape };
}

/**
 * Plays the fixture at its recorded timing, looping with sequence numbers and timestamps that
 * continue across passes (a receiver sees one unbroken stream). Returns a function that stops it.
 */
export function replay(
  onPacket: (kind: Kind, packet: RtpPacket) => void,
  options: { loop?: boolean } = {},
): () => void {
  const packets = loadFixture();
  const { durationUs, shape } = loopShape(packets);
  const startedAt = process.hrtime.bigint();
  let index = 0;
  let pass = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const tick = () => {
    if (stopped) return;
    const elapsedUs = Number((process.hrtime.bigint() - startedAt) / 1000n);
    // Everything due by now goes out in this tick: timers are coarse, the schedule is not.
    while (!stopped) {
      const item = packets[index]!;
      if (pass * durationUs + item.at > elapsedUs) break;
      const packet = item.packet.clone();
      const { seqSpan, tsSpan } = shape[item.kind];
      packet.header.sequenceNumber = (packet.header.sequenceNumber + pass * seqSpan) & 0xffff;
      packet.header.timestamp = (packet.header.timestamp + pass * tsSpan) >>> 0;
      onPacket(item.kind, packet);
      index += 1;
      if (index === packets.length) {
        if (!options.loop) {
          stopped = true;
          return;
        }
        index = 0;
        pass += 1;
      }
    }
    const next = packets[index]!;
    const waitMs = Math.max(0, (pass * durationUs + next.at - elapsedUs) / 1000);
    timer = setTimeout(tick, Math.min(waitMs, 20));
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** Whether a VP8 payload starts a keyframe (RFC 7741), for checks on the receiving side. */
export function isVp8KeyframeStart(payload: Buffer): boolean {
  const b0 = payload[0] ?? 0;
  if (!(b0 & 0x10) || (b0 & 0x07) !== 0) return false;
  let i = 1;
  if (b0 & 0x80) {
    const x = payload[i++] ?? 0;
    if (x & 0x80) i += (payload[i] ?? 0) & 0x80 ? 2 : 1;
    if (x & 0x40) i += 1;
    if (x & 0x30) i += 1;
  }
  return i < payload.length && ((payload[i] ?? 1) & 0x01) === 0;
}
