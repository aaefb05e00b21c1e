/**
 * RTP and RTCP read and built on the wire (server/src/media/rtp.ts): concrete byte vectors for
 * each RFC section the forwarding path depends on.
 */
import { describe, expect, it } from 'vitest';
import {
  feedbackMediaSsrc,
  genericNack,
  isRtcp,
  nackedSequences,
  normalizeRtp,
  paddingPacket,
  pictureLossIndication,
  readRemb,
  readReportBlocks,
  readSenderReport,
  receiverEstimatedMaxBitrate,
  rtcpPackets,
  rtcpType,
  rtpHeaderExtension,
  rtpMarker,
  rtpSequence,
  rtpSsrc,
  rtpTimestamp,
  senderReport,
  type RtcpItem,
} from '../src/media/rtp';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const only = (buffer: Buffer): RtcpItem => {
  const items = [...rtcpPackets(buffer)];
  expect(items).toHaveLength(1);
  return items[0]!;
};

// RFC 3550 §5.1: V=2, marker, PT 96, sequence 0x1234, timestamp 3000, SSRC cafebabe.
const fixedHeader = '80 e0 12 34 00 00 0b b8 ca fe ba be';
const payload = 'de ad be ef 01';

describe('RTP header (RFC 3550 §5.1)', () => {
  it('reads sequence, timestamp, SSRC and marker, and tells RTCP apart (RFC 5761 §4)', () => {
    const packet = hex(fixedHeader + payload);
    expect(rtpSequence(packet)).toBe(0x1234);
    expect(rtpTimestamp(packet)).toBe(3000);
    expect(rtpSsrc(packet)).toBe(0xcafebabe);
    expect(rtpMarker(packet)).toBe(true);
    expect(isRtcp(packet)).toBe(false);
    expect(isRtcp(hex('81 c9 00 01 00 00 00 01'))).toBe(true); // RR, PT 201
    expect(isRtcp(hex('81 ce 00 02'))).toBe(true); // PSFB, PT 206
    // PT 96 with the marker set is e0, not RTCP; PT 72 (c8) unmarked would be an SR.
    expect(isRtcp(hex('80 60 00 01'))).toBe(false);
  });
});

describe('normalizeRtp: the fixed header and the payload only', () => {
  it('returns a packet that already has that shape as it is', () => {
    const packet = hex(fixedHeader + payload);
    expect(normalizeRtp(packet)).toBe(packet);
  });

  it('drops CSRCs (CC, §5.1), keeping marker, PT, sequence, timestamp and SSRC', () => {
    const packet = hex('82 e0 12 34 00 00 0b b8 ca fe ba be 00 00 00 01 00 00 00 02' + payload);
    expect(normalizeRtp(packet)).toEqual(hex(fixedHeader + payload));
  });

  it('drops a header extension (X, §5.3.1) whatever its length', () => {
    // One-byte extension block (RFC 8285 §4.2): 2 words, abs-send-time and a mid, then padding.
    const packet = hex(
      '90 e0 12 34 00 00 0b b8 ca fe ba be be de 00 02 32 aa bb cc 40 31 00 00' + payload,
    );
    expect(normalizeRtp(packet)).toEqual(hex(fixedHeader + payload));
  });

  it('drops padding (P, §5.1: the last octet counts it, itself included)', () => {
    const packet = hex('a0 e0 12 34 00 00 0b b8 ca fe ba be' + payload + '00 00 03');
    expect(normalizeRtp(packet)).toEqual(hex(fixedHeader + payload));
  });

  it('drops all three together', () => {
    const packet = hex(
      'b1 e0 12 34 00 00 0b b8 ca fe ba be 00 00 00 07 be de 00 01 10 ff 00 00' + payload + '00 02',
    );
    expect(normalizeRtp(packet)).toEqual(hex(fixedHeader + payload));
  });

  it('gives nothing for padding-only probes, other versions, or lengths that do not add up', () => {
    expect(normalizeRtp(paddingPacket(96, 1, 2, 3, 100))).toBeUndefined();
    expect(normalizeRtp(hex('a0 e0 12 34 00 00 0b b8 ca fe ba be 00 00 04'))).toBeUndefined();
    expect(normalizeRtp(hex('40 e0 12 34 00 00 0b b8 ca fe ba be' + payload))).toBeUndefined();
    expect(normalizeRtp(hex('80 e0 12 34 00 00 0b b8 ca fe ba'))).toBeUndefined();
    // Extension header cut short; extension claiming more words than there are.
    expect(normalizeRtp(hex('90 e0 12 34 00 00 0b b8 ca fe ba be be de'))).toBeUndefined();
    expect(
      normalizeRtp(hex('90 e0 12 34 00 00 0b b8 ca fe ba be be de 00 09 10 ff 00 00')),
    ).toBeUndefined();
    // Four CSRCs announced, one present.
    expect(normalizeRtp(hex('84 e0 12 34 00 00 0b b8 ca fe ba be 00 00 00 01'))).toBeUndefined();
  });
});

