/**
 * The functions' custom metrics as Powertools Metrics writes them (CloudWatch embedded metric
 * format): namespace, dimensions and names from `contract/metric-names.ts`, the module the alarms and
 * the dashboard read them from too.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  METRICS_NAMESPACE,
  type MetricUnitName,
  type PipelineService,
  STAGE_DIMENSION,
} from '../../contract/metric-names';

/**
 * Metrics of `service` in `stage`: every metric carries the dimensions `service` (added by
 * Powertools from the service name) and `stage`, so stages sharing an account and region never
 * publish the same metric.
 */
export function pipelineMetrics(service: PipelineService, stage: string): Metrics {
  return new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: service,
    defaultDimensions: { [STAGE_DIMENSION]: stage },
  });
}

/**
 * Adds one value for every metric in `units` and flushes them as one EMF record. `values` must name
 * every metric, so a metric added to the contract does not compile until the handler publishes it.
 */
export function publishMetrics<Name extends string>(
  metrics: Metrics,
  units: Readonly<Record<Name, MetricUnitName>>,
  values: Readonly<Record<Name, number>>,
): void {
  for (const name of Object.keys(units) as Name[]) metrics.addMetric(name, units[name], values[name]);
  metrics.publishStoredMetrics();
}
