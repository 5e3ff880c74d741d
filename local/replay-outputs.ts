/**
 * The replay contract's output directory: what the pipeline holds after a replay, read from where
 * each layer keeps it (DynamoDB for aggregates, the alerts topic's queue, the quarantine objects,
 * the raw zone and the curated tables of the lake), written in a stable order so two runs of the same
 * file compare equal line by line.
 *
 *   aggregates.jsonl   sensorId, metric, window, windowStart, windowEnd, count, sum, min, max, avg
 *   alerts.jsonl       alertId, ruleId, sensorId, metric, severity, value, threshold, eventTime
 *   quarantine.jsonl   reason, data (the raw record text; dataEncoding "base64" when not UTF-8)
 *   tables/<table>.jsonl  events, sensor_stats_hourly, sensor_stats_daily
 *   summary.json       lines, records, ingested, valid, invalid, late, rawLanded, itemsWritten, alerts, drift
 *                      (events, except `records`: Kinesis records)
 *
 * Floating-point results (sum, avg, table averages and deviations) are rounded to 12 significant
 * digits: the speed layer folds sums batch by batch, so a different split of the same records (a
 * retry, a bisection) can change the last bits of a sum but not its first twelve digits.
 */
import type { AlertMessage } from '../lambdas/adapters/alert-publisher';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Json } from '@duckdb/node-api';
import { LAKE_PREFIXES } from '../contract/lake-layout';
import { AGGREGATE_KEY_PREFIX } from '../contract/table-keys';
import { CURATED_TABLES, type LakeColumnType } from '../contract/lake-tables';
import { compareAggregateKeys, type WindowValues } from '../core/aggregate';
import { ndjsonLines } from '../core/record-packing';
import { storagePlan, windowsFromStored } from '../core/panes';
import type { WindowSpec } from '../core/speed-config';
import { parseStoredAggregate, type StoredAggregate } from '../lambdas/adapters/aggregate-store';
import type { QuarantinedRecord } from '../lambdas/adapters/quarantine-writer';
import type { ReceivedAlert } from './alert-collector';
import type { DriftSummary } from './reconcile';

export interface ReplaySummary {
  /** Events in the file: its non-empty lines (`--events`), or the events its records pack (`--records`). */
  readonly lines: number;
  /** Kinesis records put: one per line of the file. */
  readonly records: number;
  /** Events the speed layer read from the records the stream accepted. */
  readonly ingested: number;
  readonly valid: number;
  readonly invalid: number;
  readonly late: number;
  /** Events in the raw zone (one line each). */
  readonly rawLanded: number;
  /** Aggregate items in DynamoDB. */
  readonly itemsWritten: number;
  /** Distinct alerts. */
  readonly alerts: number;
  /** Speed-vs-batch drift over the replay's days (local/reconcile.ts); null when the batch job did not run. */
  readonly drift: DriftSummary | null;
}

export interface AggregateLine {
  readonly sensorId: string;
  readonly metric: string;
  readonly window: string;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly avg: number;
}

/** One line of alerts.jsonl: the fields of the replay contract, taken from the published message. */
export type AlertLine = Pick<
  AlertMessage,
  'alertId' | 'ruleId' | 'sensorId' | 'metric' | 'severity' | 'value' | 'threshold' | 'eventTime'
>;

export interface QuarantineLine {
  readonly reason: string;
  readonly data: string;
  readonly dataEncoding?: 'base64';
}

/** Rounds to 12 significant digits (see the module comment). */
export function stable(x: number): number {
  return Number.isFinite(x) && x !== 0 ? Number(x.toPrecision(12)) : x;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function toAggregateLine(a: WindowValues): AggregateLine {
  // The average comes from the rounded sum, so it is as stable as the sum.
  const sum = stable(a.sum);
  return {
    sensorId: a.sensorId,
    metric: a.metric,
    window: a.window,
    windowStart: iso(a.windowStart),
    windowEnd: iso(a.windowEnd),
    count: a.count,
    sum,
    min: a.min,
    max: a.max,
    avg: stable(sum / a.count),
  };
}

/**
 * Every configured window's aggregates in the speed-layer table, sorted by sensor, metric, window
 * and start: the stored windows' items, and the hopping windows composed from the pane items
 * (`core/panes.ts`), so the file lists every window whatever is stored.
 */
export async function readAggregates(
  dynamodb: DynamoDBClient,
  tableName: string,
  windows: readonly WindowSpec[],
): Promise<AggregateLine[]> {
  const items: StoredAggregate[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: tableName,
        ExclusiveStartKey: start,
        FilterExpression: 'begins_with(pk, :agg)',
        ExpressionAttributeValues: { ':agg': { S: AGGREGATE_KEY_PREFIX } },
      }),
    );
    for (const item of page.Items ?? []) items.push(parseStoredAggregate(item));
    start = page.LastEvaluatedKey;
  } while (start);
  return windowsFromStored(storagePlan(windows), items).sort(compareAggregateKeys).map(toAggregateLine);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function toAlertLines(alerts: readonly ReceivedAlert[]): AlertLine[] {
  return alerts
    .map((a) => ({
      alertId: a.alertId,
      ruleId: a.ruleId,
      sensorId: a.sensorId,
      metric: a.metric,
      severity: a.severity,
      value: a.value,
      threshold: a.threshold,
      eventTime: a.eventTime,
    }))
    .sort(
      (a, b) =>
        compare(a.eventTime, b.eventTime) ||
        compare(a.sensorId, b.sensorId) ||
        compare(a.ruleId, b.ruleId) ||
        compare(a.alertId, b.alertId),
    );
}

