/**
 * Speed-vs-batch reconciliation: compares the speed layer's hourly window aggregates with the batch
 * layer's `sensor_stats_hourly` rows for the same (sensor, metric, hour) and measures how far they
 * drift apart. Pure: plain data in, plain data out; the adapters read DynamoDB, Athena or DuckDB.
 *
 * Why they differ at all: the speed layer counts every stream record exactly once, so a producer
 * that sends one event twice (same `eventId`) is counted twice; the batch layer deduplicates by
 * `eventId` and is the source of truth. The drift measures that.
 *
 * What is not drift, and therefore not compared (`ReconcileOptions`):
 * - **Unsettled hours** (`settledBefore`). An hour is only compared once it has ended at or before
 *   `settledBefore`. A later hour may still be filling in on one side: while the pipeline runs, the
 *   speed layer is ahead of the batch layer, which only sees what Firehose had landed when the batch
 *   job read it (and the speed layer itself lags a little behind the stream). Such hours are counted
 *   as `itemsUnsettled`. The daily job on AWS compares finished days (`settledBefore` = now); local
 *   mode, while it runs, compares hours that ended a safe margin before the batch run.
 * - **Late-only hours** (`lateBefore` = the reconciliation time minus `lateness`). Events older than
 *   `lateness` when processed are skipped by the speed layer by design and kept by the batch layer.
 *   An event can only have been late if its event time lies before `lateBefore`, so an hour present
 *   only in the batch layer that STARTS before `lateBefore` is expected to be missing from the speed
 *   layer (every event of it may have been late) and is counted as `itemsLateOnly`, not as a
 *   difference. (The start, not the end: late events 10 minutes beyond `lateness` lie in an hour that
 *   can end after `lateBefore`.) An hour both layers have is always compared, late events or not:
 *   late events mixed into an hour the speed layer has still show as a `mismatch`.
 *
 * An hour only in the speed layer is always a difference once settled: the batch layer sees every
 * record the speed layer does.
 */

/** One hour of one sensor's metric, as either layer reports it. */
export type HourlyStats = {
  readonly sensorId: string;
  readonly metric: string;
  /** Start of the event-time hour, epoch ms (UTC, hour-aligned). */
  readonly hourStart: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
} & (
  | { readonly sum: number; readonly avg?: never } // the speed layer stores the sum
  | { readonly avg: number; readonly sum?: never } // the batch layer stores the mean
);

/** The values compared, after `sum` has been turned into a mean. */
export interface ComparedValues {
  readonly count: number;
  readonly avg: number;
  readonly min: number;
  readonly max: number;
}

export type ComparedField = keyof ComparedValues;

export type DifferenceKind =
  /** Both layers have the hour; at least one value differs by more than the tolerance. */
  | 'mismatch'
  /** Only the batch layer has the hour (e.g. every event of it was late, or the item expired). */
  | 'missing_in_speed'
  /** Only the speed layer has the hour (e.g. the batch layer never saw its events). */
  | 'missing_in_batch';

export interface HourDifference {
  readonly sensorId: string;
  readonly metric: string;
  /** ISO-8601 start of the hour. */
  readonly hourStart: string;
  readonly kind: DifferenceKind;
  /** The field that differs most (for a missing hour: `count`). */
  readonly field: ComparedField;
  readonly relativeDifference: number;
  readonly speed: ComparedValues | null;
  readonly batch: ComparedValues | null;
}

export interface ReconcileOptions {
  /**
   * Relative differences at or below this are rounding (the layers sum in different orders) and
   * count as equal. 0 or more.
   * @default 1e-6
   */
  readonly tolerance?: number;
  /**
   * How many of the largest differences the result lists, 0 or more.
   * @default 20
   */
  readonly maxDifferences?: number;
  /**
   * Epoch ms: only hours that END at or before it are compared; later hours may still be filling in
   * on one side and are counted as `itemsUnsettled`.
   * @default - no limit: every hour is compared
   */
  readonly settledBefore?: number;
  /**
   * Epoch ms, the reconciliation time minus `lateness`: events with an event time before it may have
   * been skipped as late. An hour only in the batch layer that STARTS before it is counted as
   * `itemsLateOnly`, not as a difference.
   * @default - none: every hour only in the batch layer is a difference
   */
  readonly lateBefore?: number;
}

