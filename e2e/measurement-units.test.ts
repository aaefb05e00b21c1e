import { describe, expect, it } from 'vitest';
import { limitCommands, lossBytecode, parseQdiscCounters, queueBytes } from './support/netns';
import {
  freezesWithin,
  framesPerSecond,
  settleMs,
  stalls,
  longFreezes,
  summarise,
  timeline,
  type TimedSample,
} from './support/viewer-stats';

/** The pure parts of the limited-link harness: tc commands, its counters, and the viewer summaries. */

describe('the shaper', () => {
  it('drops a random share with classic BPF: ld rand, jge threshold, ret 0 or classid 1:20', () => {
    // ld [SKF_AD_OFF + SKF_AD_RANDOM] is code 0x20 with k = 2^32 - 4096 + 56; jge #k is 0x35.
    expect(lossBytecode(1)).toBe('4,32 0 0 4294963256,53 0 1 42949673,6 0 0 0,6 0 0 65568');
    expect(lossBytecode(0)).toBe('4,32 0 0 4294963256,53 0 1 0,6 0 0 0,6 0 0 65568');
    expect(lossBytecode(150)).toBe('4,32 0 0 4294963256,53 0 1 4294967295,6 0 0 0,6 0 0 65568');
  });

  it('queues 200 ms at the rate, never less than two full packets', () => {
    expect(queueBytes({ rateKbit: 600 })).toBe(15_000);
    expect(queueBytes({ rateKbit: 300 })).toBe(7_500);
    expect(queueBytes({ rateKbit: 600, queueMs: 100 })).toBe(7_500);
    expect(queueBytes({ rateKbit: 50 })).toBe(3_028);
  });

  it('builds htb at the rate over a byte FIFO, and the loss class only when there is loss', () => {
    expect(limitCommands('v0', { rateKbit: 600 }, { netem: false })).toEqual([
      ['qdisc', 'replace', 'dev', 'v0', 'root', 'handle', '1:', 'htb', 'default', '10', 'r2q', '1'],
      // prettier-ignore
      ['class', 'replace', 'dev', 'v0', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '600kbit',
        'ceil', '600kbit', 'burst', '3000', 'cburst', '3000', 'quantum', '1514'],
      [
        'qdisc',
        'replace',
        'dev',
        'v0',
        'parent',
        '1:10',
        'handle',
        '10:',
        'bfifo',
        'limit',
        '15000',
      ],
    ]);
    const lossy = limitCommands('v0', { rateKbit: 5000, lossPercent: 1 }, { netem: false });
    expect(lossy[1]).toContain('6250'); // a bucket of 10 ms at 5 Mbit/s
    expect(lossy.slice(3)).toEqual([
      // prettier-ignore
      ['class', 'replace', 'dev', 'v0', 'parent', '1:', 'classid', '1:20', 'htb', 'rate', '8bit',
        'ceil', '8bit', 'quantum', '1514'],
      ['qdisc', 'replace', 'dev', 'v0', 'parent', '1:20', 'handle', '20:', 'pfifo', 'limit', '0'],
      // prettier-ignore
      ['filter', 'replace', 'dev', 'v0', 'parent', '1:', 'protocol', 'all', 'prio', '1', 'handle',
        '1', 'bpf', 'bytecode', lossBytecode(1)],
    ]);
  });

  it('delays with a netem leaf where the kernel has netem, its packet limit covering queue and delay', () => {
    const leaf = limitCommands('v0', { rateKbit: 600, delayMs: 50 }, { netem: true })[2];
    // 15,000 queued bytes and 3,750 in flight over 50 ms, in 1,000-byte packets, and two spare.
    expect(leaf).toEqual([
      'qdisc',
      'replace',
      'dev',
      'v0',
      'parent',
      '1:10',
      'handle',
      '10:',
      'netem',
      'delay',
      '50ms',
      'limit',
      '21',
    ]);
    expect(limitCommands('v0', { rateKbit: 600, delayMs: 50 }, { netem: false })[2]).toContain(
      'bfifo',
    );
  });

  it("reads a leaf's sent and dropped packets from tc -s", () => {
    const text = [
      'qdisc htb 1: root refcnt 3 r2q 1 default 0x10 direct_packets_stat 0 direct_qlen 1000',
      ' Sent 314958 bytes 217 pkt (dropped 78, overlimits 207 requeues 0) ',
      ' backlog 0b 0p requeues 0',
      'qdisc bfifo 10: parent 1:10 limit 50000b',
      ' Sent 314958 bytes 217 pkt (dropped 51, overlimits 0 requeues 0) ',
      ' backlog 0b 0p requeues 0',
      'qdisc pfifo 20: parent 1:20 limit 0p',
      ' Sent 0 bytes 0 pkt (dropped 27, overlimits 0 requeues 0) ',
      ' backlog 0b 0p requeues 0',
    ].join('\n');
    expect(parseQdiscCounters(text, '10:')).toEqual({ sent: 217, dropped: 51 });
    expect(parseQdiscCounters(text, '20:')).toEqual({ sent: 0, dropped: 27 });
    expect(parseQdiscCounters(text, '30:')).toEqual({ sent: 0, dropped: 0 });
  });
});

