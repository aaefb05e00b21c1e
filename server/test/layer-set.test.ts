import { describe, expect, it } from 'vitest';
import { LayerSet } from '../src/media/LayerSet';

describe('what a layer needs', () => {
  it('is measured over windows of half a second or more, so a keyframe burst is not a rate', () => {
    const layers = new LayerSet(1, 0);
    const layer = layers.get(0)!;
    // A 60 KB keyframe in the first tenth of a second, then 25 KB a second.
    layers.received(layer, 60_000, 50);
    layers.measure(100);
    expect(layers.needsByRank()).toEqual([200_000]); // still the assumption: nothing measured
    for (let t = 200; t <= 1000; t += 100) layers.received(layer, 2_500, t);
    layers.measure(1000);
    // 82.5 KB over the whole second (660k), not 60 KB over a tenth (4.8 Mbit/s); and as that
    // second holds the first keyframe, smoothed from the assumed 200k: 0.75 × 200k + 0.25 × 660k.
    expect(layers.needsByRank()).toEqual([315_000]);
    for (let t = 1100; t <= 2000; t += 100) layers.received(layer, 2_500, t);
    layers.measure(2000);
    // Then three quarters of the last need and a quarter of this second's 200k.
    expect(layers.needsByRank()).toEqual([286_250]);
  });
});
