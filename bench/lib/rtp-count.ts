interface SsrcCount {
  first: number;
  highest: number;
  /** Sequence numbers wrap past 65535: count the wraps. */
  cycles: number;
  received: number;
}

/**
 * Counts RTP packets per SSRC: received, and expected from the span of sequence numbers seen
 * since the last `take()` (the server keeps each viewer's sequence numbers continuous).
 */
export class RtpCounter {
  private readonly counts = new Map<number, SsrcCount>();

  add(ssrc: number, seq: number): void {
    const c = this.counts.get(ssrc);
    if (!c) {
      this.counts.set(ssrc, { first: seq, highest: seq, cycles: 0, received: 1 });
      return;
    }
    c.received += 1;
    const ahead = (seq - c.highest + 0x10000) & 0xffff;
    if (ahead > 0 && ahead < 0x8000) {
      if (seq < c.highest) c.cycles += 1;
      c.highest = seq;
    }
  }

  /** Adds a raw packet if it is RTP (RTCP has payload types 72..76 with the marker bit, i.e. byte 1 is 200..206). */
  addRaw(packet: Buffer): void {
    if (packet.length < 12 || packet[0]! >> 6 !== 2) return;
    const pt = packet[1]! & 0x7f;
    if (pt >= 72 && pt <= 76) return;
    this.add(packet.readUInt32BE(8), packet.readUInt16BE(2));
  }

  /**
   * Packets received and expected, and the SSRCs heard from, since the last take. A first packet
   * lost is not noticed; fine at this scale.
   */
  take(): { received: number; expected: number; streams: number } {
    let received = 0;
    let expected = 0;
    for (const c of this.counts.values()) {
      received += c.received;
      expected += c.cycles * 0x10000 + c.highest - c.first + 1;
    }
    const streams = this.counts.size;
    this.counts.clear();
    return { received, expected, streams };
  }
}
