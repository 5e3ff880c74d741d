import fc from 'fast-check';
import {
  aggregateBatch,
  aggregateKeyId,
  average,
  mergeAggregates,
  type PartialAggregate,
  type PositionedEvent,
} from '../../../core/aggregate';

const MINUTE = 60_000;
const WINDOWS = [
  { name: '1m', sizeMs: MINUTE, hopMs: MINUTE },
  { name: '5m', sizeMs: 5 * MINUTE, hopMs: MINUTE },
];
const BASE = Date.parse('2026-11-21T10:00:00Z');

function positioned(
  i: number,
  sensorId: string,
  value: number,
  offsetMs: number,
  lane = 'shard-0/a',
): PositionedEvent {
  return {
    event: { eventId: `e${i}`, sensorId, metric: 'temperature', value, eventTime: BASE + offsetMs },
    lane,
    sequenceNumber: String(1000 + i),
  };
}

/** Merges any number of partial maps (keyed by `aggregateKeyId`) into one. */
function mergeAggregateMaps(
  maps: Iterable<ReadonlyMap<string, PartialAggregate>>,
): Map<string, PartialAggregate> {
  const merged = new Map<string, PartialAggregate>();
  for (const map of maps) {
    for (const [id, partial] of map) {
      const existing = merged.get(id);
      merged.set(id, existing ? mergeAggregates(existing, partial) : partial);
    }
  }
  return merged;
}

const batchArbitrary = fc
  .array(
    fc.record({
      sensor: fc.constantFrom('s1', 's2', 's3'),
      value: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      offset: fc.integer({ min: 0, max: 10 * MINUTE }),
      lane: fc.constantFrom('shard-0/a', 'shard-1/b'),
    }),
    { maxLength: 200 },
  )
  .map((rows) => rows.map((r, i) => positioned(i, r.sensor, r.value, r.offset, r.lane)));

function expectSameAggregates(
  actual: Map<string, PartialAggregate>,
  expected: Map<string, PartialAggregate>,
) {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [id, want] of expected) {
    const got = actual.get(id)!;
    expect({ ...got, sum: 0 }).toEqual({ ...want, sum: 0 });
    expect(got.sum).toBeCloseTo(want.sum, 6);
  }
}

describe('aggregateBatch', () => {
  test('folds an event into every instance of every configured window', () => {
    const result = aggregateBatch(
      [positioned(1, 's1', 10, 7 * MINUTE + 42_000)],
      [...WINDOWS, { name: '1h', sizeMs: 60 * MINUTE, hopMs: 60 * MINUTE }],
    );
    expect([...result.values()].map((a) => a.window)).toEqual(['1m', '5m', '5m', '5m', '5m', '5m', '1h']);
  });

  test('computes count, sum, min, max and event-time range per window instance', () => {
    const result = aggregateBatch(
      [positioned(1, 's1', 10, 5_000), positioned(2, 's1', 20, 30_000), positioned(3, 's1', 6, 61_000)],
      [WINDOWS[0]],
    );
    expect(result.get(`s1|temperature|1m|${BASE}`)).toMatchObject({
      count: 2,
      sum: 30,
      min: 10,
      max: 20,
      firstEventTime: BASE + 5_000,
      lastEventTime: BASE + 30_000,
      windowEnd: BASE + MINUTE,
    });
    expect(average(result.get(`s1|temperature|1m|${BASE}`)!)).toBe(15);
    expect(result.get(`s1|temperature|1m|${BASE + MINUTE}`)).toMatchObject({ count: 1, sum: 6 });
  });

  test('keeps the first and last sequence number of every lane', () => {
    const result = aggregateBatch(
      [positioned(5, 's1', 1, 0, 'A'), positioned(3, 's1', 1, 0, 'A'), positioned(9, 's1', 1, 0, 'B')],
      [WINDOWS[0]],
    );
    expect(result.get(`s1|temperature|1m|${BASE}`)!.lanes).toEqual({
      A: { first: '1003', last: '1005' },
      B: { first: '1009', last: '1009' },
    });
  });

  test('aggregating a batch split anywhere and merging the parts equals aggregating it whole', () => {
    fc.assert(
      fc.property(batchArbitrary, fc.array(fc.nat(), { maxLength: 5 }), (events, cuts) => {
        const points = [...new Set(cuts.map((c) => (events.length ? c % (events.length + 1) : 0)))].sort(
          (a, b) => a - b,
        );
        const parts: PositionedEvent[][] = [];
        let from = 0;
        for (const p of [...points, events.length]) {
          parts.push(events.slice(from, p));
          from = p;
        }
        expectSameAggregates(
          mergeAggregateMaps(parts.map((p) => aggregateBatch(p, WINDOWS))),
          aggregateBatch(events, WINDOWS),
        );
      }),
      { numRuns: 300 },
    );
  });

  test('aggregates equal a from-scratch recomputation of each window', () => {
    fc.assert(
      fc.property(batchArbitrary, (events) => {
        const result = aggregateBatch(events, WINDOWS);
        for (const agg of result.values()) {
          const members = events.filter(
            (e) =>
              e.event.sensorId === agg.sensorId &&
              e.event.eventTime >= agg.windowStart &&
              e.event.eventTime < agg.windowEnd,
          );
          const values = members.map((m) => m.event.value);
          if (agg.count !== members.length) return false;
          if (agg.min !== Math.min(...values) || agg.max !== Math.max(...values)) return false;
          const sum = values.reduce((a, b) => a + b, 0);
          if (Math.abs(agg.sum - sum) > 1e-9 * Math.max(1, Math.abs(sum)) * members.length) return false;
        }
        return true;
      }),
      { numRuns: 200 },
    );
  });
});

describe('mergeAggregates', () => {
  const arbitraryPartial = batchArbitrary
    .filter((events) => events.length > 0)
    .map((events) =>
      aggregateBatch(
        events.map((e) => ({ ...e, event: { ...e.event, sensorId: 's1', eventTime: BASE } })),
        [WINDOWS[0]],
      ),
    )
    .map((map) => [...map.values()][0]);

  test('is associative', () => {
    fc.assert(
      fc.property(arbitraryPartial, arbitraryPartial, arbitraryPartial, (a, b, c) => {
        const left = mergeAggregates(mergeAggregates(a, b), c);
        const right = mergeAggregates(a, mergeAggregates(b, c));
        return (
          left.count === right.count &&
          left.min === right.min &&
          left.max === right.max &&
          Math.abs(left.sum - right.sum) <= 1e-9 * Math.max(1, Math.abs(left.sum)) * 3 &&
          JSON.stringify(left.lanes) === JSON.stringify(right.lanes)
        );
      }),
    );
  });

  test('fails loudly when asked to merge aggregates of different keys', () => {
    const [a] = aggregateBatch([positioned(1, 's1', 1, 0)], [WINDOWS[0]]).values();
    const [b] = aggregateBatch([positioned(2, 's2', 1, 0)], [WINDOWS[0]]).values();
    expect(() => mergeAggregates(a, b)).toThrow(/different keys/);
    expect(aggregateKeyId(a)).toBe(`s1|temperature|1m|${BASE}`);
  });
});