/** Samples every 500 ms from t = 0 with these decoded-frame counts and heights. */
const series = (frames: number[], heights: number[] = []): TimedSample[] =>
  frames.map((framesDecoded, i) => ({
    t: i * 500,
    at: 1000 + i * 500,
    framesDecoded,
    frameWidth: 0,
    frameHeight: heights[i] ?? 720,
    freezeCount: 0,
    totalFreezesDuration: 0,
    packetsLost: 0,
    packetsReceived: 0,
    bytesReceived: framesDecoded * 1000,
    jitter: 0,
    keyFramesDecoded: 0,
  }));

describe('viewer summaries', () => {
  it('counts as over 500 ms no more of Chromium\u2019s freezes than their total time holds', () => {
    const samples = series([0, 15, 30, 45]).map((s, i) => ({
      ...s,
      // Six freezes by Chromium's 183 ms rule, 1.2 s of freezing in all: at most two over 500 ms.
      freezeCount: i === 3 ? 6 : 0,
      totalFreezesDuration: i === 3 ? 1.2 : 0,
    }));
    expect(longFreezes(samples, 0, 1500)).toBe(2);
    expect(
      longFreezes(
        samples.map((s) => ({ ...s, totalFreezesDuration: 0.3 * (s.freezeCount / 6) })),
        0,
        1500,
      ),
    ).toBe(0);
  });

  const frames = [0, 10, 20, 20, 20, 30, 40, 40, 50];

  it('counts as freezes the pauses on screen over 500 ms that ended inside the window', () => {
    const gaps = [
      { t: 1000, ms: 500 },
      { t: 2000, ms: 501 },
      { t: 3000, ms: 250 },
      { t: 4000, ms: 2500 },
    ];
    // 500 ms exactly is no freeze; the window is (from, to].
    expect(freezesWithin(gaps, 0, 5000)).toEqual([gaps[1], gaps[3]]);
    expect(freezesWithin(gaps, 2000, 4000)).toEqual([gaps[3]]);
    expect(freezesWithin(gaps, 0, 3999)).toEqual([gaps[1]]);
  });

  it('finds stalls as runs without a decoded frame, counted from the last sample with progress', () => {
    expect(stalls(series(frames), 0, 4000)).toEqual([
      { start: 1000, ms: 1000 },
      { start: 3000, ms: 500 },
    ]);
    expect(stalls(series(frames), 0, 4000, 600)).toEqual([{ start: 1000, ms: 1000 }]);
    // A stall still going at the end of the window counts too.
    expect(stalls(series([0, 10, 10, 10]), 0, 1500)).toEqual([{ start: 500, ms: 1000 }]);
  });

  it('gives frames per second over a window', () => {
    expect(framesPerSecond(series(frames), 0, 4000)).toBe(12.5);
    expect(framesPerSecond(series(frames), 2500, 3500)).toBe(10);
    expect(framesPerSecond(series(frames), 5000, 6000)).toBeNaN();
  });

  it('settles when the height stays acceptable to the end of the window', () => {
    const heights = [720, 720, 360, 720, 360, 360, 360];
    const samples = series([0, 1, 2, 3, 4, 5, 6], heights);
    expect(settleMs(samples, 0, 3000, (h) => h < 720)).toBe(2000);
    expect(settleMs(samples, 500, 1500, (h) => h < 720)).toBeUndefined();
    expect(settleMs(samples, 2000, 3000, (h) => h < 720)).toBe(0);
    // Down in two steps: settled below the top on the first.
    const steps = series([0, 1, 2, 3, 4, 5], [720, 360, 360, 180, 180, 180]);
    expect(settleMs(steps, 0, 2500, (h) => h < 720)).toBe(500);
    // A probe up to another acceptable layer and back leaves it settled; a return to the top
    // does not.
    const probe = series([0, 1, 2, 3, 4, 5], [720, 180, 180, 360, 180, 180]);
    expect(settleMs(probe, 0, 5000, (h) => h < 720)).toBe(500);
    const back = series([0, 1, 2, 3, 4, 5], [720, 180, 180, 720, 180, 180]);
    expect(settleMs(back, 0, 5000, (h) => h < 720)).toBe(2000);
  });

  it('makes a timeline of whole steps with the rates since the point before', () => {
    const samples = series([0, 10, 25, 40, 40]);
    samples[1]!.t = 400;
    samples[2]!.t = 1010;
    samples[3]!.t = 1500;
    samples[4]!.t = 2100;
    expect(timeline(samples, 1000)).toEqual([
      { t: 1010, height: 720, fps: 24.8, kbps: 198 },
      { t: 2100, height: 720, fps: 13.8, kbps: 110.1 },
    ]);
    expect(timeline(samples).map((p) => p.t)).toEqual([400, 1010, 1500, 2100]);
  });

  it('summarises a window: shares of heights, rates and stalls', () => {
    const samples = series(frames, [720, 720, 360, 360, 360, 360, 360, 360, 360]);
    expect(summarise(samples, 0, 4000)).toEqual({
      from: 0,
      to: 4000,
      heights: { 360: 0.8, 720: 0.2 },
      fps: 12.5,
      kbps: 100,
      chromiumFreezes: 0,
      longFreezes: 0,
      stalls: 2,
      longestStallMs: 1000,
      packetsLost: 0,
    });
  });
});