export interface Comparison {
  /**
   * Hours actually compared: present in either layer, settled, and not late-only. The hours not
   * compared are `itemsUnsettled` and `itemsLateOnly`.
   */
  readonly itemsCompared: number;
  /** Hours that differ by more than the tolerance, missing hours included. */
  readonly itemsDiffering: number;
  /** The largest relative difference over the differing hours; 0 when none differs. */
  readonly maxRelativeDifference: number;
  readonly missingInSpeed: number;
  readonly missingInBatch: number;
  /** Hours ending after `settledBefore`: still filling in on one side, not compared. */
  readonly itemsUnsettled: number;
  /** Settled hours only in the batch layer that start before `lateBefore`: every event late, not compared. */
  readonly itemsLateOnly: number;
  /** The largest differences, largest first (ties: by sensor, metric, hour). */
  readonly differences: readonly HourDifference[];
}

export const DEFAULT_RECONCILE_TOLERANCE = 1e-6;
export const DEFAULT_MAX_DIFFERENCES = 20;
const FIELDS: readonly ComparedField[] = ['count', 'avg', 'min', 'max'];

export class ReconcileInputError extends Error {
  public override readonly name = 'ReconcileInputError';
}

/**
 * |a - b| relative to the larger magnitude: 0 for equal values, 1 when one side is 0 and the other
 * is not, at most 2 (values of opposite sign). Symmetric.
 */
export function relativeDifference(a: number, b: number): number {
  if (a === b) return 0;
  const scale = Math.max(Math.abs(a), Math.abs(b));
  // Scaled before subtracting: a - b overflows for values of opposite sign near the double maximum.
  return Math.abs(a / scale - b / scale);
}

function valuesOf(stats: HourlyStats): ComparedValues {
  const avg = stats.avg ?? (stats.count === 0 ? 0 : (stats.sum as number) / stats.count);
  return { count: stats.count, avg, min: stats.min, max: stats.max };
}

const keyOf = (s: Pick<HourlyStats, 'sensorId' | 'metric' | 'hourStart'>): string =>
  `${s.sensorId}\n${s.metric}\n${s.hourStart}`;

function index(side: string, rows: readonly HourlyStats[]): Map<string, HourlyStats> {
  const byKey = new Map<string, HourlyStats>();
  for (const row of rows) {
    for (const field of ['count', 'min', 'max', 'hourStart'] as const) {
      if (!Number.isFinite(row[field])) {
        throw new ReconcileInputError(
          `${side} row ${row.sensorId}/${row.metric}/${row.hourStart}: ${field} is ${String(row[field])}, not a finite number`,
        );
      }
    }
    const key = keyOf(row);
    if (byKey.has(key)) {
      throw new ReconcileInputError(
        `${side} has two rows for ${row.sensorId}/${row.metric} at ${new Date(row.hourStart).toISOString()}`,
      );
    }
    byKey.set(key, row);
  }
  return byKey;
}

/** The field that differs most between two sets of values, and by how much. */
function largestDifference(
  speed: ComparedValues,
  batch: ComparedValues,
): { field: ComparedField; difference: number } {
  let worst: { field: ComparedField; difference: number } = { field: 'count', difference: 0 };
  for (const field of FIELDS) {
    const difference = relativeDifference(speed[field], batch[field]);
    if (difference > worst.difference) worst = { field, difference };
  }
  return worst;
}

function byLargestFirst(a: HourDifference, b: HourDifference): number {
  return (
    b.relativeDifference - a.relativeDifference ||
    a.sensorId.localeCompare(b.sensorId) ||
    a.metric.localeCompare(b.metric) ||
    a.hourStart.localeCompare(b.hourStart)
  );
}

const HOUR_MS = 3_600_000;

function checkInstant(name: string, value: number | undefined): void {
  if (value !== undefined && Number.isNaN(value)) {
    throw new ReconcileInputError(`${name} must be epoch milliseconds (given ${value})`);
  }
}

/**
 * Compares the two layers hour by hour. An hour present in one layer only differs by 1 (as if its
 * count were 0 on the other side). Hours ending after `settledBefore` and batch-only hours starting
 * before `lateBefore` are counted, not compared (module comment). Throws `ReconcileInputError` for a
 * side with two rows of one hour or a non-finite number.
 */
