/**
 * The custom metrics Sluice's functions publish (CloudWatch embedded metric format, written by
 * Powertools Metrics) and the alarms and dashboard read: the namespace, the dimensions and every
 * metric name with its unit live here once. The two handlers (through
 * `lambdas/adapters/pipeline-metrics.ts`) and the CDK constructs (`lib/pipeline-metrics.ts`) both
 * import this module; it imports neither CDK nor an SDK.
 *
 * CloudWatch identifies a metric by namespace, name and the full set of its dimensions. Every
 * Sluice metric carries two: `service` (the function: Powertools adds it from the service name) and
 * `stage` (the config's `stage`). The stage is a dimension rather than part of the namespace
 * because a stage is one instance of the same application, as a function name is for `AWS/Lambda`:
 * one namespace keeps a single home for its name, lists every stage side by side in the console
 * and lets a graph compare `dev` with `prod`, while an alarm, naming both dimensions, reads only its
 * own stage. Without it, two stages deployed in one account and region publish the same metrics
 * and each stage's alarms fire on the other's traffic.
 */

import type { ProcessorRole } from '../core/speed-config';

export const METRICS_NAMESPACE = 'Sluice';

/** The function's service name. The name is Powertools' own: it adds this dimension itself. */
export const SERVICE_DIMENSION = 'service';
/** The deployment stage (config `stage`). */
export const STAGE_DIMENSION = 'stage';
/** The function environment variable that tells a handler its stage. */
export const STAGE_ENV = 'SLUICE_STAGE';

/** The stream processor in role `all` or `aggregates` (the aggregate processor). */
export const STREAM_PROCESSOR_SERVICE = 'stream-processor';
/**
 * The stream processor in role `alerts`. It reads the same records as the aggregate processor, so it
 * publishes under a service of its own: summing both would count every record twice.
 */
export const ALERT_PROCESSOR_SERVICE = 'alert-processor';
export const RECONCILIATION_SERVICE = 'reconciliation';
/** The speed-layer repair of given-up batches (lambdas/speed-repair/). */
export const SPEED_REPAIR_SERVICE = 'speed-repair';
export type StreamProcessorService = typeof STREAM_PROCESSOR_SERVICE | typeof ALERT_PROCESSOR_SERVICE;
export type PipelineService =
  StreamProcessorService | typeof RECONCILIATION_SERVICE | typeof SPEED_REPAIR_SERVICE;

/** The service a stream processor of `role` publishes its metrics and logs under. */
export function processorService(role: ProcessorRole): StreamProcessorService {
  return role === 'alerts' ? ALERT_PROCESSOR_SERVICE : STREAM_PROCESSOR_SERVICE;
}

/** CloudWatch unit names (the values of Powertools' `MetricUnit`). */
export type MetricUnitName = 'Count' | 'Milliseconds' | 'None';

/**
 * What a stream processor publishes after every batch (both services: the alert processor's
 * `ItemsWritten`, `RecordsAlreadyApplied` and `ConflictsResolved` stay 0, and its `InvalidEvents`
 * are counted, not quarantined).
 */
export const STREAM_PROCESSOR_METRICS = {
  /** Records in the batch. */
  EventsReceived: 'Count',
  ValidEvents: 'Count',
  /** Quarantined: not JSON, breaking the event contract, or too far in the future. */
  InvalidEvents: 'Count',
  /** Valid but older than `lateness`: skipped by the speed layer, kept by the batch layer. */
  LateEvents: 'Count',
  /** Aggregate items updated (one write per item per batch). */
  ItemsWritten: 'Count',
  /** Records an item had already applied (Lambda retries and replays). */
  RecordsAlreadyApplied: 'Count',
  /** Conditional writes that lost to a concurrent writer and were applied again. */
  ConflictsResolved: 'Count',
  AlertsPublished: 'Count',
  /** Records reported as failed in the partial batch response (retried by Lambda). */
  FailedRecords: 'Count',
  /** Milliseconds between an event's time and its processing, the largest of the batch. */
  MaxEventTimeLag: 'Milliseconds',
} as const satisfies Readonly<Record<string, MetricUnitName>>;

/** What the reconciliation publishes once per reconciled day. */
export const RECONCILIATION_METRICS = {
  /** Hours (sensor, metric, hour) compared. */
  ReconciliationItemsCompared: 'Count',
  /** Hours that differ by more than the tolerance. */
  ReconciliationItemsDiffering: 'Count',
  /** The largest relative difference of the day, 0 when none. */
  ReconciliationMaxRelativeDifference: 'None',
} as const satisfies Readonly<Record<string, MetricUnitName>>;

/** What the speed-layer repair publishes after every run. */
export const SPEED_REPAIR_METRICS = {
  /** Given-up batches repaired (their on-failure messages deleted). */
  RepairedBatches: 'Count',
  /** The records of those batches. */
  RepairedRecords: 'Count',
  /** Window items rewritten, and the records they lacked. */
  RepairItemsWritten: 'Count',
  RepairRecordsRestored: 'Count',
  /** Batches whose repair failed this run (their messages come back for the next). */
  RepairFailedBatches: 'Count',
  /** Batches whose records left the stream, messages that are no on-failure document, items left as they are. */
  RepairExpiredBatches: 'Count',
  RepairUnreadableMessages: 'Count',
  RepairUndecidableItems: 'Count',
} as const satisfies Readonly<Record<string, MetricUnitName>>;

export type StreamProcessorMetricName = keyof typeof STREAM_PROCESSOR_METRICS;
export type ReconciliationMetricName = keyof typeof RECONCILIATION_METRICS;
export type SpeedRepairMetricName = keyof typeof SPEED_REPAIR_METRICS;

/** Every metric name each service publishes. */
export const SERVICE_METRICS: Readonly<Record<PipelineService, readonly string[]>> = {
  [STREAM_PROCESSOR_SERVICE]: Object.keys(STREAM_PROCESSOR_METRICS),
  [ALERT_PROCESSOR_SERVICE]: Object.keys(STREAM_PROCESSOR_METRICS),
  [RECONCILIATION_SERVICE]: Object.keys(RECONCILIATION_METRICS),
  [SPEED_REPAIR_SERVICE]: Object.keys(SPEED_REPAIR_METRICS),
};

/** The dimensions of every metric `service` publishes in `stage`: an alarm must name exactly these. */
export function metricDimensions(service: PipelineService, stage: string): Readonly<Record<string, string>> {
  return { [SERVICE_DIMENSION]: service, [STAGE_DIMENSION]: stage };
}