describe('header extensions (RFC 8285)', () => {
  // §4.2 one-byte form: id 3 (abs-send-time, L=2: 3 bytes), id 4 (mid "0", L=0: 1 byte),
  // a padding octet, id 10 (rid "hi", L=1); 3 words of elements after the 0xBEDE header.
  const oneByte = hex(
    '90 60 00 01 00 00 00 01 00 00 00 02 be de 00 03 32 0a 0b 0c 40 30 00 a1 68 69 00 00' + payload,
  );

  it('finds each element of the one-byte form, skipping padding octets (§4.2)', () => {
    expect(rtpHeaderExtension(oneByte, 3)).toEqual(hex('0a 0b 0c'));
    expect(rtpHeaderExtension(oneByte, 4)?.toString()).toBe('0');
    expect(rtpHeaderExtension(oneByte, 10)?.toString()).toBe('hi');
    expect(rtpHeaderExtension(oneByte, 5)).toBeUndefined();
  });

  it('returns a view into the packet, not a copy', () => {
    const packet = Buffer.from(oneByte);
    rtpHeaderExtension(packet, 10)![0] = 0x6c;
    expect(rtpHeaderExtension(packet, 10)?.toString()).toBe('li');
  });

  it('stops at id 15, which ends the one-byte block (§4.2)', () => {
    const packet = hex('90 60 00 01 00 00 00 01 00 00 00 02 be de 00 02 f0 40 31 00 00 00 00 00');
    expect(rtpHeaderExtension(packet, 4)).toBeUndefined();
  });

  it('finds elements of the two-byte form, zero-length ones and any appbits (§4.3)', () => {
    // 0x1000: id 1 length 0, id 12 length 3 "mid", id 200 length 1; 3 words.
    const packet = hex(
      '90 60 00 01 00 00 00 01 00 00 00 02 10 00 00 03 01 00 0c 03 6d 69 64 c8 01 7f 00 00' +
        payload,
    );
    expect(rtpHeaderExtension(packet, 1)).toEqual(Buffer.alloc(0));
    expect(rtpHeaderExtension(packet, 12)?.toString()).toBe('mid');
    expect(rtpHeaderExtension(packet, 200)).toEqual(hex('7f'));
    const appbits = Buffer.from(packet);
    appbits[13] = 0x0f; // 0x100f
    expect(rtpHeaderExtension(appbits, 12)?.toString()).toBe('mid');
  });

  it('looks past CSRCs for the extension', () => {
    const packet = hex('91 60 00 01 00 00 00 01 00 00 00 02 11 22 33 44 be de 00 01 40 76 00 00');
    expect(rtpHeaderExtension(packet, 4)?.toString()).toBe('v');
  });

  it('gives nothing without X, for other profiles, or when an element or block overruns', () => {
    expect(rtpHeaderExtension(hex(fixedHeader + payload), 1)).toBeUndefined();
    // RFC 3550 §5.3.1 profile-specific header, neither RFC 8285 form.
    const other = hex('90 60 00 01 00 00 00 01 00 00 00 02 ab cd 00 01 10 ff 00 00');
    expect(rtpHeaderExtension(other, 1)).toBeUndefined();
    // Block of 4 words in a packet that has 1.
    const long = hex('90 60 00 01 00 00 00 01 00 00 00 02 be de 00 04 10 ff 00 00');
    expect(rtpHeaderExtension(long, 1)).toBeUndefined();
    // Element claiming 16 bytes in a 1-word block.
    const element = hex('90 60 00 01 00 00 00 01 00 00 00 02 be de 00 01 1f ff 00 00');
    expect(rtpHeaderExtension(element, 1)).toBeUndefined();
    const twoByte = hex('90 60 00 01 00 00 00 01 00 00 00 02 10 00 00 01 01 09 aa bb');
    expect(rtpHeaderExtension(twoByte, 1)).toBeUndefined();
  });
});

