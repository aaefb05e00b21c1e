/**
 * Latencies counted in 1 ms buckets: a load generator receiving millions of messages keeps a
 * fixed-size array instead of every sample, and histograms from several processes add up
 * exactly. Percentiles are exact to the millisecond (nearest rank, as `percentile` in stats.ts).
 */
export class LatencyHistogram {
  /** counts[ms] for 0..maxMs-1; the last bucket holds everything at or above maxMs. */
  readonly counts: Uint32Array;

  constructor(readonly maxMs = 60_000) {
    this.counts = new Uint32Array(maxMs + 1);
  }

  record(ms: number): void {
    // A receive stamped a little before its send stamp (clock steps) counts as 0 ms.
    const bucket = ms <= 0 ? 0 : ms >= this.maxMs ? this.maxMs : Math.floor(ms);
    this.counts[bucket]! += 1;
  }

  get total(): number {
    let sum = 0;
    for (const count of this.counts) sum += count;
    return sum;
  }

  /** Non-empty buckets as [ms, count] pairs: small enough to send between processes. */
  toSparse(): [number, number][] {
    const pairs: [number, number][] = [];
    this.counts.forEach((count, ms) => {
      if (count) pairs.push([ms, count]);
    });
    return pairs;
  }

  add(pairs: [number, number][]): this {
    for (const [ms, count] of pairs) this.counts[Math.min(ms, this.maxMs)]! += count;
    return this;
  }

  /** The p-quantile (0..1) in ms by nearest rank; NaN when empty. */
  percentile(p: number): number {
    const total = this.total;
    if (total === 0) return NaN;
    const rank = Math.min(total - 1, Math.floor(total * p));
    let seen = 0;
    for (let ms = 0; ms < this.counts.length; ms += 1) {
      seen += this.counts[ms]!;
      if (seen > rank) return ms;
    }
    return this.maxMs;
  }
}
