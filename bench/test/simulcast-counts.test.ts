import { describe, expect, it } from 'vitest';
import { RtpCounter } from '../lib/rtp-count';
import { addCounts, simulcastShortfall } from '../lib/simulcast-counts';
import type { QualityCounts } from '../lib/viewers/types';

const counts = (viewers: number, received: number, silent = 0): QualityCounts => ({
  viewers,
  received,
  expected: received,
  silent,
});

/** A 12-byte RTP fixed header (RFC 3550 section 5.1): V=2, payload type, sequence number, SSRC. */
const rtp = (payloadType: number, seq: number, ssrc: number): Buffer =>
  Buffer.from([
    0x80,
    payloadType,
    seq >> 8,
    seq & 0xff,
    0,
    0,
    0,
    0,
    (ssrc >>> 24) & 0xff,
    (ssrc >> 16) & 0xff,
    (ssrc >> 8) & 0xff,
    ssrc & 0xff,
  ]);

describe('RtpCounter', () => {
  it('tells how many streams (SSRCs) it heard from, RTCP left out', () => {
    const counter = new RtpCounter();
    counter.addRaw(rtp(111, 5000, 0x11223344));
    counter.addRaw(rtp(111, 5001, 0x11223344));
    // A receiver report (RFC 3550 section 6.4.2: packet type 201 in the second byte) is not RTP.
    counter.addRaw(Buffer.from([0x81, 0xc9, 0x00, 0x01, 0x55, 0x66, 0x77, 0x88, 0, 0, 0, 0]));
    expect(counter.take()).toEqual({ received: 2, expected: 2, streams: 1 });
    counter.addRaw(rtp(111, 5002, 0x11223344));
    counter.addRaw(rtp(96, 0xffff, 0xaabbccdd));
    counter.addRaw(rtp(96, 0x0001, 0xaabbccdd)); // wrapped, 0x0000 lost
    expect(counter.take()).toEqual({ received: 3, expected: 4, streams: 2 });
    expect(counter.take()).toEqual({ received: 0, expected: 0, streams: 0 });
  });
});

describe('addCounts', () => {
  it('adds up the viewers of different load generators in one window', () => {
    const total: Record<string, QualityCounts> = {};
    addCounts(total, { low: counts(50, 1000, 1), high: counts(50, 900) }, 'processes');
    addCounts(total, { low: counts(17, 300, 2) }, 'processes');
    expect(total).toEqual({ low: counts(67, 1300, 3), high: counts(50, 900) });
  });

  it('keeps the same viewers over windows and adds up their packets', () => {
    const total: Record<string, QualityCounts> = {};
    addCounts(total, { low: counts(67, 1300, 0) }, 'windows');
    addCounts(total, { low: counts(67, 1200, 2) }, 'windows');
    expect(total).toEqual({ low: counts(67, 2500, 2) });
  });
});

describe('simulcastShortfall', () => {
  const good = {
    byQuality: { low: counts(2, 10), medium: counts(1, 5), high: counts(1, 5) },
    layerViewers: [3, 1, 2],
  };

  it('accepts windows where every viewer heard audio and video and every layer has a viewer', () => {
    expect(simulcastShortfall([good, good], 3)).toBeUndefined();
  });

  it('names the first thing wrong', () => {
    expect(simulcastShortfall([good, { ...good, byQuality: {} }], 3)).toBe(
      'window 2: no viewer was counted',
    );
    expect(
      simulcastShortfall([{ ...good, byQuality: { ...good.byQuality, medium: counts(1, 0) } }], 3),
    ).toBe('window 1: the medium viewers received nothing');
    expect(
      simulcastShortfall([{ ...good, byQuality: { ...good.byQuality, low: counts(2, 9, 1) } }], 3),
    ).toBe('window 1: 1 of the 2 low viewers received no audio or no video');
    expect(simulcastShortfall([{ byQuality: good.byQuality }], 3)).toBe(
      'window 1: the server reported no layers',
    );
    expect(simulcastShortfall([{ ...good, layerViewers: [6] }], 3)).toBe(
      'window 1: the server reported 1 layers, not 3',
    );
    expect(simulcastShortfall([{ ...good, layerViewers: [3, 0, 3] }], 3)).toBe(
      'window 1: the server reported no viewer on layer 1',
    );
  });
});
