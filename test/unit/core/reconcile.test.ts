import fc from 'fast-check';
import {
  compareHourly,
  combineReports,
  comparedReport,
  dayRange,
  findHourlyWindow,
  type HourlyStats,
  noHourlyWindowReport,
  ReconcileInputError,
  relativeDifference,
} from '../../../core/reconcile';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-20T00:00:00Z');

function speed(hour: number, count: number, sum: number, min = 1, max = 9, sensorId = 's-1'): HourlyStats {
  return { sensorId, metric: 'temperature', hourStart: T0 + hour * HOUR, count, sum, min, max };
}

function batch(hour: number, count: number, avg: number, min = 1, max = 9, sensorId = 's-1'): HourlyStats {
  return { sensorId, metric: 'temperature', hourStart: T0 + hour * HOUR, count, avg, min, max };
}

describe('relativeDifference', () => {
  test('is 0 for equal values, zeros included', () => {
    expect(relativeDifference(0, 0)).toBe(0);
    expect(relativeDifference(-3.5, -3.5)).toBe(0);
  });

  test('is the difference relative to the larger magnitude', () => {
    expect(relativeDifference(11, 10)).toBeCloseTo(1 / 11, 12);
  });

  test('is 1 when one side is 0 and the other is not', () => {
    expect(relativeDifference(0, 42)).toBe(1);
  });

  test('is symmetric and between 0 and 2', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (a, b) => {
          const d = relativeDifference(a, b);
          return d === relativeDifference(b, a) && d >= 0 && d <= 2;
        },
      ),
    );
  });
});

