/** The p-quantile (0..1) of a sample by nearest rank; NaN for an empty sample. */
export const percentile = (xs: number[], p: number): number =>
  xs.length
    ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!
    : NaN;
