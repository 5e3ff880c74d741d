/**
 * Reading a replay's output directory (the contract of `sluice local --events FILE --once --out DIR`)
 * and comparing it with the independent recomputation (recompute.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_CONFIG, toSpeedConfig, type SluiceConfig } from '../../contract/config';
import { close, recompute, type Expected } from './recompute';

export interface ReplayOutputs {
  readonly summary: Record<string, number>;
  readonly aggregates: Array<Record<string, unknown>>;
  readonly alerts: Array<Record<string, unknown>>;
  readonly quarantine: Array<Record<string, unknown>>;
  readonly tables: Record<string, Array<Record<string, unknown>>>;
}

/** The summary fields of the replay contract (summary.json may carry more). */
export const SUMMARY_FIELDS = [
  'lines',
  'ingested',
  'valid',
  'invalid',
  'late',
  'rawLanded',
  'itemsWritten',
  'alerts',
];

export function contractSummary(summary: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(SUMMARY_FIELDS.map((field) => [field, summary[field]]));
}

export function readJsonl(file: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The runner's and chaos's final counters, from the log of the replay that wrote `out` (`runReplay`). */
export function finalCounters(out: string): {
  runner: Record<string, number>;
  chaos: Record<string, number> | null;
} {
  const entries = readJsonl(path.join(`${out}-state`, 'sluice.log'));
  const last = entries.filter((e) => e.message === 'final counters').pop();
  return last?.details as { runner: Record<string, number>; chaos: Record<string, number> | null };
}

export function readOutputs(dir: string): ReplayOutputs {
  return {
    summary: JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as Record<string, number>,
    aggregates: readJsonl(path.join(dir, 'aggregates.jsonl')),
    alerts: readJsonl(path.join(dir, 'alerts.jsonl')),
    quarantine: readJsonl(path.join(dir, 'quarantine.jsonl')),
    tables: Object.fromEntries(
      ['events', 'sensor_stats_hourly', 'sensor_stats_daily'].map((t) => [
        t,
        readJsonl(path.join(dir, 'tables', `${t}.jsonl`)),
      ]),
    ),
  };
}

/** The events table without `arrival_hour`, which depends on when the replay ran. */
export function withoutArrival(rows: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> {
  return rows.map((row) => Object.fromEntries(Object.entries(row).filter(([key]) => key !== 'arrival_hour')));
}

/** Fields of `actual` rows that differ from `expected` beyond floating-point noise (first few). */
export function rowMismatches(
  actual: ReadonlyArray<Record<string, unknown>>,
  expected: ReadonlyArray<Record<string, unknown>>,
): Array<{ row: number; key: string; actual: unknown; expected: unknown }> {
  if (actual.length !== expected.length) {
    return [{ row: -1, key: 'length', actual: actual.length, expected: expected.length }];
  }
  return actual
    .flatMap((row, i) =>
      Object.keys({ ...row, ...expected[i] })
        .filter(
          (key) =>
            !close(row[key], expected[i][key]) &&
            JSON.stringify(row[key]) !== JSON.stringify(expected[i][key]),
        )
        .map((key) => ({ row: i, key, actual: row[key], expected: expected[i][key] })),
    )
    .slice(0, 5);
}

/** What a pipeline with `config` (the default one unless given) must produce from `lines`, processed at `processingMs`. */
export function expectedOutputs(
  lines: readonly string[],
  processingMs: number,
  config: SluiceConfig = DEFAULT_CONFIG,
): Expected {
  const speed = toSpeedConfig(config);
  return recompute(lines, {
    windows: speed.windows,
    valueRules: speed.alertRules
      .filter((r) => r.source === 'value')
      .map((r) => ({
        id: r.id,
        metric: r.metric,
        op: r.op,
        threshold: r.threshold,
        cooldownMs: r.cooldownMs,
        severity: r.severity,
      })),
    latenessMs: speed.latenessMs,
    maxClockSkewMs: speed.maxClockSkewMs,
    processingMs,
    arrivalDay: new Date(processingMs).toISOString().slice(0, 10),
  });
}

/** Whether the replay ran across midnight UTC (then the recomputation's single arrival day does not apply). */
export function crossedMidnight(startedAt: number, finishedAt: number): boolean {
  return new Date(startedAt).toISOString().slice(0, 10) !== new Date(finishedAt).toISOString().slice(0, 10);
}
