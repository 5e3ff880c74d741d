import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import {
  METRICS_NAMESPACE,
  metricDimensions,
  type PipelineService,
  RECONCILIATION_SERVICE,
  type ReconciliationMetricName,
  SPEED_REPAIR_SERVICE,
  type SpeedRepairMetricName,
  STAGE_ENV,
  STREAM_PROCESSOR_SERVICE,
  type StreamProcessorMetricName,
  type StreamProcessorService,
} from '../contract/metric-names';
import { SluicePropsError } from './validation';

/**
 * The custom metrics Sluice's functions publish as CloudWatch embedded metric format (Powertools
 * Metrics), as CDK metrics for alarms and graphs. Namespace, names and dimensions come from
 * `contract/metric-names.ts`, the module the handlers publish with; the stage dimension keeps
 * stages deployed in one account and region apart. The constructs that own the functions expose
 * these through their metric methods (`StreamProcessor.metric`, `Reconciliation.metric`).
 */

/**
 * Options for a pipeline metric. The dimensions are not among them: they are the ones the handlers
 * publish (`metricDimensions`), and a metric with any other set would never receive data.
 */
export type PipelineMetricOptions = Omit<cloudwatch.MetricOptions, 'dimensionsMap'>;

/** A CloudWatch dimension value: 1–1024 characters (the config's `stage` is far narrower). */
const MAX_DIMENSION_VALUE = 1024;

/** Fails at synth for a stage that cannot be a dimension value. */
export function checkStage(scope: Construct, stage: string): void {
  if (Token.isUnresolved(stage)) return;
  if (stage.length === 0 || stage.length > MAX_DIMENSION_VALUE) {
    throw new SluicePropsError(
      scope,
      'stage',
      JSON.stringify(stage),
      `must be 1–${MAX_DIMENSION_VALUE} characters (a metric dimension value)`,
    );
  }
}

/**
 * The environment a function of `service` needs to publish its metrics in `stage`: Powertools'
 * namespace and service name, and the stage for the handler's default dimension.
 */
export function metricsEnvironment(service: PipelineService, stage: string): Record<string, string> {
  return {
    POWERTOOLS_SERVICE_NAME: service,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    [STAGE_ENV]: stage,
  };
}

/**
 * A metric of a stream processor in `stage`: the aggregate processor's unless `service` names the
 * alert processor's. @default statistic Sum, period 5 minutes
 */
export function streamProcessorMetric(
  stage: string,
  metricName: StreamProcessorMetricName,
  props: PipelineMetricOptions = {},
  service: StreamProcessorService = STREAM_PROCESSOR_SERVICE,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    statistic: cloudwatch.Stats.SUM,
    period: Duration.minutes(5),
    ...props,
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { ...metricDimensions(service, stage) },
  });
}

/** A metric of the reconciliation in `stage`. @default statistic Maximum, period 1 day */
export function reconciliationMetric(
  stage: string,
  metricName: ReconciliationMetricName,
  props: PipelineMetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    statistic: cloudwatch.Stats.MAXIMUM,
    period: Duration.days(1),
    ...props,
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { ...metricDimensions(RECONCILIATION_SERVICE, stage) },
  });
}

/** A metric of the speed-layer repair in `stage`. @default statistic Sum, period 1 hour */
export function speedRepairMetric(
  stage: string,
  metricName: SpeedRepairMetricName,
  props: PipelineMetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    statistic: cloudwatch.Stats.SUM,
    period: Duration.hours(1),
    ...props,
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { ...metricDimensions(SPEED_REPAIR_SERVICE, stage) },
  });
}
