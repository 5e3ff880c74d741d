import { linearSlope, median, memoryVerdict, percentile, type TimedValue } from '../../../bench/stats';

/** One sample every 10 s for `minutes`, valued by `at(minute)`. */
function series(minutes: number, at: (minute: number) => number): TimedValue[] {
  return Array.from({ length: minutes * 6 }, (_, i) => ({ minute: i / 6, value: at(i / 6) }));
}

describe('bench statistics', () => {
  test('percentile takes the nearest rank of sorted values', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);

    expect([percentile(sorted, 50), percentile(sorted, 99), percentile(sorted, 100)]).toEqual([50, 99, 100]);
  });

  test('percentile of no values is NaN', () => {
    expect(percentile([], 99)).toBeNaN();
  });

  test('median of an even count averages the two middle values', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  test('linear slope of a straight line is its gradient', () => {
    expect(linearSlope(series(5, (m) => 30 + 2 * m))).toBeCloseTo(2, 10);
  });

  test('memory that grows steadily above the threshold is GROWING', () => {
    const verdict = memoryVerdict(
      series(10, (m) => 30 + 3 * m),
      1,
    );

    expect(verdict).toMatchObject({ verdict: 'GROWING', firstQuarterMiB: expect.any(Number) });
    expect(verdict.slopeMiBPerMinute).toBeCloseTo(3, 10);
  });

  test('memory that saws up and down around a level is FLAT', () => {
    // A buffer that fills for a minute and is then delivered: 0–15 MiB on top of 30 MiB.
    const verdict = memoryVerdict(
      series(10, (m) => 30 + 15 * (m % 1)),
      1,
    );

    expect(verdict.verdict).toBe('FLAT');
  });

  test('a steep slope whose last quarter is not above the first is FLAT (a buffer filled late, no trend)', () => {
    const values = [20, 20, 20, 20, 20, 20, 60, 60, 60, 60, 20, 20].map((value, minute) => ({
      minute,
      value,
    }));

    const verdict = memoryVerdict(values, 1);

    expect(verdict.slopeMiBPerMinute).toBeGreaterThan(1);
    expect(verdict.verdict).toBe('FLAT');
  });

  test('fewer than four samples are not enough to call memory GROWING', () => {
    expect(
      memoryVerdict(
        series(0.5, (m) => 30 + 100 * m),
        1,
      ).verdict,
    ).toBe('FLAT');
  });
});