describe('compareHourly', () => {
  test('layers that agree give zero drift', () => {
    const result = compareHourly([speed(0, 4, 20), speed(1, 2, 6)], [batch(0, 4, 5), batch(1, 2, 3)]);

    expect(result).toEqual({
      itemsCompared: 2,
      itemsDiffering: 0,
      maxRelativeDifference: 0,
      missingInSpeed: 0,
      missingInBatch: 0,
      itemsUnsettled: 0,
      itemsLateOnly: 0,
      differences: [],
    });
  });

  test('the speed layer sum is compared as a mean with the batch layer average', () => {
    const result = compareHourly([speed(0, 3, 10)], [batch(0, 3, 10 / 3)]);

    expect(result.itemsDiffering).toBe(0);
  });

  test('a producer duplicate counted by the speed layer shows as a count mismatch', () => {
    // Events 2, 4, 6 in batch; the speed layer also counted a second copy of the 6.
    const result = compareHourly([speed(0, 4, 18, 2, 6)], [batch(0, 3, 4, 2, 6)]);

    expect(result.itemsDiffering).toBe(1);
    expect(result.differences[0]).toMatchObject({
      kind: 'mismatch',
      field: 'count',
      hourStart: '2026-11-20T00:00:00.000Z',
      speed: { count: 4, avg: 4.5, min: 2, max: 6 },
      batch: { count: 3, avg: 4, min: 2, max: 6 },
    });
    expect(result.maxRelativeDifference).toBeCloseTo(0.25, 12);
  });

  test('differences at or below the tolerance count as equal', () => {
    const result = compareHourly([speed(0, 3, 0.1 + 0.2 + 0.3)], [batch(0, 3, 0.2)], { tolerance: 1e-9 });

    expect(result).toMatchObject({ itemsDiffering: 0, maxRelativeDifference: 0 });
  });

  test('a difference just above the tolerance counts as differing', () => {
    const result = compareHourly([speed(0, 100, 100)], [batch(0, 100, 1.001)], { tolerance: 1e-4 });

    expect(result.itemsDiffering).toBe(1);
    expect(result.differences[0].field).toBe('avg');
  });

  test('an hour only in the batch layer differs by 1 and is counted as missing in speed', () => {
    const result = compareHourly([], [batch(5, 2, 1)]);

    expect(result).toMatchObject({
      itemsCompared: 1,
      itemsDiffering: 1,
      maxRelativeDifference: 1,
      missingInSpeed: 1,
    });
    expect(result.differences[0]).toMatchObject({ kind: 'missing_in_speed', speed: null });
  });

  test('an hour only in the speed layer is counted as missing in batch', () => {
    const result = compareHourly([speed(5, 2, 2)], []);

    expect(result).toMatchObject({ missingInBatch: 1, missingInSpeed: 0 });
    expect(result.differences[0]).toMatchObject({ kind: 'missing_in_batch', batch: null });
  });

  test('hours of different sensors or metrics are never matched with each other', () => {
    const other = { ...batch(0, 4, 5), sensorId: 's-2' } as HourlyStats;

    const result = compareHourly([speed(0, 4, 20)], [other]);

    expect(result).toMatchObject({ itemsCompared: 2, missingInSpeed: 1, missingInBatch: 1 });
  });

  test('lists at most maxDifferences differences, largest first', () => {
    const speedRows = [speed(0, 11, 11), speed(1, 20, 20), speed(2, 101, 101)];
    const batchRows = [batch(0, 10, 1), batch(1, 10, 1), batch(2, 100, 1)];

    const result = compareHourly(speedRows, batchRows, { maxDifferences: 2 });

    expect(result.itemsDiffering).toBe(3);
    expect(result.differences.map((d) => d.hourStart)).toEqual([
      '2026-11-20T01:00:00.000Z',
      '2026-11-20T00:00:00.000Z',
    ]);
    expect(result.maxRelativeDifference).toBeCloseTo(0.5, 12);
  });

  test('rejects two rows for the same hour on one side', () => {
    expect(() => compareHourly([speed(0, 1, 1), speed(0, 2, 2)], [])).toThrow(ReconcileInputError);
  });

  test('rejects a non-finite count', () => {
    expect(() => compareHourly([], [batch(0, Number.NaN, 1)])).toThrow(/count is NaN/);
  });

  test('rejects a negative tolerance', () => {
    expect(() => compareHourly([], [], { tolerance: -1 })).toThrow(/tolerance must be 0 or more/);
  });

  const hourRow = fc.record({
    sensorId: fc.constantFrom('a', 'b', 'c'),
    hour: fc.integer({ min: 0, max: 23 }),
    values: fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 20 }),
  });
  const uniqueRows = fc.uniqueArray(hourRow, { selector: (r) => `${r.sensorId}/${r.hour}`, maxLength: 30 });

  function fromEvents(r: { sensorId: string; hour: number; values: number[] }): {
    s: HourlyStats;
    b: HourlyStats;
  } {
    const sum = r.values.reduce((a, v) => a + v, 0);
    const min = Math.min(...r.values);
    const max = Math.max(...r.values);
    return {
      s: speed(r.hour, r.values.length, sum, min, max, r.sensorId),
      b: batch(r.hour, r.values.length, sum / r.values.length, min, max, r.sensorId),
    };
  }

  test('the same events in both layers never differ', () => {
    fc.assert(
      fc.property(uniqueRows, (rows) => {
        const pairs = rows.map(fromEvents);
        const result = compareHourly(
          pairs.map((p) => p.s),
          pairs.map((p) => p.b),
        );
        return result.itemsDiffering === 0 && result.itemsCompared === rows.length;
      }),
    );
  });

  test('duplicating any event in the speed layer makes exactly that hour differ', () => {
    fc.assert(
      fc.property(
        uniqueRows.filter((r) => r.length > 0),
        fc.nat(),
        fc.nat(),
        (rows, pick, event) => {
          const target = rows[pick % rows.length];
          const duplicated = {
            ...target,
            values: [...target.values, target.values[event % target.values.length]],
          };
          const speedRows = rows.map((r) => fromEvents(r === target ? duplicated : r).s);
          const result = compareHourly(
            speedRows,
            rows.map((r) => fromEvents(r).b),
          );
          return (
            result.itemsDiffering === 1 &&
            result.differences[0].sensorId === target.sensorId &&
            result.maxRelativeDifference > 0
          );
        },
      ),
    );
  });

  test('swapping the layers keeps the counts and the largest difference', () => {
    fc.assert(
      fc.property(uniqueRows, uniqueRows, (left, right) => {
        const a = left.map((r) => fromEvents(r).s);
        const b = right.map((r) => fromEvents(r).s);
        const forward = compareHourly(a, b);
        const backward = compareHourly(b, a);
        return (
          forward.itemsCompared === backward.itemsCompared &&
          forward.itemsDiffering === backward.itemsDiffering &&
          forward.maxRelativeDifference === backward.maxRelativeDifference &&
          forward.missingInSpeed === backward.missingInBatch
        );
      }),
    );
  });
});

