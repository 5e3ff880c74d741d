/**
 * What the handlers publish is what the alarms read: each EMF metric a handler writes has the
 * namespace, name and dimensions of the CDK metric `lib/pipeline-metrics.ts` builds for the same
 * stage (CloudWatch matches all three exactly, so any difference is an alarm that never fires).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import {
  RECONCILIATION_METRICS,
  RECONCILIATION_SERVICE,
  type ReconciliationMetricName,
  STREAM_PROCESSOR_METRICS,
  STREAM_PROCESSOR_SERVICE,
  type StreamProcessorMetricName,
} from '../../../contract/metric-names';
import { pipelineMetrics, publishMetrics } from '../../../lambdas/adapters/pipeline-metrics';
import { createHandler } from '../../../lambdas/stream-processor/handler';
import { resolveConfig, toSpeedConfig } from '../../../contract/config';
import { reconciliationMetric, streamProcessorMetric } from '../../../lib/pipeline-metrics';
import { kinesisEvent, sensorEvent } from '../../helpers/factories';
import { InMemoryAws } from '../../helpers/in-memory-aws';

interface EmittedMetric {
  readonly namespace: string;
  readonly name: string;
  readonly unit: string;
  readonly dimensions: Record<string, string>;
}

interface EmfDocument {
  _aws: {
    CloudWatchMetrics: Array<{
      Namespace: string;
      Dimensions: string[][];
      Metrics: Array<{ Name: string; Unit: string }>;
    }>;
  };
  [field: string]: unknown;
}

/** Every metric `metrics` flushes, read from the EMF document Powertools would print. */
function captureEmitted(metrics: Metrics): EmittedMetric[] {
  const emitted: EmittedMetric[] = [];
  jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
    const doc = metrics.serializeMetrics() as unknown as EmfDocument;
    for (const directive of doc._aws.CloudWatchMetrics) {
      for (const dimensionSet of directive.Dimensions) {
        const dimensions = Object.fromEntries(dimensionSet.map((name) => [name, String(doc[name])]));
        for (const metric of directive.Metrics) {
          emitted.push({ namespace: directive.Namespace, name: metric.Name, unit: metric.Unit, dimensions });
        }
      }
    }
    metrics.clearMetrics();
    return metrics;
  });
  return emitted;
}

const identity = (m: { namespace: string; name: string; dimensions: Record<string, string> }) => ({
  namespace: m.namespace,
  name: m.name,
  dimensions: m.dimensions,
});

describe('stream processor metrics', () => {
  test('every batch metric has the namespace, name and dimensions the stage alarms and graphs read', async () => {
    const aws = new InMemoryAws({
      tableName: 'aggregates',
      topicArn: 'arn:aws:sns:::alerts',
      bucket: 'lake',
    });
    const metrics = pipelineMetrics(STREAM_PROCESSOR_SERVICE, 'prod');
    const emitted = captureEmitted(metrics);
    const handler = createHandler({
      dynamodb: aws.dynamodb,
      sns: aws.sns,
      s3: aws.s3,
      tableName: 'aggregates',
      alertsTopicArn: 'arn:aws:sns:::alerts',
      lakeBucket: 'lake',
      config: toSpeedConfig(resolveConfig({})),
      now: () => Date.parse('2026-11-21T10:00:05Z'),
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics,
    });

    await handler(kinesisEvent([{ data: sensorEvent() }]));

    expect(emitted.map(identity)).toEqual(
      (Object.keys(STREAM_PROCESSOR_METRICS) as StreamProcessorMetricName[]).map((name) => {
        const watched = streamProcessorMetric('prod', name);
        return { namespace: watched.namespace, name: watched.metricName, dimensions: watched.dimensions };
      }),
    );
    expect(emitted.map((m) => m.unit)).toEqual(Object.values(STREAM_PROCESSOR_METRICS));
  });
});

describe('reconciliation metrics', () => {
  test('every drift metric has the namespace, name and dimensions the stage alarm reads', () => {
    const metrics = pipelineMetrics(RECONCILIATION_SERVICE, 'prod');
    const emitted = captureEmitted(metrics);

    publishMetrics(metrics, RECONCILIATION_METRICS, {
      ReconciliationItemsCompared: 24,
      ReconciliationItemsDiffering: 1,
      ReconciliationMaxRelativeDifference: 0.5,
    });

    expect(emitted.map(identity)).toEqual(
      (Object.keys(RECONCILIATION_METRICS) as ReconciliationMetricName[]).map((name) => {
        const watched = reconciliationMetric('prod', name);
        return { namespace: watched.namespace, name: watched.metricName, dimensions: watched.dimensions };
      }),
    );
  });

  test('two stages publish the same metric under different dimensions', () => {
    const values = {
      ReconciliationItemsCompared: 1,
      ReconciliationItemsDiffering: 0,
      ReconciliationMaxRelativeDifference: 0,
    };
    const emittedIn = (stage: string): EmittedMetric[] => {
      const metrics = pipelineMetrics(RECONCILIATION_SERVICE, stage);
      const emitted = captureEmitted(metrics);
      publishMetrics(metrics, RECONCILIATION_METRICS, values);
      return emitted;
    };

    const [dev, prod] = [emittedIn('dev'), emittedIn('prod')];

    expect(dev[0].dimensions).toEqual({ service: 'reconciliation', stage: 'dev' });
    expect(prod[0].dimensions).toEqual({ service: 'reconciliation', stage: 'prod' });
  });
});