export function compareHourly(
  speedRows: readonly HourlyStats[],
  batchRows: readonly HourlyStats[],
  options: ReconcileOptions = {},
): Comparison {
  const tolerance = options.tolerance ?? DEFAULT_RECONCILE_TOLERANCE;
  const maxDifferences = options.maxDifferences ?? DEFAULT_MAX_DIFFERENCES;
  if (!(tolerance >= 0)) throw new ReconcileInputError(`tolerance must be 0 or more (given ${tolerance})`);
  if (!Number.isInteger(maxDifferences) || maxDifferences < 0) {
    throw new ReconcileInputError(`maxDifferences must be an integer, 0 or more (given ${maxDifferences})`);
  }
  checkInstant('settledBefore', options.settledBefore);
  checkInstant('lateBefore', options.lateBefore);
  const settledBefore = options.settledBefore ?? Number.POSITIVE_INFINITY;
  const lateBefore = options.lateBefore ?? Number.NEGATIVE_INFINITY;
  const speed = index('speed layer', speedRows);
  const batch = index('batch layer', batchRows);
  const keys = new Set([...speed.keys(), ...batch.keys()]);

  const differences: HourDifference[] = [];
  let missingInSpeed = 0;
  let missingInBatch = 0;
  let itemsUnsettled = 0;
  let itemsLateOnly = 0;
  for (const key of keys) {
    const s = speed.get(key);
    const b = batch.get(key);
    const row = (s ?? b) as HourlyStats;
    if (row.hourStart + HOUR_MS > settledBefore) {
      itemsUnsettled += 1;
      continue;
    }
    if (!s && row.hourStart < lateBefore) {
      itemsLateOnly += 1;
      continue;
    }
    const speedValues = s ? valuesOf(s) : null;
    const batchValues = b ? valuesOf(b) : null;
    const { field, difference } =
      speedValues && batchValues
        ? largestDifference(speedValues, batchValues)
        : { field: 'count' as const, difference: 1 };
    if (difference <= tolerance) continue;
    if (!speedValues) missingInSpeed += 1;
    if (!batchValues) missingInBatch += 1;
    differences.push({
      sensorId: row.sensorId,
      metric: row.metric,
      hourStart: new Date(row.hourStart).toISOString(),
      kind: !speedValues ? 'missing_in_speed' : !batchValues ? 'missing_in_batch' : 'mismatch',
      field,
      relativeDifference: difference,
      speed: speedValues,
      batch: batchValues,
    });
  }
  differences.sort(byLargestFirst);
  return {
    itemsCompared: keys.size - itemsUnsettled - itemsLateOnly,
    itemsDiffering: differences.length,
    maxRelativeDifference: differences.length > 0 ? differences[0].relativeDifference : 0,
    missingInSpeed,
    missingInBatch,
    itemsUnsettled,
    itemsLateOnly,
    differences: differences.slice(0, maxDifferences),
  };
}

const DAY_MS = 86_400_000;
const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** A speed-layer window the comparison can use: tumbling, one hour, like the batch layer's hours. */
export interface HourlyWindowCandidate {
  readonly name: string;
  readonly sizeMs: number;
  readonly hopMs: number;
}

/** The first configured window that is tumbling and one hour long, or undefined. */
export function findHourlyWindow<W extends HourlyWindowCandidate>(windows: readonly W[]): W | undefined {
  return windows.find((w) => w.sizeMs === HOUR_MS && w.hopMs === HOUR_MS);
}

