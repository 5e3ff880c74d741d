/**
 * The lake's tables, defined once: the Glue catalog (`lib/catalog.ts`) and the local DuckDB views
 * (`local/batch/duckdb-runner.ts`) are both built from these specs, and the batch SQL in `sql/`
 * produces exactly these columns in this order (Athena's `INSERT INTO` matches columns by position).
 *
 * Column names are snake_case: Glue lower-cases every column name, so `sensorId` would become
 * `sensorid` in Athena while staying `sensorId` in Parquet files written locally.
 *
 * Prefixes and the partition scheme come from `contract/lake-layout.ts`.
 */
import { DAY_PARTITION_KEY, HOUR_PARTITION_KEY, LAKE_PREFIXES } from './lake-layout';

/** Hive column types, as Glue and Athena spell them. */
export type LakeColumnType = 'string' | 'double' | 'bigint' | 'timestamp' | 'map<string,string>';

export interface LakeColumn {
  readonly name: string;
  readonly type: LakeColumnType;
  readonly comment: string;
  /**
   * For JSON tables: the key in the JSON documents when it differs from the column name.
   * @default - the column name
   */
  readonly jsonKey?: string;
}

/** How a table's objects are stored. */
export type LakeTableFormat =
  /** Firehose output: gzip text, one raw record per line, read as a single string column. */
  | 'raw-lines'
  /** NDJSON objects, one JSON document per line. */
  | 'ndjson'
  /** Parquet files written by the batch job. */
  | 'parquet';

export interface LakeTableSpec {
  /** Glue table name and DuckDB view name. */
  readonly name: string;
  readonly description: string;
  /** Prefix of the table's objects in the lake (bucket or local directory), ending in `/`. */
  readonly prefix: string;
  readonly format: LakeTableFormat;
  readonly columns: readonly LakeColumn[];
  /** Hive partition columns, in path order (`dt=.../hour=.../`); all strings. */
  readonly partitionKeys: readonly LakeColumn[];
}

/** A table the batch job rebuilds one `dt` partition at a time from the SQL file of the same name. */
export interface CuratedTableSpec extends LakeTableSpec {
  readonly format: 'parquet';
  /** `sql/<name>.sql`: a SELECT producing `columns` then `dt`, for the day `{{day}}`. */
  readonly sqlFile: string;
}

const dt = (what: string): LakeColumn => ({
  name: DAY_PARTITION_KEY,
  type: 'string',
  comment: `${what} date, YYYY-MM-DD (UTC)`,
});

export const RAW_EVENTS: LakeTableSpec = {
  name: 'raw_events',
  description: 'Every record Firehose landed from the ingest stream, valid or not: one raw line per row.',
  prefix: LAKE_PREFIXES.raw,
  format: 'raw-lines',
  columns: [{ name: 'line', type: 'string', comment: 'The record exactly as produced (UTF-8 text)' }],
  partitionKeys: [
    dt('Arrival'),
    { name: HOUR_PARTITION_KEY, type: 'string', comment: 'Arrival hour, 00-23 (UTC)' },
  ],
};

const statsColumns: readonly LakeColumn[] = [
  { name: 'event_count', type: 'bigint', comment: 'Number of events' },
  { name: 'avg_value', type: 'double', comment: 'Mean value' },
  { name: 'min_value', type: 'double', comment: 'Smallest value' },
  { name: 'max_value', type: 'double', comment: 'Largest value' },
  { name: 'stddev_value', type: 'double', comment: 'Sample standard deviation (null for a single event)' },
  { name: 'p50_value', type: 'double', comment: 'Median (approximate on Athena)' },
  { name: 'p95_value', type: 'double', comment: '95th percentile (approximate on Athena)' },
];

export const EVENTS: CuratedTableSpec = {
  name: 'events',
  description: 'Valid events, deduplicated by event id, partitioned by event date.',
  prefix: `${LAKE_PREFIXES.curated}events/`,
  format: 'parquet',
  sqlFile: 'events.sql',
  columns: [
    { name: 'event_id', type: 'string', comment: 'Producer-assigned unique id' },
    { name: 'sensor_id', type: 'string', comment: 'Sensor (aggregation key)' },
    { name: 'metric', type: 'string', comment: 'Measured quantity, e.g. temperature' },
    { name: 'value', type: 'double', comment: 'Measured value' },
    { name: 'unit', type: 'string', comment: 'Unit, when the producer sent one' },
    { name: 'event_time', type: 'timestamp', comment: 'Event time (UTC, millisecond precision)' },
    { name: 'attributes', type: 'map<string,string>', comment: 'Producer attributes, when sent' },
    {
      name: 'arrival_hour',
      type: 'timestamp',
      comment: 'Start of the hour the record reached the stream (UTC)',
    },
  ],
  partitionKeys: [dt('Event')],
};

export const SENSOR_STATS_HOURLY: CuratedTableSpec = {
  name: 'sensor_stats_hourly',
  description: 'Per sensor, metric and event-time hour: count, mean, min, max, stddev, p50, p95.',
  prefix: `${LAKE_PREFIXES.curated}sensor_stats_hourly/`,
  format: 'parquet',
  sqlFile: 'sensor_stats_hourly.sql',
  columns: [
    { name: 'sensor_id', type: 'string', comment: 'Sensor' },
    { name: 'metric', type: 'string', comment: 'Metric' },
    { name: 'hour_start', type: 'timestamp', comment: 'Start of the event-time hour (UTC)' },
    ...statsColumns,
  ],
  partitionKeys: [dt('Event')],
};

