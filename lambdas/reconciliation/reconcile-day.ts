/**
 * One day's reconciliation, shared by the Lambda (Athena + DynamoDB) and local mode (DuckDB +
 * dynalite): read the batch layer's hourly stats, read the speed layer's hourly windows for the
 * same sensors, compare (`core/reconcile.ts`).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  comparedReport,
  compareHourly,
  type HourlyStats,
  noHourlyWindowReport,
  type ReconciliationReport,
} from '../../core/reconcile';
import { distinctPairs, SpeedHourlyReader } from '../adapters/speed-hourly-reader';

export interface ReconcileDayDeps {
  /** The batch layer's `sensor_stats_hourly` rows of one day. */
  readonly readBatch: (day: string) => Promise<HourlyStats[]>;
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  /**
   * Name of the speed layer's tumbling one-hour window (`findHourlyWindow`); undefined when none is
   * configured, and the report says so.
   */
  readonly hourlyWindow: string | undefined;
  /** Relative differences at or below this count as equal. */
  readonly tolerance: number;
  /** How many of the largest differences the report lists. */
  readonly maxDifferences: number;
  /**
   * Epoch ms: only hours that end at or before it are compared (`ReconcileOptions.settledBefore`).
   * @default - no limit
   */
  readonly settledBefore?: number;
  /**
   * Epoch ms, the reconciliation time minus `lateness`: a batch-only hour starting before it is
   * late-only, not a difference (`ReconcileOptions.lateBefore`).
   * @default - none
   */
  readonly lateBefore?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** DynamoDB queries in flight at once. @default 16 */
  readonly concurrency?: number;
}

export async function reconcileDay(day: string, deps: ReconcileDayDeps): Promise<ReconciliationReport> {
  const now = deps.now ?? Date.now;
  const window = deps.hourlyWindow;
  if (window === undefined) return noHourlyWindowReport([day], deps.tolerance, now());
  const batch = await deps.readBatch(day);
  const speed = await new SpeedHourlyReader({
    client: deps.dynamodb,
    tableName: deps.tableName,
    window,
    concurrency: deps.concurrency,
  }).read(day, distinctPairs(batch));
  const comparison = compareHourly(speed, batch, {
    tolerance: deps.tolerance,
    maxDifferences: deps.maxDifferences,
    settledBefore: deps.settledBefore,
    lateBefore: deps.lateBefore,
  });
  return comparedReport([day], window, comparison, deps.tolerance, now());
}
