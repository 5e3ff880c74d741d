import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/**
 * The custom metrics Sluice's functions publish as CloudWatch embedded metric format (Powertools
 * Metrics): namespace `Sluice`, one dimension `service` (Powertools' default dimension, the
 * function's `POWERTOOLS_SERVICE_NAME`). These have no resource to ask for a metric method, so the
 * names and dimensions are pinned here, next to the handlers that emit them:
 * `lambdas/stream-processor/handler.ts` (`recordMetrics`) and `lambdas/reconciliation/handler.ts`.
 */
export const SLUICE_NAMESPACE = 'Sluice';

export const STREAM_PROCESSOR_SERVICE = 'stream-processor';
export const RECONCILIATION_SERVICE = 'reconciliation';

/** What the stream processor publishes after every batch. */
export type StreamProcessorMetricName =
  | 'EventsReceived'
  | 'ValidEvents'
  | 'InvalidEvents'
  | 'LateEvents'
  | 'ItemsWritten'
  | 'RecordsAlreadyApplied'
  | 'ConflictsResolved'
  | 'AlertsPublished'
  | 'FailedRecords'
  /** Milliseconds between an event's time and its processing, the largest of the batch. */
  | 'MaxEventTimeLag';

/** What the reconciliation publishes once per reconciled day. */
export type ReconciliationMetricName =
  'ReconciliationItemsCompared' | 'ReconciliationItemsDiffering' | 'ReconciliationMaxRelativeDifference';

/** A metric of the stream processor. @default statistic Sum, period 5 minutes */
export function streamProcessorMetric(
  metricName: StreamProcessorMetricName,
  props: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: SLUICE_NAMESPACE,
    metricName,
    dimensionsMap: { service: STREAM_PROCESSOR_SERVICE },
    statistic: cloudwatch.Stats.SUM,
    period: Duration.minutes(5),
    ...props,
  });
}

/** A metric of the reconciliation. @default statistic Maximum, period 1 day */
export function reconciliationMetric(
  metricName: ReconciliationMetricName,
  props: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: SLUICE_NAMESPACE,
    metricName,
    dimensionsMap: { service: RECONCILIATION_SERVICE },
    statistic: cloudwatch.Stats.MAXIMUM,
    period: Duration.days(1),
    ...props,
  });
}
