/**
 * Small statistics for the local benchmark and the soak, as pure functions over samples:
 * percentiles, medians, and the soak's verdict on whether a series of memory figures is flat.
 */

/** One memory figure (MiB) at a time (minutes since the start). */
export interface TimedValue {
  readonly minute: number;
  readonly value: number;
}

export interface MemoryVerdict {
  /** Least-squares slope of the values, MiB per minute. */
  readonly slopeMiBPerMinute: number;
  /** Median of the first quarter of the samples (at least one sample). */
  readonly firstQuarterMiB: number;
  /** Median of the last quarter of the samples (at least one sample). */
  readonly lastQuarterMiB: number;
  /**
   * GROWING when the slope is above the threshold and the last quarter's median is above the
   * first's (a slope alone can come from one sawtooth of a buffer that fills and empties); FLAT
   * otherwise, and when there are fewer than 4 samples to judge by.
   */
  readonly verdict: 'FLAT' | 'GROWING';
}

/** The `p`-th percentile (0–100) of ascending `sorted` values, nearest rank; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** A count or rate as printed in the bench reports: rounded, with thousands separators. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** The median of `values`; NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Least-squares slope of value over minute; 0 with fewer than two distinct times. */
export function linearSlope(samples: readonly TimedValue[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const meanX = samples.reduce((sum, s) => sum + s.minute, 0) / n;
  const meanY = samples.reduce((sum, s) => sum + s.value, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const s of samples) {
    covariance += (s.minute - meanX) * (s.value - meanY);
    variance += (s.minute - meanX) ** 2;
  }
  return variance === 0 ? 0 : covariance / variance;
}

/** Judges a series of memory figures (oldest first) against `maxGrowthMiBPerMinute`. */
export function memoryVerdict(samples: readonly TimedValue[], maxGrowthMiBPerMinute: number): MemoryVerdict {
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const slopeMiBPerMinute = linearSlope(samples);
  const firstQuarterMiB = median(samples.slice(0, quarter).map((s) => s.value));
  const lastQuarterMiB = median(samples.slice(-quarter).map((s) => s.value));
  const growing =
    samples.length >= 4 && slopeMiBPerMinute > maxGrowthMiBPerMinute && lastQuarterMiB > firstQuarterMiB;
  return { slopeMiBPerMinute, firstQuarterMiB, lastQuarterMiB, verdict: growing ? 'GROWING' : 'FLAT' };
}
