/**
 * Issue 19: the broadcaster's layers by camera size, the answer that takes them, and the quality
 * menu's entries for the layers the server reports.
 */
import type { StreamLayer } from '@onair/protocol';
import { describe, expect, it } from 'vitest';
import { qualityOptions } from '../src/features/live/quality';
import {
  answerReceivesSimulcast,
  sendEncodings,
  withoutScalabilityMode,
} from '../src/lib/simulcast';

const layer = (width: number, height: number): StreamLayer => ({
  width,
  height,
  bitrateKbps: 100,
  active: true,
  needed: true,
  viewers: 0,
});

describe('simulcast encodings by camera size', () => {
  it('sends q, h and f, lowest first, from a 720p camera: 180p, 360p and 720p', () => {
    expect(sendEncodings(1280, 720)).toEqual([
      { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 200_000, scalabilityMode: 'L1T3' },
      { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 700_000, scalabilityMode: 'L1T3' },
      { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 2_500_000, scalabilityMode: 'L1T3' },
    ]);
  });

  it('measures an upright phone by its shorter side', () => {
    expect(sendEncodings(720, 1280).map((e) => e.rid)).toEqual(['q', 'h', 'f']);
    expect(sendEncodings(480, 640).map((e) => e.rid)).toEqual(['q', 'f']);
  });

  it('sends q at half size and f from 360p to 539p', () => {
    for (const [width, height] of [
      [640, 360],
      [960, 539],
    ] as const)
      expect(sendEncodings(width, height)).toEqual([
        { rid: 'q', scaleResolutionDownBy: 2, maxBitrate: 200_000, scalabilityMode: 'L1T3' },
        { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 2_500_000, scalabilityMode: 'L1T3' },
      ]);
    expect(sendEncodings(960, 540)).toHaveLength(3);
  });

  it('sends one encoding with temporal layers below 360p', () => {
    expect(sendEncodings(640, 359)).toEqual([{ scalabilityMode: 'L1T3' }]);
    expect(sendEncodings(0, 0)).toEqual([{ scalabilityMode: 'L1T3' }]);
  });

  it('drops only scalabilityMode for a browser that refuses it', () => {
    expect(withoutScalabilityMode(sendEncodings(640, 360))).toEqual([
      { rid: 'q', scaleResolutionDownBy: 2, maxBitrate: 200_000 },
      { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 2_500_000 },
    ]);
  });
});

describe('an answer that takes the layers', () => {
  const section = (simulcast: string) =>
    [
      'm=video 9 UDP/TLS/RTP/SAVPF 96',
      'a=mid:1',
      'a=recvonly',
      `a=rid:q ${simulcast}`,
      `a=rid:h ${simulcast}`,
      `a=rid:f ${simulcast}`,
      `a=simulcast:${simulcast} q;h;f`,
      '',
    ].join('\r\n');

  it('receives them when it reverses the direction (RFC 8853 §5.3)', () => {
    expect(answerReceivesSimulcast(section('recv'))).toBe(true);
  });

  it('does not when it echoes the offer or leaves simulcast out', () => {
    expect(answerReceivesSimulcast(section('send'))).toBe(false);
    expect(answerReceivesSimulcast('m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n')).toBe(false);
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
