import {
  BatchRowError,
  hourlyStatsQuery,
  parseHourlyStatsRow,
} from '../../../lambdas/adapters/batch-hourly-stats';

describe('batch hourly stats', () => {
  test('the query reads one dt partition of sensor_stats_hourly', () => {
    expect(hourlyStatsQuery('2026-11-20')).toMatch(/FROM sensor_stats_hourly\nWHERE dt = '2026-11-20'$/);
  });

  test('the query refuses anything but a date, so nothing can be injected', () => {
    expect(() => hourlyStatsQuery("2026-11-20' OR '1'='1")).toThrow(/day must be a date/);
  });

  test('parses an Athena row of strings', () => {
    const row = {
      sensor_id: 's-1',
      metric: 'temperature',
      hour_start_ms: '1795132800000',
      event_count: '3',
      avg_value: '4.5',
      min_value: '2.0',
      max_value: '7.0',
    };

    expect(parseHourlyStatsRow(row)).toEqual({
      sensorId: 's-1',
      metric: 'temperature',
      hourStart: 1795132800000,
      count: 3,
      avg: 4.5,
      min: 2,
      max: 7,
    });
  });

  test('parses a DuckDB row of numbers', () => {
    const row = {
      sensor_id: 's-1',
      metric: 'm',
      hour_start_ms: 0,
      event_count: 1,
      avg_value: 1,
      min_value: 1,
      max_value: 1,
    };

    expect(parseHourlyStatsRow(row).count).toBe(1);
  });

  test('a missing number is an error naming the column', () => {
    const row = {
      sensor_id: 's-1',
      metric: 'm',
      hour_start_ms: '0',
      event_count: null,
      avg_value: '1',
      min_value: '1',
      max_value: '1',
    };

    expect(() => parseHourlyStatsRow(row)).toThrow(
      new BatchRowError('sensor_stats_hourly row has event_count = "null", not a number'),
    );
  });
});