describe('padding packets for probing (RFC 3550 §5.1)', () => {
  it('are a header with P set and padding whose last octet counts it', () => {
    const packet = paddingPacket(96, 0x1_0005, 0x1_0000_0010, 0xcafebabe, 200);
    expect(packet).toHaveLength(200);
    expect(packet.subarray(0, 12)).toEqual(hex('a0 60 00 05 00 00 00 10 ca fe ba be'));
    expect(packet[199]).toBe(188);
    expect(packet.subarray(12, 199).every((b) => b === 0)).toBe(true);
    expect(paddingPacket(111, 1, 1, 1, 13).subarray(12)).toEqual(hex('01'));
    expect(paddingPacket(111, 1, 1, 1, 267)[266]).toBe(255);
  });

  it('refuse sizes whose padding does not fit one octet', () => {
    expect(() => paddingPacket(96, 1, 1, 1, 12)).toThrow(RangeError);
    expect(() => paddingPacket(96, 1, 1, 1, 268)).toThrow(RangeError);
  });
});

describe('compound RTCP (RFC 3550 §6.1)', () => {
  // SR with no blocks (7 words), SDES with one CNAME chunk (3 words), PLI (3 words).
  const sr = hex(
    '80 c8 00 06 ca fe ba be e8 a1 b2 c3 80 00 00 00 00 01 5f 90 00 00 00 64 00 01 86 a0',
  );
  const sdes = hex('81 ca 00 02 ca fe ba be 01 02 61 62');
  const pli = hex('81 ce 00 02 00 00 00 01 ca fe ba be');

  it('walks each packet with its type, count/format, offset and length', () => {
    expect([...rtcpPackets(Buffer.concat([sr, sdes, pli]))]).toEqual([
      { type: 200, format: 0, offset: 0, length: 28 },
      { type: 202, format: 1, offset: 28, length: 12 },
      { type: 206, format: 1, offset: 40, length: 12 },
    ]);
  });

  it('stops at the first packet with another version or a length past the end', () => {
    const badVersion = Buffer.from(sdes);
    badVersion[0] = 0x41;
    expect([...rtcpPackets(Buffer.concat([sr, badVersion, pli]))].map((i) => i.type)).toEqual([
      200,
    ]);
    const overlong = Buffer.from(sdes);
    overlong.writeUInt16BE(9, 2);
    expect([...rtcpPackets(Buffer.concat([sr, pli, overlong]))].map((i) => i.type)).toEqual([
      200, 206,
    ]);
    expect([...rtcpPackets(hex('80 c8'))]).toEqual([]);
  });

  it('reads a sender report’s clock mapping (§6.4.1) and refuses one cut short', () => {
    expect(readSenderReport(sr, only(sr))).toEqual({
      ssrc: 0xcafebabe,
      mapping: { ntpSeconds: 0xe8a1b2c3, ntpFraction: 0x80000000, rtpTimestamp: 90_000 },
    });
    const short = hex('80 c8 00 01 ca fe ba be');
    expect(readSenderReport(short, only(short))).toBeUndefined();
  });

  it('builds a sender report that reads back, counts wrapped to 32 bits', () => {
    const mapping = { ntpSeconds: 0xe8a1b2c3, ntpFraction: 0x80000000, rtpTimestamp: 1 };
    const packet = senderReport(0xcafebabe, mapping, 90_000, 100, 100_000);
    expect(packet).toEqual(sr);
    expect(readSenderReport(packet, only(packet))?.mapping.rtpTimestamp).toBe(90_000);
    const wrapped = senderReport(1, mapping, 2 ** 32 + 5, 2 ** 32 + 1, -1);
    expect(wrapped.readUInt32BE(16)).toBe(5);
    expect(wrapped.readUInt32BE(20)).toBe(1);
    expect(wrapped.readUInt32BE(24)).toBe(0xffffffff);
  });
});

