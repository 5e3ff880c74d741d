/**
 * The batch layer's side of the reconciliation: one day of `sensor_stats_hourly`, read with a query
 * that runs unchanged on Athena (Trino) and on the local DuckDB lake (whose dialect layer supplies
 * `to_unixtime`). It scans one `dt` partition of a small Parquet table: a few MB at most, billed as
 * Athena's 10 MB minimum.
 */
import { dayRange, type HourlyStats } from '../../core/reconcile';

/** A result row as either engine returns it: Athena gives strings, DuckDB numbers or strings. */
export type QueryRow = Readonly<Record<string, string | number | bigint | boolean | null | object>>;

export class BatchRowError extends Error {
  public override readonly name = 'BatchRowError';
}

/** The query for `day`; `dayRange` has already rejected anything but a real `YYYY-MM-DD`. */
export function hourlyStatsQuery(day: string): string {
  dayRange(day);
  return [
    'SELECT sensor_id, metric,',
    '  CAST(round(to_unixtime(hour_start) * 1000) AS BIGINT) AS hour_start_ms,',
    '  event_count, avg_value, min_value, max_value',
    'FROM sensor_stats_hourly',
    `WHERE dt = '${day}'`,
  ].join('\n');
}

function numberOf(row: QueryRow, column: string): number {
  const value = row[column];
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' || typeof value === 'bigint'
        ? Number(value)
        : NaN;
  if (!Number.isFinite(n)) {
    throw new BatchRowError(
      `sensor_stats_hourly row has ${column} = ${JSON.stringify(String(value))}, not a number`,
    );
  }
  return n;
}

/** One `sensor_stats_hourly` row as `HourlyStats`. */
export function parseHourlyStatsRow(row: QueryRow): HourlyStats {
  return {
    sensorId: String(row.sensor_id),
    metric: String(row.metric),
    hourStart: numberOf(row, 'hour_start_ms'),
    count: numberOf(row, 'event_count'),
    avg: numberOf(row, 'avg_value'),
    min: numberOf(row, 'min_value'),
    max: numberOf(row, 'max_value'),
  };
}
