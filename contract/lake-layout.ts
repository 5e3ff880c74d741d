/**
 * The lake's layout (DESIGN.md, "Batch layer"), defined once: the CDK constructs, the handlers'
 * adapters and the local runtime all build object keys from these. One bucket (a directory
 * locally), one prefix per kind of data, each ending in `/`; data under a prefix is partitioned
 * Hive-style, `dt=YYYY-MM-DD/` (and `hour=HH/` for raw arrival), dates and hours in UTC.
 */
export const LAKE_PREFIXES = {
  /** Firehose output: gzip NDJSON, `raw/dt=YYYY-MM-DD/hour=HH/` by arrival time. */
  raw: 'raw/',
  /** Firehose delivery errors. */
  rawErrors: 'raw-errors/',
  /** Invalid events from the speed layer, with their reason: `quarantine/dt=YYYY-MM-DD/` by processing day. */
  quarantine: 'quarantine/',
  /**
   * The speed layer's hourly windows, exported on a schedule: gzip NDJSON,
   * `speed/hourly/dt=YYYY-MM-DD/HH.json.gz` by the window's start (one object per hour, replaced
   * whole by each export).
   */
  speed: 'speed/',
  /** Parquet tables built by the batch job, `curated/<table>/dt=YYYY-MM-DD/` by event day. */
  curated: 'curated/',
  /** Athena query results. */
  athenaResults: 'athena-results/',
  /** One reconciliation report per day, `reports/reconciliation/dt=YYYY-MM-DD.json`. */
  reconciliationReports: 'reports/reconciliation/',
} as const;

/** The day partition's column: `dt`, a date `YYYY-MM-DD`. */
export const DAY_PARTITION_KEY = 'dt';
/** The hour partition's column (raw data only): `hour`, `00`–`23`. */
export const HOUR_PARTITION_KEY = 'hour';

/** The path segment of a day partition, `dt=<day>/` (`day` may be a Firehose `!{timestamp:...}` expression). */
export function dayPartition(day: string): string {
  return `${DAY_PARTITION_KEY}=${day}/`;
}

/** The path segment of an hour partition, `hour=<hour>/`. */
export function hourPartition(hour: string): string {
  return `${HOUR_PARTITION_KEY}=${hour}/`;
}

/** `dt` partitions are dates; Glue partition projection enumerates them from this day on. */
export const PARTITION_PROJECTION_START = '2020-01-01';