/** Epoch ms of 00:00 UTC of a `YYYY-MM-DD` day and of the next day. */
export function dayRange(day: string): { start: number; end: number } {
  const start = DAY_PATTERN.test(day) ? Date.parse(`${day}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== day) {
    throw new ReconcileInputError(`day must be a date YYYY-MM-DD (given ${JSON.stringify(day)})`);
  }
  return { start, end: start + DAY_MS };
}

export type ReconciliationStatus =
  /** The layers were compared. */
  | 'compared'
  /** No tumbling 1h window is configured: the speed layer has nothing hourly to compare. */
  | 'no_hourly_window';

/** What one reconciliation run found: written to S3 / summary.json and published as metrics. */
export interface ReconciliationReport extends Comparison {
  /** The event-time days compared (`YYYY-MM-DD`, UTC). */
  readonly days: readonly string[];
  /** The speed-layer window compared, or null without an hourly window. */
  readonly window: string | null;
  readonly status: ReconciliationStatus;
  /** One line for people: what was compared and what was found. */
  readonly message: string;
  readonly tolerance: number;
  /** ISO-8601 time the report was made. */
  readonly generatedAt: string;
}

export const NO_HOURLY_WINDOW_MESSAGE = 'no hourly window configured';

/** The report of a run that compared the layers. */
export function comparedReport(
  days: readonly string[],
  window: string,
  comparison: Comparison,
  tolerance: number,
  now: number,
): ReconciliationReport {
  const range =
    days.length === 0 ? 'no days' : days.length === 1 ? days[0] : `${days[0]}..${days[days.length - 1]}`;
  const notCompared = [
    ...(comparison.itemsLateOnly > 0 ? [`${comparison.itemsLateOnly} late-only`] : []),
    ...(comparison.itemsUnsettled > 0 ? [`${comparison.itemsUnsettled} still filling in`] : []),
  ];
  const message =
    (comparison.itemsCompared === 0
      ? `${range}: no hourly items compared (window ${window})`
      : comparison.itemsDiffering === 0
        ? `${range}: ${comparison.itemsCompared} hourly items agree (window ${window})`
        : `${range}: ${comparison.itemsDiffering} of ${comparison.itemsCompared} hourly items differ ` +
          `(window ${window}), largest relative difference ${comparison.maxRelativeDifference.toPrecision(3)}`) +
    (notCompared.length > 0 ? `; not compared: ${notCompared.join(', ')}` : '');
  return {
    days: [...days],
    window,
    status: 'compared',
    message,
    tolerance,
    generatedAt: new Date(now).toISOString(),
    ...comparison,
  };
}

/** The report of a run that could not compare: no tumbling 1h window in the config. */
export function noHourlyWindowReport(
  days: readonly string[],
  tolerance: number,
  now: number,
): ReconciliationReport {
  return {
    days: [...days],
    window: null,
    status: 'no_hourly_window',
    message: `${NO_HOURLY_WINDOW_MESSAGE}: add a tumbling window of size "1h" to compare the speed layer with the batch layer`,
    tolerance,
    generatedAt: new Date(now).toISOString(),
    itemsCompared: 0,
    itemsDiffering: 0,
    maxRelativeDifference: 0,
    missingInSpeed: 0,
    missingInBatch: 0,
    itemsUnsettled: 0,
    itemsLateOnly: 0,
    differences: [],
  };
}

/**
 * One report for several days from their per-day reports (the days' hours are disjoint, so the
 * totals add up and the largest differences of the whole are among each day's largest).
 * `window` null: no hourly window is configured, and the report says so.
 */
export function combineReports(
  reports: readonly ReconciliationReport[],
  window: string | null,
  options: { readonly tolerance: number; readonly maxDifferences: number; readonly now: number },
): ReconciliationReport {
  const days = reports.flatMap((r) => r.days);
  if (window === null) return noHourlyWindowReport(days, options.tolerance, options.now);
  const compared = reports.filter((r) => r.status === 'compared');
  type CountField =
    | 'itemsCompared'
    | 'itemsDiffering'
    | 'missingInSpeed'
    | 'missingInBatch'
    | 'itemsUnsettled'
    | 'itemsLateOnly';
  const sum = (field: CountField): number => compared.reduce((total, r) => total + r[field], 0);
  const differences = compared.flatMap((r) => r.differences).sort(byLargestFirst);
  const comparison: Comparison = {
    itemsCompared: sum('itemsCompared'),
    itemsDiffering: sum('itemsDiffering'),
    maxRelativeDifference: Math.max(0, ...compared.map((r) => r.maxRelativeDifference)),
    missingInSpeed: sum('missingInSpeed'),
    missingInBatch: sum('missingInBatch'),
    itemsUnsettled: sum('itemsUnsettled'),
    itemsLateOnly: sum('itemsLateOnly'),
    differences: differences.slice(0, options.maxDifferences),
  };
  return comparedReport(days, window, comparison, options.tolerance, options.now);
}