describe('compareHourly: hours still filling in (settledBefore)', () => {
  test('an hour ending after settledBefore is counted as unsettled, not compared', () => {
    // Hour 5 ends at 06:00; the speed layer is ahead of the batch layer there.
    const result = compareHourly([speed(5, 9, 9)], [batch(5, 4, 1)], { settledBefore: T0 + 6 * HOUR - 1 });

    expect(result).toMatchObject({ itemsCompared: 0, itemsDiffering: 0, itemsUnsettled: 1 });
  });

  test('an hour ending exactly at settledBefore is compared', () => {
    const result = compareHourly([speed(5, 9, 9)], [batch(5, 4, 1)], { settledBefore: T0 + 6 * HOUR });

    expect(result).toMatchObject({ itemsCompared: 1, itemsDiffering: 1, itemsUnsettled: 0 });
  });

  test('a speed-only hour that has not ended yet is unsettled, not missing in batch', () => {
    const result = compareHourly([speed(5, 2, 2)], [], { settledBefore: T0 + 5 * HOUR + 60_000 });

    expect(result).toMatchObject({ missingInBatch: 0, itemsUnsettled: 1 });
  });

  test('a mismatch in a settled hour is found while later hours are unsettled', () => {
    const result = compareHourly(
      [speed(1, 4, 18, 2, 6), speed(2, 7, 7)],
      [batch(1, 3, 4, 2, 6), batch(2, 5, 1)],
      { settledBefore: T0 + 2 * HOUR },
    );

    expect(result).toMatchObject({ itemsCompared: 1, itemsDiffering: 1, itemsUnsettled: 1 });
    expect(result.differences[0]).toMatchObject({ kind: 'mismatch', hourStart: '2026-11-20T01:00:00.000Z' });
  });

  test('rejects a settledBefore that is not a number', () => {
    expect(() => compareHourly([], [], { settledBefore: Number.NaN })).toThrow(
      /settledBefore must be epoch milliseconds/,
    );
  });
});

describe('compareHourly: hours whose events were all late (lateBefore)', () => {
  test('a batch-only hour ending before lateBefore is late-only, not missing in speed', () => {
    const result = compareHourly([], [batch(1, 2, 1)], { lateBefore: T0 + 3 * HOUR });

    expect(result).toMatchObject({
      itemsCompared: 0,
      itemsDiffering: 0,
      missingInSpeed: 0,
      itemsLateOnly: 1,
      differences: [],
    });
  });

  test('a batch-only hour that starts before lateBefore and ends after it is late-only', () => {
    // Events 10 minutes beyond lateness: their hour can end after lateBefore.
    const result = compareHourly([], [batch(1, 2, 1)], { lateBefore: T0 + HOUR + 10 * 60_000 });

    expect(result).toMatchObject({ itemsDiffering: 0, itemsLateOnly: 1 });
  });

  test('a batch-only hour starting at or after lateBefore is missing in speed', () => {
    const result = compareHourly([], [batch(1, 2, 1)], { lateBefore: T0 + HOUR });

    expect(result).toMatchObject({ itemsDiffering: 1, missingInSpeed: 1, itemsLateOnly: 0 });
  });

  test('an hour both layers have is compared however old it is', () => {
    // Some of the hour's events were late: the speed layer has fewer than the batch layer.
    const result = compareHourly([speed(1, 2, 2)], [batch(1, 3, 1)], { lateBefore: T0 + 10 * HOUR });

    expect(result).toMatchObject({ itemsCompared: 1, itemsDiffering: 1, itemsLateOnly: 0 });
  });

  test('a speed-only hour before lateBefore is still missing in batch', () => {
    const result = compareHourly([speed(1, 2, 2)], [], { lateBefore: T0 + 10 * HOUR });

    expect(result).toMatchObject({ itemsDiffering: 1, missingInBatch: 1, itemsLateOnly: 0 });
  });

  test('an unsettled batch-only hour counts as unsettled, not late-only', () => {
    const result = compareHourly([], [batch(1, 2, 1)], {
      lateBefore: T0 + 10 * HOUR,
      settledBefore: T0 + HOUR,
    });

    expect(result).toMatchObject({ itemsUnsettled: 1, itemsLateOnly: 0 });
  });

  test('rejects a lateBefore that is not a number', () => {
    expect(() => compareHourly([], [], { lateBefore: Number.NaN })).toThrow(
      /lateBefore must be epoch milliseconds/,
    );
  });
});

