/**
 * Lambda entry point of the reconciliation: after a successful batch run (EventBridge rule on the
 * state machine's `SUCCEEDED` status), compares the speed layer's hourly windows with the batch
 * layer's `sensor_stats_hourly` for each day the run built, publishes the drift as metrics
 * (`contract/metric-names.ts`: namespace `Sluice`, dimensions `service` and `stage`) and writes a JSON report per day to
 * `reports/reconciliation/dt=YYYY-MM-DD.json` in the lake.
 *
 * Input: the EventBridge event (the run's input says which days: `{}` = yesterday relative to the
 * run's start, `{"day"}`, `{"from","to"}`), or a direct invocation `{"day": "YYYY-MM-DD"}` /
 * `{"from": ..., "to": ...}` to reconcile a day again.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { RECONCILIATION_METRICS, RECONCILIATION_SERVICE, STAGE_ENV } from '../../contract/metric-names';
import { dayRange, type ReconciliationReport } from '../../core/reconcile';
import { AthenaQuery } from '../adapters/athena-query';
import { numberEnv, requiredEnv } from '../adapters/environment';
import { hourlyStatsQuery, parseHourlyStatsRow, type QueryRow } from '../adapters/batch-hourly-stats';
import { pipelineMetrics, publishMetrics } from '../adapters/pipeline-metrics';
import { S3ReportStore } from '../adapters/report-store';
import { reconcileDay } from './reconcile-day';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** A backfill can name many days; each costs one Athena query, so a run stops somewhere. */
export const MAX_DAYS_PER_RUN = 31;

/** Runs a SELECT and returns its rows (`AthenaQuery` when deployed). */
export interface QueryRunner {
  rows(sql: string): Promise<readonly QueryRow[]>;
}

/** Stores one day's report and returns where (`S3ReportStore` when deployed). */
export interface ReportSink {
  write(day: string, report: ReconciliationReport): Promise<string>;
}

export interface ReconciliationDeps {
  readonly athena: QueryRunner;
  readonly dynamodb: DynamoDBClient;
  readonly reports: ReportSink;
  readonly tableName: string;
  /** The speed layer's tumbling one-hour window, or undefined when none is configured. */
  readonly hourlyWindow: string | undefined;
  /** Aggregates expire this long after their window ends (config `aggregateTtl`), ms. */
  readonly aggregateTtlMs: number;
  /**
   * The speed layer skips events older than this when processed (config `lateness`), ms. A
   * batch-only hour starting more than this before the run is late-only, not drift.
   */
  readonly latenessMs: number;
  readonly tolerance: number;
  readonly maxDifferences: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default - a Powertools Logger for service `reconciliation` */
  readonly logger?: Logger;
  /**
   * Where the drift metrics go: `pipelineMetrics(RECONCILIATION_SERVICE, stage)`, so they carry the
   * stage dimension the stage's alarm reads (`contract/metric-names.ts`).
   */
  readonly metrics: Metrics;
}

/** The EventBridge event of a Step Functions status change (the fields used here). */
export interface ExecutionStatusChangeEvent {
  readonly 'detail-type': 'Step Functions Execution Status Change';
  readonly detail: { readonly input?: string | null; readonly startDate?: number; readonly status?: string };
}

export interface DirectInvocation {
  readonly day?: string;
  readonly from?: string;
  readonly to?: string;
}

export type ReconciliationEvent = ExecutionStatusChangeEvent | DirectInvocation;

export interface ReconciledDay {
  readonly day: string;
  readonly key: string;
  readonly report: ReconciliationReport;
}

export interface SkippedDay {
  readonly day: string;
  readonly reason: string;
}

export interface ReconciliationResult {
  readonly reconciled: readonly ReconciledDay[];
  readonly skipped: readonly SkippedDay[];
}

export type ReconciliationHandler = (event: ReconciliationEvent) => Promise<ReconciliationResult>;

export class ReconciliationInputError extends Error {
  public override readonly name = 'ReconciliationInputError';
}

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function isStatusChange(event: ReconciliationEvent): event is ExecutionStatusChangeEvent {
  return (event as ExecutionStatusChangeEvent)['detail-type'] === 'Step Functions Execution Status Change';
}

function rangeOf(from: string, to: string): string[] {
  const start = dayRange(from).start;
  const end = dayRange(to).start;
  if (end < start) throw new ReconciliationInputError(`from (${from}) is after to (${to})`);
  const count = (end - start) / DAY_MS + 1;
  if (count > MAX_DAYS_PER_RUN) {
    throw new ReconciliationInputError(
      `${count} days from ${from} to ${to}: at most ${MAX_DAYS_PER_RUN} per run; invoke again for the rest`,
    );
  }
  return Array.from({ length: count }, (_, i) => isoDay(start + i * DAY_MS));
}

