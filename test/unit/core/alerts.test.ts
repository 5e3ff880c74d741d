import fc from 'fast-check';
import {
  alertId,
  applyCooldown,
  compare,
  pruneAlertTimes,
  valueBreach,
  windowBreaches,
  type Breach,
} from '../../../core/alerts';
import type { AlertRule } from '../../../core/speed-config';

const MINUTE = 60_000;
const rule: AlertRule = {
  id: 'temperature-high',
  metric: 'temperature',
  source: 'value',
  aggregate: 'value',
  op: '>',
  threshold: 28,
  cooldownMs: 5 * MINUTE,
  severity: 'warning',
};

function event(eventTime: number, value = 30, sensorId = 's1', metric = 'temperature') {
  return { eventId: `e-${sensorId}-${eventTime}-${value}`, sensorId, metric, value, eventTime };
}

function breachAt(eventTime: number): Breach {
  return valueBreach(event(eventTime), rule)!;
}

describe('compare', () => {
  test.each([
    [29, '>', 28, true],
    [28, '>', 28, false],
    [28, '>=', 28, true],
    [27, '<', 28, true],
    [28, '<=', 28, true],
    [29, '<=', 28, false],
  ] as const)('%d %s %d is %s', (value, op, threshold, expected) => {
    expect(compare(value, op, threshold)).toBe(expected);
  });
});

/** Breaches of `rule` by `events`, in order. */
function breachesOf(events: ReturnType<typeof event>[]): Breach[] {
  return events.map((e) => valueBreach(e, rule)).filter((b): b is Breach => b !== undefined);
}

describe('valueBreach', () => {
  test('yields one breach per event of the rule metric that crosses the threshold', () => {
    const breaches = breachesOf([event(1, 30), event(2, 20), event(3, 31, 's1', 'humidity')]);
    expect(breaches).toHaveLength(1);
    expect(breaches[0]).toMatchObject({ ruleId: 'temperature-high', value: 30, eventTime: 1, threshold: 28 });
  });
});

describe('windowBreaches', () => {
  const avgRule: AlertRule = { ...rule, id: 'avg-high', source: '1m', aggregate: 'avg', threshold: 25 };
  const state = {
    sensorId: 's1',
    metric: 'temperature',
    window: '1m',
    windowStart: 60_000,
    count: 4,
    sum: 104,
    min: 20,
    max: 30,
  };

  test('compares the configured aggregate of the rule window and uses the window start as event time', () => {
    expect(windowBreaches([state], [avgRule])).toEqual([
      expect.objectContaining({
        ruleId: 'avg-high',
        value: 26,
        eventTime: 60_000,
        windowStart: 60_000,
        source: '1m',
      }),
    ]);
  });

  test('ignores other windows and value rules', () => {
    expect(windowBreaches([{ ...state, window: '5m' }], [avgRule, rule])).toEqual([]);
  });
});

describe('applyCooldown', () => {
  test('suppresses breaches within the cooldown of an alert, in either direction', () => {
    const result = applyCooldown(
      [],
      [breachAt(10 * MINUTE), breachAt(7 * MINUTE), breachAt(13 * MINUTE)],
      5 * MINUTE,
    );
    expect(result.alerts.map((a) => a.eventTime)).toEqual([10 * MINUTE]);
  });

  test('a breach exactly one cooldown away raises a new alert', () => {
    const result = applyCooldown([0], [breachAt(5 * MINUTE)], 5 * MINUTE);
    expect(result.alerts).toHaveLength(1);
    expect(result.alertTimes).toEqual([0, 5 * MINUTE]);
  });

  test('a breach between two alerts is suppressed by the later one even when the earlier is exactly a cooldown away', () => {
    expect(applyCooldown([0, 6 * MINUTE], [breachAt(5 * MINUTE)], 5 * MINUTE).alerts).toEqual([]);
  });

  test('with a zero cooldown every distinct breach alerts, but the same breach time never twice', () => {
    const result = applyCooldown([], [breachAt(1), breachAt(2), breachAt(1)], 0);
    expect(result.alerts.map((a) => a.eventTime)).toEqual([1, 2]);
  });

  test('re-applying breaches that were already applied raises nothing new (safe under replays)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 120 }), { maxLength: 60 }), fc.nat(), (minutes, cut) => {
        const breaches = minutes.map((m) => breachAt(m * MINUTE));
        const first = applyCooldown([], breaches, 5 * MINUTE);
        const replayFrom = breaches.length ? cut % breaches.length : 0;
        const replay = applyCooldown(first.alertTimes, breaches.slice(replayFrom), 5 * MINUTE);
        return replay.alerts.length === 0 && replay.alertTimes.length === first.alertTimes.length;
      }),
    );
  });

  test('alerts are never closer than the cooldown and every breach lies within the cooldown of an alert', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 600_000 }), { maxLength: 80 }),
        fc.integer({ min: 1, max: 120_000 }),
        (times, cooldown) => {
          const { alerts, alertTimes } = applyCooldown([], times.map(breachAt), cooldown);
          const spaced = alertTimes.every((t, i) => i === 0 || t - alertTimes[i - 1] >= cooldown);
          const covered = times.every((t) => alertTimes.some((a) => Math.abs(a - t) < cooldown));
          return spaced && covered && alerts.length === alertTimes.length;
        },
      ),
    );
  });
});

describe('alertId', () => {
  test('is deterministic and differs between breaches', () => {
    expect(alertId(breachAt(1))).toBe(alertId(breachAt(1)));
    expect(alertId(breachAt(1))).not.toBe(alertId(breachAt(2)));
    expect(alertId(breachAt(1))).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('pruneAlertTimes', () => {
  test('keeps only alert times that can still suppress a future breach', () => {
    expect(pruneAlertTimes([0, 4, 6, 10], 10, 5)).toEqual([6, 10]);
  });
});
