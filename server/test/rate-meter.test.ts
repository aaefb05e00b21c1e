import { describe, expect, it } from 'vitest';
import { RateMeter } from '../src/media/RateMeter';

describe('a rate meter', () => {
  it('measures bit/s over windows of half a second or more, smoothed', () => {
    const meter = new RateMeter(0);
    expect(meter.bitrate).toBe(0);
    // 40 kbit/s of audio: 50 packets of 100 bytes a second.
    for (let i = 0; i < 50; i += 1) meter.received(100);
    expect(meter.measure(1000)).toBe(40_000);
    // A window under half a second is left to grow.
    meter.received(1000);
    expect(meter.measure(1200)).toBe(40_000);
    // 1000 + 4000 bytes over 0.8 s is 50 kbit/s, a quarter of which moves the rate.
    meter.received(4000);
    expect(meter.measure(1800)).toBe(42_500);
    expect(meter.bitrate).toBe(42_500);
  });
});
