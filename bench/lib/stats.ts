/** The p-quantile (0..1) of a sample by nearest rank; NaN for an empty sample. */
export const percentile = (xs: number[], p: number): number =>
  xs.length
    ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!
    : NaN;

/** Median (mean of the middle two for an even count), min and max of repeated measurements. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function spread(values: number[]): Spread {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length === 0) return { median: NaN, min: NaN, max: NaN, values };
  const mid = Math.floor(xs.length / 2);
  const median = xs.length % 2 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
  return { median, min: xs[0]!, max: xs[xs.length - 1]!, values };
}

/** Least-squares line through (x, y) points: slope, intercept and r². */
export function linearFit(
  points: { x: number; y: number }[],
): { slope: number; intercept: number; r2: number } | undefined {
  const ps = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (ps.length < 2) return undefined;
  const n = ps.length;
  const mx = ps.reduce((s, p) => s + p.x, 0) / n;
  const my = ps.reduce((s, p) => s + p.y, 0) / n;
  const sxx = ps.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = ps.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const syy = ps.reduce((s, p) => s + (p.y - my) ** 2, 0);
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

export const round = (x: number, digits = 1): number =>
  Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x;