export const SENSOR_STATS_DAILY: CuratedTableSpec = {
  name: 'sensor_stats_daily',
  description: 'Per sensor, metric and event-time day: count, mean, min, max, stddev, p50, p95.',
  prefix: `${LAKE_PREFIXES.curated}sensor_stats_daily/`,
  format: 'parquet',
  sqlFile: 'sensor_stats_daily.sql',
  columns: [
    { name: 'sensor_id', type: 'string', comment: 'Sensor' },
    { name: 'metric', type: 'string', comment: 'Metric' },
    ...statsColumns,
  ],
  partitionKeys: [dt('Event')],
};

export const QUARANTINE: LakeTableSpec = {
  name: 'quarantine',
  description: 'Invalid records the speed layer set aside, with the reason (one NDJSON object per batch).',
  prefix: LAKE_PREFIXES.quarantine,
  format: 'ndjson',
  columns: [
    {
      name: 'reason',
      type: 'string',
      comment: 'Machine-readable reason, e.g. not_json, bad_value:timestamp',
    },
    {
      name: 'data',
      type: 'string',
      comment:
        "The invalid event's own bytes (one line or user record of a packed record): UTF-8, or base64 (see data_encoding)",
    },
    { name: 'data_encoding', type: 'string', comment: 'utf8 or base64', jsonKey: 'dataEncoding' },
    {
      name: 'sensor_id',
      type: 'string',
      comment: 'Sensor named by the record, when readable',
      jsonKey: 'sensorId',
    },
    { name: 'shard_id', type: 'string', comment: 'Kinesis shard', jsonKey: 'shardId' },
    {
      name: 'sequence_number',
      type: 'string',
      comment: 'Kinesis sequence number',
      jsonKey: 'sequenceNumber',
    },
    { name: 'partition_key', type: 'string', comment: 'Kinesis partition key', jsonKey: 'partitionKey' },
    {
      name: 'arrival_time',
      type: 'string',
      comment: 'ISO-8601 arrival time in the stream',
      jsonKey: 'arrivalTime',
    },
    {
      name: 'packing',
      type: 'string',
      comment: 'ndjson or kpl when the record packs events (contract v1.1); null for a single event',
    },
    {
      name: 'sub_record_index',
      type: 'bigint',
      comment: "The event's index in its packed record, from 0; null for a record quarantined whole",
      jsonKey: 'subRecordIndex',
    },
  ],
  partitionKeys: [dt('Processing')],
};

export const SPEED_HOURLY: LakeTableSpec = {
  name: 'speed_hourly',
  description:
    "The speed layer's tumbling one-hour windows, exported from DynamoDB on a schedule (the hours that can still change, each object replaced whole).",
  prefix: `${LAKE_PREFIXES.speed}hourly/`,
  format: 'ndjson',
  columns: [
    { name: 'sensor_id', type: 'string', comment: 'Sensor', jsonKey: 'sensorId' },
    { name: 'metric', type: 'string', comment: 'Metric' },
    {
      name: 'hour_start',
      type: 'timestamp',
      comment: 'Start of the event-time hour (UTC)',
      jsonKey: 'hourStart',
    },
    {
      name: 'event_count',
      type: 'bigint',
      comment: 'Events the speed layer counted (not late, not deduplicated)',
      jsonKey: 'eventCount',
    },
    { name: 'sum_value', type: 'double', comment: 'Sum of the values', jsonKey: 'sumValue' },
    { name: 'avg_value', type: 'double', comment: 'Mean value', jsonKey: 'avgValue' },
    { name: 'min_value', type: 'double', comment: 'Smallest value', jsonKey: 'minValue' },
    { name: 'max_value', type: 'double', comment: 'Largest value', jsonKey: 'maxValue' },
  ],
  partitionKeys: [dt('Event')],
};

/** The tables the batch job builds, in dependency order (stats read `events`). */
export const CURATED_TABLES: readonly CuratedTableSpec[] = [EVENTS, SENSOR_STATS_HOURLY, SENSOR_STATS_DAILY];

export const LAKE_TABLES: readonly LakeTableSpec[] = [
  RAW_EVENTS,
  ...CURATED_TABLES,
  QUARANTINE,
  SPEED_HOURLY,
];

/** Column types of a view as Athena (Trino) reports them, for the view's Glue definition. */
export type ViewColumnType = 'varchar' | 'bigint' | 'double' | 'timestamp(3)';

/** A view over lake tables: an Athena view in Glue (`lib/catalog.ts`) and a DuckDB view, from one SQL file. */
export interface LakeViewSpec {
  readonly name: string;
  readonly description: string;
  /** `sql/<file>`: the view's SELECT, run unchanged by Athena and DuckDB. */
  readonly sqlFile: string;
  /** The SELECT's columns, in order, with the type Athena gives each (a mismatch makes the view stale). */
  readonly columns: readonly { readonly name: string; readonly type: ViewColumnType }[];
}

export const SENSOR_STATS_HOURLY_LIVE: LakeViewSpec = {
  name: 'sensor_stats_hourly_live',
  description:
    'Per sensor, metric and hour: the batch row where the batch layer has built the day, else the speed row (column source).',
  sqlFile: 'views/sensor_stats_hourly_live.sql',
  columns: [
    { name: 'sensor_id', type: 'varchar' },
    { name: 'metric', type: 'varchar' },
    { name: 'hour_start', type: 'timestamp(3)' },
    { name: 'event_count', type: 'bigint' },
    { name: 'avg_value', type: 'double' },
    { name: 'min_value', type: 'double' },
    { name: 'max_value', type: 'double' },
    { name: 'source', type: 'varchar' },
    { name: 'dt', type: 'varchar' },
  ],
};

/** Views, created after every table they read. */
export const LAKE_VIEWS: readonly LakeViewSpec[] = [SENSOR_STATS_HOURLY_LIVE];