describe('compareHourly with settledBefore and lateBefore (properties)', () => {
  type Row = { sensorId: string; hour: number; count: number; mean: number };
  const row: fc.Arbitrary<Row> = fc.record({
    sensorId: fc.constantFrom('a', 'b'),
    hour: fc.integer({ min: 0, max: 47 }),
    count: fc.integer({ min: 1, max: 50 }),
    mean: fc.integer({ min: -100, max: 100 }),
  });
  const side = fc.uniqueArray(row, { selector: (r) => `${r.sensorId}/${r.hour}`, maxLength: 40 });
  const instant = fc.integer({ min: -2 * HOUR, max: 50 * HOUR }).map((offset) => T0 + offset);
  const toSpeed = (r: Row): HourlyStats =>
    speed(r.hour, r.count, r.count * r.mean, r.mean, r.mean, r.sensorId);
  const toBatch = (r: Row): HourlyStats => batch(r.hour, r.count, r.mean, r.mean, r.mean, r.sensorId);
  const startOf = (d: { hourStart: string }): number => Date.parse(d.hourStart);

  test('every hour is compared, unsettled or late-only, exactly one of them', () => {
    fc.assert(
      fc.property(side, side, instant, instant, (s, b, settledBefore, lateBefore) => {
        const keys = new Set([...s, ...b].map((r) => `${r.sensorId}/${r.hour}`));
        const result = compareHourly(s.map(toSpeed), b.map(toBatch), { settledBefore, lateBefore });
        return result.itemsCompared + result.itemsUnsettled + result.itemsLateOnly === keys.size;
      }),
    );
  });

  test('an hour ending after settledBefore is never counted as differing', () => {
    fc.assert(
      fc.property(side, side, instant, (s, b, settledBefore) => {
        const result = compareHourly(s.map(toSpeed), b.map(toBatch), {
          settledBefore,
          maxDifferences: 1000,
        });
        return result.differences.every((d) => startOf(d) + HOUR <= settledBefore);
      }),
    );
  });

  test('a batch-only hour ending before lateBefore is never counted as differing', () => {
    fc.assert(
      fc.property(side, instant, (b, lateBefore) => {
        const result = compareHourly([], b.map(toBatch), { lateBefore });
        const ended = b.filter((r) => T0 + (r.hour + 1) * HOUR <= lateBefore).length;
        return result.itemsLateOnly >= ended && result.itemsDiffering === b.length - result.itemsLateOnly;
      }),
    );
  });

  test('a mismatch in a settled hour is always found, whatever lateBefore says', () => {
    fc.assert(
      fc.property(
        side.filter((rows) => rows.length > 0),
        fc.nat(),
        instant,
        (rows, pick, lateBefore) => {
          const target = rows[pick % rows.length];
          const settledBefore = T0 + (target.hour + 1) * HOUR;
          // One duplicate in the speed layer: one more event of the same value.
          const speedRows = rows.map((r) => toSpeed(r === target ? { ...r, count: r.count + 1 } : r));
          const result = compareHourly(speedRows, rows.map(toBatch), {
            settledBefore,
            lateBefore,
          });
          return (
            result.itemsDiffering === 1 &&
            result.differences[0].kind === 'mismatch' &&
            startOf(result.differences[0]) === T0 + target.hour * HOUR
          );
        },
      ),
    );
  });

  test('a settled speed-only hour is always a difference', () => {
    fc.assert(
      fc.property(side, instant, instant, (s, settledBefore, lateBefore) => {
        const result = compareHourly(s.map(toSpeed), [], {
          settledBefore,
          lateBefore,
          maxDifferences: 1000,
        });
        const settled = s.filter((r) => T0 + (r.hour + 1) * HOUR <= settledBefore).length;
        return (
          result.missingInBatch === settled &&
          result.itemsDiffering === settled &&
          result.itemsLateOnly === 0 &&
          result.differences.every((d) => d.kind === 'missing_in_batch')
        );
      }),
    );
  });
});

describe('findHourlyWindow', () => {
  test('picks the first tumbling one-hour window', () => {
    const windows = [
      { name: '1m', sizeMs: 60_000, hopMs: 60_000 },
      { name: '1h-hop', sizeMs: HOUR, hopMs: 60_000 },
      { name: 'hourly', sizeMs: HOUR, hopMs: HOUR },
    ];

    expect(findHourlyWindow(windows)?.name).toBe('hourly');
  });

  test('finds nothing when no window is a tumbling hour', () => {
    expect(findHourlyWindow([{ name: '1h-hop', sizeMs: HOUR, hopMs: 60_000 }])).toBeUndefined();
  });
});

