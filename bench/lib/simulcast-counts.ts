/** What a simulcast fan-out's viewers got, added up and checked. */
import type { QualityCounts } from './viewers/types';

/**
 * Adds counts by quality into a total: another load generator's in the same window (different
 * viewers: everything adds up), or another window's (the same viewers: packets add up, viewers
 * and silent viewers are those of the window that had most).
 */
export function addCounts(
  into: Record<string, QualityCounts>,
  counts: Record<string, QualityCounts>,
  across: 'processes' | 'windows',
): void {
  for (const [quality, c] of Object.entries(counts)) {
    const t = (into[quality] ??= { viewers: 0, received: 0, expected: 0, silent: 0 });
    t.received += c.received;
    t.expected += c.expected;
    if (across === 'processes') {
      t.viewers += c.viewers;
      t.silent += c.silent;
    } else {
      t.viewers = Math.max(t.viewers, c.viewers);
      t.silent = Math.max(t.silent, c.silent);
    }
  }
}

/**
 * Why a simulcast step's viewers did not get what they asked for, if they did not: a viewer that
 * heard no audio or no video in a window, a quality whose viewers received nothing, or a server
 * that does not report a viewer on every layer.
 */
export function simulcastShortfall(
  windows: { byQuality?: Record<string, QualityCounts>; layerViewers?: number[] }[],
  layers: number,
): string | undefined {
  for (const [i, w] of windows.entries()) {
    if (!Object.keys(w.byQuality ?? {}).length) return `window ${i + 1}: no viewer was counted`;
    for (const [quality, c] of Object.entries(w.byQuality ?? {})) {
      if (c.received === 0) return `window ${i + 1}: the ${quality} viewers received nothing`;
      if (c.silent)
        return `window ${i + 1}: ${c.silent} of the ${c.viewers} ${quality} viewers received no audio or no video`;
    }
    const counts = w.layerViewers;
    if (!counts) return `window ${i + 1}: the server reported no layers`;
    if (counts.length !== layers)
      return `window ${i + 1}: the server reported ${counts.length} layers, not ${layers}`;
    const empty = counts.findIndex((n) => n === 0);
    if (empty >= 0) return `window ${i + 1}: the server reported no viewer on layer ${empty}`;
  }
  return undefined;
}