describe('report blocks (RFC 3550 §6.4.1–6.4.2)', () => {
  // Block: SSRC, fraction lost (8 bits), cumulative lost (signed 24), extended highest
  // sequence (cycles << 16 | sequence), interarrival jitter, LSR, DLSR.
  const block1 = '11 11 11 11 40 00 00 2a 00 01 ff f0 00 00 01 2c 00 00 00 00 00 00 00 00';
  const block2 = '22 22 22 22 00 ff ff fe 00 00 00 05 00 00 00 00 e8 a1 b2 c3 00 01 00 00';

  it('reads every block of a receiver report (PT 201)', () => {
    const rr = hex('82 c9 00 0d 00 00 00 01' + block1 + block2);
    expect(readReportBlocks(rr, only(rr))).toEqual([
      {
        ssrc: 0x11111111,
        fractionLost: 0.25,
        cumulativeLost: 42,
        highestSequence: 0x1fff0,
        jitter: 300,
      },
      // Cumulative lost ff ff fe: −2, more packets than expected (duplicates).
      { ssrc: 0x22222222, fractionLost: 0, cumulativeLost: -2, highestSequence: 5, jitter: 0 },
    ]);
  });

  it('reads the blocks after a sender report’s sender info (PT 200)', () => {
    const sr = hex(
      '81 c8 00 0c ca fe ba be e8 a1 b2 c3 80 00 00 00 00 01 5f 90 00 00 00 64 00 01 86 a0' +
        block2,
    );
    expect(readReportBlocks(sr, only(sr))).toMatchObject([
      { ssrc: 0x22222222, cumulativeLost: -2 },
    ]);
  });

  it('reads none from an empty report, blocks the length leaves out, or other types', () => {
    const empty = hex('80 c9 00 01 00 00 00 01');
    expect(readReportBlocks(empty, only(empty))).toEqual([]);
    // RC says 2, the length holds 1.
    const lying = hex('82 c9 00 07 00 00 00 01' + block1);
    expect(readReportBlocks(lying, only(lying))).toHaveLength(1);
    const sdes = hex('81 ca 00 02 ca fe ba be 01 02 61 62');
    expect(readReportBlocks(sdes, only(sdes))).toEqual([]);
  });
});