function daysOf(input: DirectInvocation, startedAt: number | undefined): string[] {
  if (input.from !== undefined || input.to !== undefined) {
    if (typeof input.from !== 'string' || typeof input.to !== 'string') {
      throw new ReconciliationInputError('a range needs both "from" and "to" (YYYY-MM-DD)');
    }
    return rangeOf(input.from, input.to);
  }
  if (input.day !== undefined) {
    dayRange(String(input.day));
    return [String(input.day)];
  }
  if (startedAt === undefined) {
    throw new ReconciliationInputError(
      'give {"day": "YYYY-MM-DD"} or {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}',
    );
  }
  // A scheduled run (input {}) built the day before it started.
  return [isoDay(startedAt - DAY_MS)];
}

/** The days an invocation asks for: those the batch run built, or those named directly. */
export function requestedDays(event: ReconciliationEvent): string[] {
  if (!isStatusChange(event)) return daysOf(event, undefined);
  let input: unknown = {};
  try {
    input = JSON.parse(event.detail.input ?? '{}');
  } catch {
    throw new ReconciliationInputError(`the batch run's input is not JSON: ${String(event.detail.input)}`);
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ReconciliationInputError(
      `the batch run's input is not an object: ${String(event.detail.input)}`,
    );
  }
  return daysOf(input as DirectInvocation, event.detail.startDate);
}

/**
 * Why a day cannot be compared now, or undefined when it can: the day is not over yet, or its
 * first hourly aggregates may already have expired from DynamoDB (a backfill of old days), which
 * would look like drift.
 */
export function whyNotComparable(day: string, now: number, aggregateTtlMs: number): string | undefined {
  const { start, end } = dayRange(day);
  if (end > now) return 'the day is not over yet';
  if (start + HOUR_MS + aggregateTtlMs <= now) {
    return 'its speed-layer aggregates have expired (aggregateTtl); nothing left to compare';
  }
  return undefined;
}

function publish(metrics: Metrics, report: ReconciliationReport): void {
  publishMetrics(metrics, RECONCILIATION_METRICS, {
    ReconciliationItemsCompared: report.itemsCompared,
    ReconciliationItemsDiffering: report.itemsDiffering,
    ReconciliationMaxRelativeDifference: report.maxRelativeDifference,
  });
}

export function createHandler(deps: ReconciliationDeps): ReconciliationHandler {
  const logger = deps.logger ?? new Logger({ serviceName: RECONCILIATION_SERVICE });
  const now = deps.now ?? Date.now;

  return async (event) => {
    const reconciled: ReconciledDay[] = [];
    const skipped: SkippedDay[] = [];
    for (const day of requestedDays(event)) {
      const at = now();
      const reason = whyNotComparable(day, at, deps.aggregateTtlMs);
      if (reason) {
        logger.info('Day skipped', { day, reason });
        skipped.push({ day, reason });
        continue;
      }
      const report = await reconcileDay(day, {
        readBatch: async (d) => (await deps.athena.rows(hourlyStatsQuery(d))).map(parseHourlyStatsRow),
        dynamodb: deps.dynamodb,
        tableName: deps.tableName,
        hourlyWindow: deps.hourlyWindow,
        tolerance: deps.tolerance,
        maxDifferences: deps.maxDifferences,
        // Only finished days get here: every hour of the day has ended.
        settledBefore: at,
        lateBefore: at - deps.latenessMs,
        now,
      });
      const key = await deps.reports.write(day, report);
      if (report.status === 'compared') publish(deps.metrics, report);
      logger.info(report.message, {
        day,
        key,
        status: report.status,
        itemsCompared: report.itemsCompared,
        itemsDiffering: report.itemsDiffering,
        itemsLateOnly: report.itemsLateOnly,
        itemsUnsettled: report.itemsUnsettled,
        maxRelativeDifference: report.maxRelativeDifference,
      });
      reconciled.push({ day, key, report });
    }
    return { reconciled, skipped };
  };
}

const WHO = 'the reconciliation';
const required = (name: string): string => requiredEnv(name, WHO);
const number = (name: string): number => numberEnv(name, WHO);

let deployed: ReconciliationHandler | undefined;

/** The deployed Lambda handler: clients and settings from the environment, created once per container. */
export const handler: ReconciliationHandler = (event) => {
  deployed ??= createHandler({
    athena: new AthenaQuery({
      client: new AthenaClient({}),
      workGroup: required('ATHENA_WORKGROUP'),
      database: required('GLUE_DATABASE'),
    }),
    dynamodb: new DynamoDBClient({}),
    reports: new S3ReportStore(new S3Client({}), required('LAKE_BUCKET')),
    tableName: required('TABLE_NAME'),
    // Empty: no tumbling one-hour window is configured.
    hourlyWindow: process.env.HOURLY_WINDOW || undefined,
    aggregateTtlMs: number('AGGREGATE_TTL_MS'),
    latenessMs: number('LATENESS_MS'),
    tolerance: number('RECONCILE_TOLERANCE'),
    maxDifferences: number('RECONCILE_MAX_DIFFERENCES'),
    metrics: pipelineMetrics(RECONCILIATION_SERVICE, required(STAGE_ENV)),
  });
  return deployed(event);
};
