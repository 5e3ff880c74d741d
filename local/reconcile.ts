/**
 * Local reconciliation: the same comparison the deployed reconciliation Lambda runs after each
 * batch job, with DuckDB over the local lake in place of Athena and dynalite in place of DynamoDB.
 * Local mode calls it after every batch run; the combined report is the `drift` of summary.json and
 * the dashboard, and each day's report is written to `<lake>/reports/reconciliation/dt=<day>.json`,
 * where the deployed Lambda writes it in the bucket.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  combineReports,
  DEFAULT_MAX_DIFFERENCES,
  DEFAULT_RECONCILE_TOLERANCE,
  findHourlyWindow,
  type ReconciliationReport,
} from '../core/reconcile';
import type { WindowSpec } from '../core/speed-config';
import { hourlyStatsQuery, parseHourlyStatsRow, type QueryRow } from '../lambdas/adapters/batch-hourly-stats';
import { reconciliationReportKey, reportBody } from '../lambdas/adapters/report-store';
import { reconcileDay } from '../lambdas/reconciliation/reconcile-day';
import { LocalLake } from './batch/duckdb-runner';
import type { BatchRunInfo } from './batch-scheduler';

/** Anything that runs SQL over the lake's tables: an open `LocalLake`, or the local batch scheduler. */
export interface LakeQueryRunner {
  query(sql: string): Promise<readonly QueryRow[]>;
}