/**
 * Quarantined events as output lines, in the order of the file (then of the events in a packed
 * record): `lineOf` maps a record's `shardId` and `sequenceNumber` to its line; records it does
 * not know come last.
 */
export function toQuarantineLines(
  records: readonly QuarantinedRecord[],
  lineOf: (shardId: string, sequenceNumber: string) => number | undefined,
): QuarantineLine[] {
  return records
    .map((r) => ({ record: r, line: lineOf(r.shardId, r.sequenceNumber) ?? Number.MAX_SAFE_INTEGER }))
    .sort(
      (a, b) =>
        a.line - b.line ||
        compare(a.record.shardId, b.record.shardId) ||
        compare(a.record.sequenceNumber, b.record.sequenceNumber) ||
        (a.record.subRecordIndex ?? -1) - (b.record.subRecordIndex ?? -1),
    )
    .map(({ record }) => ({
      reason: record.reason,
      data: record.data,
      ...(record.dataEncoding === 'base64' ? { dataEncoding: 'base64' as const } : {}),
    }));
}

/**
 * Events in the raw zone: non-empty lines of every `raw/**\/*.gz` object (an NDJSON record that
 * ends in a newline leaves an empty line after it: Firehose appends one to every record).
 */
export async function countRawRecords(lakeDir: string): Promise<number> {
  const root = path.join(lakeDir, LAKE_PREFIXES.raw);
  if (!fs.existsSync(root)) return 0;
  let count = 0;
  for (const entry of await fs.promises.readdir(root, { recursive: true })) {
    const name = String(entry);
    if (!name.endsWith('.gz') || path.basename(name).startsWith('.')) continue;
    const text = zlib.gunzipSync(await fs.promises.readFile(path.join(root, name)));
    count += ndjsonLines(text).length;
  }
  return count;
}

/** DuckDB's `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC) as ISO-8601 with milliseconds. */
export function isoTimestamp(text: string): string {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))?$/.exec(text);
  if (!match) return text;
  return `${match[1]}T${match[2]}.${(match[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
}

/** A curated-table row from DuckDB made stable: ISO timestamps, numbers, maps as sorted objects. */
export function normalizeRow(
  row: Record<string, Json>,
  types: Readonly<Record<string, LakeColumnType>>,
): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [name, value] of Object.entries(row)) {
    const type = types[name];
    if (value === null || value === undefined) out[name] = null;
    else if (type === 'timestamp') out[name] = isoTimestamp(String(value));
    else if (type === 'bigint') out[name] = Number(value);
    else if (type === 'double') out[name] = stable(Number(value));
    else if (type === 'map<string,string>') {
      const entries = (value as Array<{ key: string; value: string }>).map((e) => [e.key, e.value] as const);
      out[name] = Object.fromEntries(entries.sort((a, b) => compare(a[0], b[0])));
    } else out[name] = value;
  }
  return out;
}

/** Sort order of each curated table's output. */
const TABLE_ORDER: Record<string, string> = {
  events: 'dt, sensor_id, metric, event_time, event_id',
  sensor_stats_hourly: 'dt, sensor_id, metric, hour_start',
  sensor_stats_daily: 'dt, sensor_id, metric',
};

export type QueryLake = (sql: string) => Promise<Record<string, Json>[]>;

/** Every row of every curated table, normalized and sorted. */
export async function readTables(query: QueryLake): Promise<Record<string, Array<Record<string, Json>>>> {
  const tables: Record<string, Array<Record<string, Json>>> = {};
  for (const table of CURATED_TABLES) {
    const types: Record<string, LakeColumnType> = { dt: 'string' };
    for (const column of table.columns) types[column.name] = column.type;
    const columns = [...table.columns.map((c) => c.name), 'dt'];
    const rows = await query(
      `SELECT ${columns.join(', ')} FROM ${table.name} ORDER BY ${TABLE_ORDER[table.name] ?? '1'}`,
    );
    tables[table.name] = rows.map((row) => normalizeRow(row, types));
  }
  return tables;
}

export interface ReplayOutputs {
  readonly aggregates: readonly AggregateLine[];
  readonly alerts: readonly AlertLine[];
  readonly quarantine: readonly QuarantineLine[];
  readonly tables: Readonly<Record<string, ReadonlyArray<Record<string, Json>>>>;
  readonly summary: ReplaySummary;
}

function jsonl(rows: readonly unknown[]): string {
  return rows.map((row) => JSON.stringify(row)).join('\n') + (rows.length > 0 ? '\n' : '');
}

/** Writes the outputs into `dir` (created if needed; files of an earlier run are replaced). */
export async function writeReplayOutputs(dir: string, outputs: ReplayOutputs): Promise<void> {
  const tablesDir = path.join(dir, 'tables');
  await fs.promises.mkdir(tablesDir, { recursive: true });
  await fs.promises.writeFile(path.join(dir, 'aggregates.jsonl'), jsonl(outputs.aggregates));
  await fs.promises.writeFile(path.join(dir, 'alerts.jsonl'), jsonl(outputs.alerts));
  await fs.promises.writeFile(path.join(dir, 'quarantine.jsonl'), jsonl(outputs.quarantine));
  for (const [name, rows] of Object.entries(outputs.tables)) {
    await fs.promises.writeFile(path.join(tablesDir, `${name}.jsonl`), jsonl(rows));
  }
  await fs.promises.writeFile(
    path.join(dir, 'summary.json'),
    `${JSON.stringify(outputs.summary, null, 2)}\n`,
  );
}
