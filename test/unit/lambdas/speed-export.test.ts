import { gunzipSync } from 'node:zlib';
import type { WindowValues } from '../../../core/aggregate';
import {
  hoursToExport,
  SpeedExport,
  speedHourlyKey,
  speedHourlyObject,
  type ObjectSink,
} from '../../../lambdas/adapters/speed-export';

const HOUR = 3_600_000;
const H15 = Date.parse('2026-12-03T15:00:00Z');

function item(sensorId: string, metric: string, windowStart = H15): WindowValues {
  return {
    sensorId,
    metric,
    window: '1h',
    windowStart,
    windowEnd: windowStart + HOUR,
    count: 4,
    sum: 10,
    min: 1,
    max: 4,
    firstEventTime: windowStart,
    lastEventTime: windowStart + 1,
  };
}

describe('hoursToExport', () => {
  const INTERVAL = 10 * 60_000;
  const runsOfHour = (lateness: number): number[][] =>
    Array.from({ length: 6 }, (_, run) => hoursToExport(H15 + run * INTERVAL + 1_000, INTERVAL, lateness));

  test('every run exports the current and the previous hour', () => {
    for (const hours of runsOfHour(24 * HOUR)) expect(hours.slice(-2)).toEqual([H15 - HOUR, H15]);
  });

  test('the runs of an hour export each older hour within lateness once, in equal shares', () => {
    const older = runsOfHour(24 * HOUR).map((hours) => hours.slice(0, -2));
    const all = older.flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 24 }, (_, i) => H15 - 25 * HOUR + i * HOUR));
    expect(older.map((hours) => hours.length)).toEqual([4, 4, 4, 4, 4, 4]);
  });

  test('with an interval of an hour, one run exports every hour within lateness', () => {
    const hours = hoursToExport(H15 + 1_000, HOUR, 6 * HOUR);
    expect([hours[0], hours[hours.length - 1], hours.length]).toEqual([H15 - 7 * HOUR, H15, 8]);
  });
});

describe('the exported object', () => {
  test('is keyed by the hour’s day and hour', () => {
    expect(speedHourlyKey(H15)).toBe('speed/hourly/dt=2026-12-03/15.json.gz');
  });

  test('is gzip NDJSON sorted by sensor and metric, with the table’s JSON keys', () => {
    const lines = gunzipSync(speedHourlyObject([item('s-2', 't'), item('s-1', 'u'), item('s-1', 't')]))
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => `${l.sensorId}/${l.metric}`)).toEqual(['s-1/t', 's-1/u', 's-2/t']);
    expect(lines[0]).toEqual({
      sensorId: 's-1',
      metric: 't',
      hourStart: '2026-12-03 15:00:00.000',
      eventCount: 4,
      sumValue: 10,
      avgValue: 2.5,
      minValue: 1,
      maxValue: 4,
    });
  });

  test('is the same bytes for the same items in any order (a re-run changes nothing)', () => {
    const a = speedHourlyObject([item('s-1', 't'), item('s-2', 't')]);
    const b = speedHourlyObject([item('s-2', 't'), item('s-1', 't')]);
    expect(a.equals(b)).toBe(true);
  });
});

test('an hour without items is not written, so an exported hour whose items expired stays', async () => {
  const written: string[] = [];
  const sink: ObjectSink = { put: async (key) => void written.push(key) };
  const reader = { hour: async (start: number) => (start === H15 ? [item('s-1', 't')] : []) };
  const result = await new SpeedExport(reader, sink).exportHours([H15 - HOUR, H15]);
  expect(written).toEqual(['speed/hourly/dt=2026-12-03/15.json.gz']);
  expect(result).toEqual({ hours: 2, objects: 1, rows: 1 });
});