export interface LocalReconcileOptions {
  /** A client of the local DynamoDB (dynalite). */
  readonly dynamodb: DynamoDBClient;
  /** The aggregates table. */
  readonly tableName: string;
  /**
   * Where the batch layer's `sensor_stats_hourly` is read: a query runner over the lake, or the lake
   * directory (opened with DuckDB for this call and closed again; not while a batch run writes it).
   */
  readonly lake: LakeQueryRunner | { readonly lakeDir: string };
  /** Event-time days to compare, `YYYY-MM-DD` (UTC), e.g. the days the batch run just built. */
  readonly days: readonly string[];
  /** The speed layer's windows (`SpeedConfig.windows`); the first tumbling one-hour window is compared. */
  readonly windows: readonly WindowSpec[];
  /**
   * Relative differences at or below this count as equal (config `reconciliation.tolerance`).
   * @default 1e-6
   */
  readonly tolerance?: number;
  /**
   * Differences listed in the report (config `reconciliation.maxDifferences`).
   * @default 20
   */
  readonly maxDifferences?: number;
  /**
   * Lake directory whose `reports/reconciliation/` receives one JSON report per day.
   * @default - the lake directory when `lake` is given as `{lakeDir}`; otherwise nothing is written
   */
  readonly reportsLakeDir?: string;
  /**
   * Epoch ms: only hours that end at or before it are compared; later ones are counted as still
   * filling in (`ReconcileOptions.settledBefore`).
   * @default - no limit: every hour is compared
   */
  readonly settledBefore?: number;
  /**
   * Epoch ms, now minus config `lateness`: an hour only in the batch layer that starts before it is
   * late-only, not a difference (`ReconcileOptions.lateBefore`).
   * @default - none: every hour only in the batch layer is a difference
   */
  readonly lateBefore?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

function writeReport(lakeDir: string, day: string, report: ReconciliationReport): void {
  const file = path.join(lakeDir, reconciliationReportKey(day));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Write, then rename: a reader never sees half a report.
  const partial = `${file}.partial`;
  fs.writeFileSync(partial, reportBody(report));
  fs.renameSync(partial, file);
}

async function withRunner<T>(
  lake: LocalReconcileOptions['lake'],
  run: (runner: LakeQueryRunner) => Promise<T>,
): Promise<T> {
  if ('query' in lake) return run(lake);
  const opened = await LocalLake.open({ lakeDir: lake.lakeDir });
  try {
    return await run(opened);
  } finally {
    opened.close();
  }
}

/**
 * Compares the speed layer with the batch layer for `days` and returns one report over all of them
 * (status `no_hourly_window`, comparing nothing, when no tumbling 1h window is configured).
 */
export async function reconcileLocal(options: LocalReconcileOptions): Promise<ReconciliationReport> {
  const now = options.now ?? Date.now;
  const tolerance = options.tolerance ?? DEFAULT_RECONCILE_TOLERANCE;
  const maxDifferences = options.maxDifferences ?? DEFAULT_MAX_DIFFERENCES;
  const reportsLakeDir =
    options.reportsLakeDir ?? ('lakeDir' in options.lake ? options.lake.lakeDir : undefined);
  const days = [...new Set(options.days)].sort();
  const hourlyWindow = findHourlyWindow(options.windows)?.name;

  const reports = await withRunner(options.lake, async (runner) => {
    const perDay: ReconciliationReport[] = [];
    for (const day of days) {
      const report = await reconcileDay(day, {
        readBatch: async (d) => (await runner.query(hourlyStatsQuery(d))).map(parseHourlyStatsRow),
        dynamodb: options.dynamodb,
        tableName: options.tableName,
        hourlyWindow,
        tolerance,
        maxDifferences,
        settledBefore: options.settledBefore,
        lateBefore: options.lateBefore,
        now,
      });
      if (reportsLakeDir !== undefined) writeReport(reportsLakeDir, day, report);
      perDay.push(report);
    }
    return perDay;
  });
  return combineReports(reports, hourlyWindow ?? null, { tolerance, maxDifferences, now: now() });
}

/** The drift figures of a report, as summary.json and the dashboard show them: deterministic, no timestamps. */
/**
 * The figures of a report that summary.json and the dashboard show: everything but the timestamp,
 * the tolerance and the listed differences, so two runs of the same replay compare equal.
 * `maxRelativeDifference` is rounded to 12 significant digits (sums folded in different batch
 * splits differ in the last bits).
 */
export type DriftSummary = Omit<ReconciliationReport, 'generatedAt' | 'tolerance' | 'differences'>;

export function driftSummary(report: ReconciliationReport): DriftSummary {
  const { generatedAt, tolerance, differences, ...figures } = report;
  return { ...figures, maxRelativeDifference: Number(report.maxRelativeDifference.toPrecision(12)) };
}

export interface LocalReconciliationOptions extends Omit<
  LocalReconcileOptions,
  'lake' | 'days' | 'reportsLakeDir' | 'settledBefore' | 'lateBefore'
> {
  /** The local lake directory; each day's report goes to its `reports/reconciliation/`. */
  readonly lakeDir: string;
  /** Called when a reconciliation fails (the batch run it follows has succeeded regardless). */
  readonly onError?: (error: unknown) => void;
}

/** Which hours one reconciliation compares (`ReconcileOptions`). */
export interface ReconcileHours {
  /** @default - no limit: every hour is compared */
  readonly settledBefore?: number;
  /** @default - none: every hour only in the batch layer is a difference */
  readonly lateBefore?: number;
}

/**
 * Beyond the Firehose buffer interval, how long after an hour ends a running pipeline compares it:
 * covers the local Firehose's poll and write, the speed layer's lag behind the stream, and events
 * that arrive a little after their event time (the demo's are up to 2 s out of order). Events that
 * arrive later than this after their event time (but within `lateness`) can still show as drift in a
 * running pipeline; a settled run (`--once`, or `--out` on Ctrl-C) compares every hour exactly.
 */
export const RUNNING_SETTLE_MARGIN_MS = 120_000;

/**
 * Which hours a reconciliation after a batch run can compare (`settledBefore`): every hour after a
 * run that saw everything landed; otherwise hours that ended the Firehose buffer interval plus a
 * margin before the run started. Records put within the buffer interval before the run may be in
 * the speed layer and not yet in the lake, and their hours are still filling in on the batch side.
 */
export function settledBeforeOf(
  run: BatchRunInfo,
  firehoseIntervalMs: number,
  marginMs = RUNNING_SETTLE_MARGIN_MS,
): number | undefined {
  return run.allLanded ? undefined : run.startedAt - firehoseIntervalMs - marginMs;
}

/**
 * Local mode's reconciliation step: run after each batch run over the days it built, keeping the
 * latest report for the dashboard and summary.json.
 */
export class LocalReconciliation {
  private report: ReconciliationReport | null = null;

  constructor(private readonly options: LocalReconciliationOptions) {}

  /**
   * Reconciles `days` through an open lake (the batch runner's, between runs); `hours` says which
   * hours are settled and which batch-only hours are late-only.
   */
  async run(
    lake: LakeQueryRunner,
    days: readonly string[],
    hours: ReconcileHours = {},
  ): Promise<ReconciliationReport | undefined> {
    try {
      const o = this.options;
      this.report = await reconcileLocal({
        dynamodb: o.dynamodb,
        tableName: o.tableName,
        windows: o.windows,
        tolerance: o.tolerance,
        maxDifferences: o.maxDifferences,
        now: o.now,
        lake,
        days,
        reportsLakeDir: o.lakeDir,
        settledBefore: hours.settledBefore,
        lateBefore: hours.lateBefore,
      });
      return this.report;
    } catch (error) {
      this.options.onError?.(error);
      return undefined;
    }
  }

  /** The latest report, or null before the first batch run. */
  get latest(): ReconciliationReport | null {
    return this.report;
  }

  /** The latest drift figures, or null before the first batch run. */
  summary(): DriftSummary | null {
    return this.report ? driftSummary(this.report) : null;
  }
}