describe('dayRange', () => {
  test('spans 00:00 UTC to the next 00:00 UTC', () => {
    expect(dayRange('2026-11-20')).toEqual({ start: T0, end: T0 + 24 * HOUR });
  });

  test('rejects a date that does not exist', () => {
    expect(() => dayRange('2026-02-30')).toThrow(/day must be a date YYYY-MM-DD \(given "2026-02-30"\)/);
  });
});

describe('reports', () => {
  test('a compared report carries the comparison and says how many items differ', () => {
    const comparison = compareHourly([speed(0, 4, 18, 2, 6)], [batch(0, 3, 4, 2, 6)]);

    const report = comparedReport(['2026-11-20'], '1h', comparison, 1e-6, T0);

    expect(report).toMatchObject({
      status: 'compared',
      window: '1h',
      days: ['2026-11-20'],
      itemsDiffering: 1,
    });
    expect(report.message).toBe(
      '2026-11-20: 1 of 1 hourly items differ (window 1h), largest relative difference 0.250',
    );
  });

  test('the message says how many hours were not compared, and why', () => {
    const comparison = compareHourly([speed(2, 2, 2), speed(3, 2, 2)], [batch(0, 1, 1), batch(2, 2, 1)], {
      lateBefore: T0 + HOUR,
      settledBefore: T0 + 3 * HOUR,
    });

    const report = comparedReport(['2026-11-20'], '1h', comparison, 1e-6, T0);

    expect(report.message).toBe(
      '2026-11-20: 1 hourly items agree (window 1h); not compared: 1 late-only, 1 still filling in',
    );
  });

  test('a report that compared no hour says so', () => {
    const comparison = compareHourly([speed(2, 2, 2)], [batch(2, 2, 1)], { settledBefore: T0 });

    const report = comparedReport(['2026-11-20'], '1h', comparison, 1e-6, T0);

    expect(report.message).toBe(
      '2026-11-20: no hourly items compared (window 1h); not compared: 1 still filling in',
    );
  });

  test('without an hourly window the report says so and compares nothing', () => {
    const report = noHourlyWindowReport(['2026-11-20'], 1e-6, T0);

    expect(report).toMatchObject({
      status: 'no_hourly_window',
      window: null,
      itemsCompared: 0,
      itemsUnsettled: 0,
      itemsLateOnly: 0,
    });
    expect(report.message).toMatch(/^no hourly window configured/);
  });
});

describe('combineReports', () => {
  const options = { tolerance: 1e-6, maxDifferences: 20, now: T0 };

  test('adds up the days and keeps the largest difference', () => {
    const day1 = comparedReport(
      ['2026-11-20'],
      '1h',
      compareHourly([speed(0, 4, 4)], [batch(0, 2, 1)]),
      1e-6,
      T0,
    );
    const day2 = comparedReport(
      ['2026-11-21'],
      '1h',
      compareHourly([speed(24, 2, 2)], [batch(24, 2, 1)]),
      1e-6,
      T0,
    );

    const combined = combineReports([day1, day2], '1h', options);

    expect(combined).toMatchObject({
      days: ['2026-11-20', '2026-11-21'],
      itemsCompared: 2,
      itemsDiffering: 1,
      maxRelativeDifference: 0.5,
    });
    expect(combined.message).toMatch(/^2026-11-20\.\.2026-11-21: 1 of 2 hourly items differ/);
  });

  test('adds up the hours not compared', () => {
    const day1 = comparedReport(
      ['2026-11-19'],
      '1h',
      compareHourly([], [batch(-20, 2, 1), batch(-19, 1, 1)], { lateBefore: T0 }),
      1e-6,
      T0,
    );
    const day2 = comparedReport(
      ['2026-11-20'],
      '1h',
      compareHourly([speed(1, 2, 2)], [batch(0, 2, 1)], { lateBefore: T0 + HOUR, settledBefore: T0 + HOUR }),
      1e-6,
      T0,
    );

    const combined = combineReports([day1, day2], '1h', options);

    expect(combined).toMatchObject({
      itemsCompared: 0,
      itemsDiffering: 0,
      itemsLateOnly: 3,
      itemsUnsettled: 1,
    });
    expect(combined.message).toMatch(/not compared: 3 late-only, 1 still filling in$/);
  });

  test('without days, compares nothing and finds no drift', () => {
    expect(combineReports([], '1h', options)).toMatchObject({
      status: 'compared',
      itemsCompared: 0,
      maxRelativeDifference: 0,
    });
  });

  test('without an hourly window, reports so', () => {
    expect(combineReports([], null, options).status).toBe('no_hourly_window');
  });
});