describe('feedback (RFC 4585)', () => {
  it('builds the Picture Loss Indication of §6.3.1', () => {
    const pli = pictureLossIndication(0x00000001, 0xcafebabe);
    expect(pli).toEqual(hex('81 ce 00 02 00 00 00 01 ca fe ba be'));
    expect(only(pli)).toMatchObject({ type: rtcpType.payloadFeedback, format: 1 });
    expect(feedbackMediaSsrc(pli, only(pli))).toBe(0xcafebabe);
  });

  it('packs a generic NACK (§6.2.1) as PID and bitmask pairs, and reads it back', () => {
    // 100 lost, then 101, 103 and 116 (bits 0, 2 and 15 of the BLP), then 117 needs a new PID.
    const nack = genericNack(1, 0xcafebabe, [100, 101, 103, 116, 117]);
    expect(nack).toEqual(hex('81 cd 00 04 00 00 00 01 ca fe ba be 00 64 80 05 00 75 00 00'));
    expect(nackedSequences(nack, only(nack))).toEqual([100, 101, 103, 116, 117]);
  });

  it('carries a NACK across the sequence wrap from 65535 to 0 in one pair', () => {
    const lost = [65534, 65535, 0, 1, 14];
    const nack = genericNack(1, 2, lost);
    // PID 65534, BLP bits 0 (65535), 1 (0), 2 (1), 15 (14).
    expect(nack.subarray(12)).toEqual(hex('ff fe 80 07'));
    expect(nackedSequences(nack, only(nack))).toEqual(lost);
  });

  it('round-trips a REMB (draft-alvestrand-rmcat-remb §2.2) exactly while the mantissa fits', () => {
    const remb = receiverEstimatedMaxBitrate(1, 200_000, 0xcafebabe);
    // 200000 = 0x30d40 fits the 18-bit mantissa: exponent 0.
    expect(remb).toEqual(
      hex('8f ce 00 05 00 00 00 01 00 00 00 00 52 45 4d 42 01 03 0d 40 ca fe ba be'),
    );
    expect(readRemb(remb, only(remb))).toEqual({ bitrate: 200_000, ssrcs: [0xcafebabe] });
    // 2.5 Mbit/s: mantissa 156250 (0x2625a), exponent 4.
    const high = receiverEstimatedMaxBitrate(1, 2_500_000, 7);
    expect(high.subarray(17, 20)).toEqual(hex('12 62 5a'));
    expect(readRemb(high, only(high))).toEqual({ bitrate: 2_500_000, ssrcs: [7] });
  });

  it('loses at most the bits below the mantissa for large bitrates', () => {
    for (const bitrate of [262_144, 1_000_003, 123_456_789, 4_000_000_000]) {
      const remb = receiverEstimatedMaxBitrate(1, bitrate, 7);
      const read = readRemb(remb, only(remb))!.bitrate;
      expect(read).toBeLessThanOrEqual(bitrate);
      expect(read).toBeGreaterThan(bitrate * (1 - 2 ** -17));
    }
    // Exponent 63, mantissa 0x3ffff: far past 2^32, read without 32-bit overflow.
    const top = hex('8f ce 00 05 00 00 00 01 00 00 00 00 52 45 4d 42 01 ff ff ff 00 00 00 07');
    expect(readRemb(top, only(top))?.bitrate).toBe(0x3ffff * 2 ** 63);
  });

  it('reads every SSRC a REMB lists, and refuses what is not a REMB', () => {
    const two = hex(
      '8f ce 00 06 00 00 00 01 00 00 00 00 52 45 4d 42 02 03 0d 40 00 00 00 0a 00 00 00 0b',
    );
    expect(readRemb(two, only(two))).toEqual({ bitrate: 200_000, ssrcs: [10, 11] });
    const notRemb = Buffer.from(two);
    notRemb.write('GOOG', 12, 'latin1');
    expect(readRemb(notRemb, only(notRemb))).toBeUndefined();
    // Num SSRC 3 with room for 2.
    const lying = Buffer.from(two);
    lying[16] = 3;
    expect(readRemb(lying, only(lying))).toBeUndefined();
    // FMT 1 (PLI) and a transport feedback are no REMB.
    const pli = pictureLossIndication(1, 2);
    expect(readRemb(pli, only(pli))).toBeUndefined();
    const nack = genericNack(1, 2, [5]);
    expect(readRemb(nack, only(nack))).toBeUndefined();
  });
});
