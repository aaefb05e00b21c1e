/**
 * Issue 19: the broadcaster's layers by camera size (one video section each), which of them to
 * pause as the server's layer reports say, what the host's health shows of them, and the quality
 * menu's entries for the layers the server reports.
 */
import type { StreamLayer } from '@onair/protocol';
import { describe, expect, it } from 'vitest';
import { qualityOptions } from '../src/features/live/quality';
import { sentVideo, type SentVideoReport } from '../src/lib/rtc';
import { layerEncodings, sectionChanges, withoutScalabilityMode } from '../src/lib/simulcast';

const layer = (width: number, height: number, needed = true): StreamLayer => ({
  width,
  height,
  bitrateKbps: 100,
  active: true,
  needed,
  viewers: 0,
});

describe('simulcast sections by camera size', () => {
  it('sends a 720p camera in three sections, lowest first: 180p, 360p and 720p', () => {
    expect(layerEncodings(1280, 720)).toEqual([
      { scaleResolutionDownBy: 4, maxBitrate: 200_000, scalabilityMode: 'L1T3' },
      { scaleResolutionDownBy: 2, maxBitrate: 700_000, scalabilityMode: 'L1T3' },
      { scaleResolutionDownBy: 1, maxBitrate: 2_500_000, scalabilityMode: 'L1T3' },
    ]);
  });

  it('measures an upright phone by its shorter side', () => {
    expect(layerEncodings(720, 1280).map((e) => e.scaleResolutionDownBy)).toEqual([4, 2, 1]);
    expect(layerEncodings(480, 640).map((e) => e.scaleResolutionDownBy)).toEqual([2, 1]);
  });

  it('sends half and full size from 360p to 539p', () => {
    for (const [width, height] of [
      [640, 360],
      [960, 539],
    ] as const)
      expect(layerEncodings(width, height)).toEqual([
        { scaleResolutionDownBy: 2, maxBitrate: 200_000, scalabilityMode: 'L1T3' },
        { scaleResolutionDownBy: 1, maxBitrate: 2_500_000, scalabilityMode: 'L1T3' },
      ]);
    expect(layerEncodings(960, 540)).toHaveLength(3);
  });

  it('sends one section with temporal layers below 360p', () => {
    expect(layerEncodings(640, 359)).toEqual([{ scalabilityMode: 'L1T3' }]);
    expect(layerEncodings(0, 0)).toEqual([{ scalabilityMode: 'L1T3' }]);
  });

  it('drops only scalabilityMode for a browser that refuses it', () => {
    expect(layerEncodings(640, 360).map(withoutScalabilityMode)).toEqual([
      { scaleResolutionDownBy: 2, maxBitrate: 200_000 },
      { scaleResolutionDownBy: 1, maxBitrate: 2_500_000 },
    ]);
  });
});

describe('pausing the layers nobody needs', () => {
  const three = (...needed: boolean[]) => needed.map((n, i) => layer(320 << i, 180 << i, n));

  it('pauses the sections of unneeded layers, lowest layer first = first section', () => {
    expect(sectionChanges(three(true, false, false), [true, true, true])).toEqual([
      { section: 1, active: false },
      { section: 2, active: false },
    ]);
  });

  it('resumes a paused section once its layer is needed again', () => {
    expect(sectionChanges(three(true, true, true), [true, true, false])).toEqual([
      { section: 2, active: true },
    ]);
  });

  it('changes nothing when the sections already follow the report', () => {
    expect(sectionChanges(three(true, true, false), [true, true, false])).toEqual([]);
    expect(sectionChanges([], [])).toEqual([]);
  });

  it('sends a section the report does not name, and resumes it if it was paused', () => {
    expect(sectionChanges(three(true), [true, true, false])).toEqual([
      { section: 2, active: true },
    ]);
    expect(sectionChanges(three(true, false, false), [true])).toEqual([]);
  });
});

describe("the host's own health over several sections", () => {
  const outbound = (mid: string, extra: Partial<SentVideoReport>): SentVideoReport =>
    ({ type: 'outbound-rtp', kind: 'video', timestamp: 5000, mid, ...extra }) as SentVideoReport;

  it('sums the bytes of every section and shows the largest one sent', () => {
    expect(
      sentVideo([
        { type: 'outbound-rtp', kind: 'audio', timestamp: 5000, bytesSent: 9999 },
        outbound('1', { bytesSent: 1000, frameWidth: 320, frameHeight: 180, framesPerSecond: 30 }),
        outbound('2', { bytesSent: 3000, frameWidth: 640, frameHeight: 360, framesPerSecond: 30 }),
        outbound('3', { bytesSent: 9000, frameWidth: 1280, frameHeight: 720, framesPerSecond: 29 }),
        { type: 'remote-inbound-rtp', kind: 'video', timestamp: 4900, fractionLost: 0.0125 },
        { type: 'remote-inbound-rtp', kind: 'video', timestamp: 4900, fractionLost: 0.05 },
      ]),
    ).toEqual({ bytes: 13_000, at: 5000, width: 1280, height: 720, fps: 29, lossPct: 5 });
  });

  it('shows a paused top section by the largest still sent, while still counting its bytes', () => {
    expect(
      sentVideo([
        outbound('1', { bytesSent: 1000, frameHeight: 180, frameWidth: 320, active: true }),
        outbound('2', { bytesSent: 3000, frameHeight: 360, frameWidth: 640, active: true }),
        outbound('3', { bytesSent: 9000, frameHeight: 720, frameWidth: 1280, active: false }),
      ]),
    ).toMatchObject({ bytes: 13_000, width: 640, height: 360 });
  });

  it('has nothing to show without video', () => {
    expect(sentVideo([{ type: 'outbound-rtp', kind: 'audio', timestamp: 1, bytesSent: 5 }])).toBe(
      null,
    );
  });
});

describe('the quality menu', () => {
  const three = [layer(320, 180), layer(640, 360), layer(1280, 720)];

  it('labels Auto with the height playing and each layer with its own', () => {
    expect(qualityOptions(three, 360).map((o) => [o.choice, o.label])).toEqual([
      ['auto', 'Auto (360p)'],
      ['high', 'High · 720p'],
      ['medium', 'Medium · 360p'],
      ['low', 'Low · 180p'],
    ]);
  });

  it('offers High and Low for two layers, Auto alone for one or none', () => {
    expect(qualityOptions([layer(320, 180), layer(640, 360)], 0).map((o) => o.label)).toEqual([
      'Auto',
      'High · 360p',
      'Low · 180p',
    ]);
    expect(qualityOptions([layer(1280, 720)], 720).map((o) => o.label)).toEqual(['Auto (720p)']);
    expect(qualityOptions([], 0).map((o) => o.label)).toEqual(['Auto']);
  });

  it('names a portrait layer by its shorter side', () => {
    const portrait = [layer(180, 320), layer(360, 640), layer(720, 1280)];
    expect(qualityOptions(portrait, 0).map((o) => o.label)).toEqual([
      'Auto',
      'High · 720p',
      'Medium · 360p',
      'Low · 180p',
    ]);
  });

  it('lists a remembered ceiling by name until the first report, and only then', () => {
    expect(qualityOptions([], 0, 'low').map((o) => [o.choice, o.label])).toEqual([
      ['auto', 'Auto'],
      ['low', 'Low'],
    ]);
    expect(qualityOptions([layer(1280, 720)], 720, 'low').map((o) => o.choice)).toEqual(['auto']);
    expect(qualityOptions(three, 180, 'low').map((o) => o.choice)).toEqual([
      'auto',
      'high',
      'medium',
      'low',
    ]);
  });
});
