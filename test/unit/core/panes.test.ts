import fc from 'fast-check';
import { aggregateBatch, type PositionedEvent, type WindowValues } from '../../../core/aggregate';
import {
  PANE_WINDOW,
  composeWindow,
  instancesContaining,
  paneMs,
  panesOf,
  storagePlan,
  windowsFromStored,
} from '../../../core/panes';
import type { WindowSpec } from '../../../core/speed-config';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const w = (name: string, sizeMs: number, hopMs = sizeMs): WindowSpec => ({ name, sizeMs, hopMs });
const DEFAULT_WINDOWS = [w('1m', MINUTE), w('5m', 5 * MINUTE, MINUTE), w('1h', HOUR)];
const T0 = Date.parse('2026-12-03T10:00:00Z');

function positioned(times: readonly number[], values: readonly number[]): PositionedEvent[] {
  return times.map((eventTime, i) => ({
    event: {
      eventId: `e${i}`,
      sensorId: 's1',
      metric: 'temperature',
      value: values[i],
      unit: 'C',
      eventTime,
      timestamp: new Date(eventTime).toISOString(),
    },
    lane: 'shardId-0',
    sequenceNumber: String(1000 + i),
  }));
}

/** A partial without its lanes, as the comparisons below need it. */
function values(partials: Iterable<{ lanes: unknown } & WindowValues>): WindowValues[] {
  return [...partials].map(({ lanes: _lanes, ...rest }) => rest);
}

const byKey = (a: WindowValues, b: WindowValues) =>
  a.window < b.window ? -1 : a.window > b.window ? 1 : a.windowStart - b.windowStart;

describe('storagePlan', () => {
  test('the default windows store 1m (also the pane) and 1h, and compose 5m from 1m panes', () => {
    const plan = storagePlan(DEFAULT_WINDOWS);
    expect(plan.stored.map((x) => x.name)).toEqual(['1m', '1h']);
    expect(plan.composed.map((x) => x.name)).toEqual(['5m']);
    expect(plan.pane?.name).toBe('1m');
  });

  test('without a tumbling window of the pane size, the pane is a window of its own', () => {
    const plan = storagePlan([w('10m', 10 * MINUTE, 2 * MINUTE), w('3m', 3 * MINUTE, MINUTE), w('1h', HOUR)]);
    expect(plan.pane).toEqual({ name: PANE_WINDOW, sizeMs: MINUTE, hopMs: MINUTE });
    expect(plan.stored.map((x) => x.name)).toEqual(['1h', PANE_WINDOW]);
  });

  test('the pane is the gcd of every hopping size and hop', () => {
    expect(paneMs([w('a', 10 * MINUTE, 4 * MINUTE)])).toBe(2 * MINUTE);
    expect(paneMs([w('a', 12 * MINUTE, 4 * MINUTE), w('b', 9 * MINUTE, 3 * MINUTE)])).toBe(MINUTE);
    expect(paneMs([w('a', 10 * MINUTE, 5 * MINUTE)])).toBe(5 * MINUTE);
    expect(paneMs([])).toBeUndefined();
  });

  test('only tumbling windows: nothing is composed and items live their window plus the TTL', () => {
    const plan = storagePlan([w('1m', MINUTE), w('1h', HOUR)]);
    expect(plan.composed).toEqual([]);
    expect(plan.pane).toBeUndefined();
    expect(plan.retainAfterEndMs('1m')).toBe(0);
  });

  test('a pane outlives its window by as long as the longest composed window still reads it', () => {
    const plan = storagePlan([...DEFAULT_WINDOWS, w('15m', 15 * MINUTE, 5 * MINUTE)]);
    expect(plan.retainAfterEndMs('1m')).toBe(14 * MINUTE);
    expect(plan.retainAfterEndMs('1h')).toBe(0);
  });
});

describe('panesOf and instancesContaining', () => {
  const hopping = w('5m', 5 * MINUTE, MINUTE);
  const pane = w('1m', MINUTE);

  test('an instance is size/pane consecutive panes', () => {
    expect(panesOf(hopping, pane, T0)).toEqual([0, 1, 2, 3, 4].map((i) => T0 + i * MINUTE));
  });

  test('a pane is in size/hop instances, the latest starting with it', () => {
    expect(instancesContaining(hopping, T0)).toEqual([-4, -3, -2, -1, 0].map((i) => T0 + i * MINUTE));
    expect(instancesContaining(w('10m', 10 * MINUTE, 5 * MINUTE), T0 + 7 * MINUTE)).toEqual([
      T0,
      T0 + 5 * MINUTE,
    ]);
  });
});

describe('composeWindow', () => {
  test('equals aggregating the events directly into the hopping window (property)', () => {
    const windowArb = fc
      .tuple(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 6 }))
      .map(([hops, hopSeconds]) => w('hop', hops * hopSeconds * 10 * SECOND, hopSeconds * 10 * SECOND));
    const eventsArb = fc.array(
      fc.tuple(fc.integer({ min: 0, max: 10 * MINUTE }), fc.integer({ min: -1000, max: 1000 })),
      { minLength: 1, maxLength: 60 },
    );
    fc.assert(
      fc.property(windowArb, eventsArb, (window, events) => {
        const plan = storagePlan([window]);
        const pane = plan.pane as WindowSpec;
        const batch = positioned(
          events.map(([offset]) => T0 + offset),
          events.map(([, value]) => value),
        );
        const direct = values(aggregateBatch(batch, [window]).values()).sort(byKey);
        const panes = values(aggregateBatch(batch, [pane]).values());
        const composed = composeWindow(window, pane, panes).sort(byKey);
        expect(composed).toEqual(direct);
      }),
    );
  });

  test('only the instances asked for, and none where no pane holds an event', () => {
    const hopping = w('5m', 5 * MINUTE, MINUTE);
    const pane = w('1m', MINUTE);
    const panes = values(aggregateBatch(positioned([T0 + 30 * SECOND], [7]), [pane]).values());
    expect(composeWindow(hopping, pane, panes, [T0, T0 + MINUTE])).toEqual([
      expect.objectContaining({
        window: '5m',
        windowStart: T0,
        windowEnd: T0 + 5 * MINUTE,
        count: 1,
        sum: 7,
      }),
    ]);
  });

  test('adds panes up in event-time order whatever order they come in', () => {
    const hopping = w('5m', 5 * MINUTE, MINUTE);
    const pane = w('1m', MINUTE);
    const panes = values(
      aggregateBatch(positioned([T0, T0 + MINUTE, T0 + 2 * MINUTE], [0.1, 0.2, 0.3]), [pane]).values(),
    );
    const forward = composeWindow(hopping, pane, panes, [T0]);
    const backward = composeWindow(hopping, pane, [...panes].reverse(), [T0]);
    expect(backward[0].sum).toBe(forward[0].sum);
  });
});

describe('windowsFromStored', () => {
  test('lists every configured window, hopping ones composed, and never the pane of its own', () => {
    const windows = [w('10m', 10 * MINUTE, 2 * MINUTE), w('1h', HOUR)];
    const plan = storagePlan(windows);
    const batch = positioned([T0 + 5 * SECOND, T0 + 3 * MINUTE, T0 + 9 * MINUTE], [1, 2, 3]);
    const stored = values(aggregateBatch(batch, plan.stored).values());
    const listed = windowsFromStored(plan, stored).sort(byKey);
    const expected = values(aggregateBatch(batch, windows).values()).sort(byKey);
    expect(listed).toEqual(expected);
    expect(listed.some((x) => x.window === PANE_WINDOW)).toBe(false);
  });
});
