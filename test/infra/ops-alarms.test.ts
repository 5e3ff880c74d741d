import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { OpsAlarms, OpsAlarmsProps } from '../../lib/ops-alarms';
import type { Reconciliation } from '../../lib/reconciliation';
import { addOpsAlarms, addReconciliation, FIXTURE_STAGE, type OpsFixture, opsFixture } from './ops-fixtures';
import { logicalId } from './synth';

function build(overrides: Partial<OpsAlarmsProps> = {}): {
  f: OpsFixture;
  alarms: OpsAlarms;
  reconciliation: Reconciliation;
} {
  const f = opsFixture();
  const reconciliation = addReconciliation(f, { hourlyWindow: '1h' });
  const alarms = addOpsAlarms(f, reconciliation, overrides);
  return { f, alarms, reconciliation };
}

describe('ops alarms with default thresholds', () => {
  const { f, reconciliation } = build();
  const template = Template.fromStack(f.stack);
  const topic = { Ref: logicalId(f.ops.topic) };
  const notifies = { AlarmActions: [topic], OKActions: [topic] };
  const dimension = (name: string, value: unknown) => [{ Name: name, Value: value }];

  test('iterator age: maximum IteratorAge of the stream processor, 5 minutes, 3 minutes in a row', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-iterator-age',
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: dimension('FunctionName', { Ref: logicalId(f.processor.function) }),
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 300_000,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      ...notifies,
    });
  });

  test('processor errors: Errors of the stream processor, 5 or more in 5 minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-processor-errors',
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: dimension('FunctionName', { Ref: logicalId(f.processor.function) }),
      Statistic: 'Sum',
      Period: 300,
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      ...notifies,
    });
  });

  test('dead-letter queue: any visible message in the on-failure queue', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-dead-letter-queue',
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: dimension('QueueName', {
        'Fn::GetAtt': [logicalId(f.processor.deadLetterQueue), 'QueueName'],
      }),
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      ...notifies,
    });
  });

  test('Firehose data freshness: 900 seconds on the raw landing delivery stream', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-firehose-data-freshness',
      Namespace: 'AWS/Firehose',
      MetricName: 'DeliveryToS3.DataFreshness',
      Dimensions: dimension('DeliveryStreamName', { Ref: logicalId(f.rawLanding.deliveryStream) }),
      Statistic: 'Maximum',
      Threshold: 900,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      ...notifies,
    });
  });

  test('DynamoDB throttling: read plus write throttle events of the aggregates table, 10 in 5 minutes', () => {
    const table = dimension('TableName', { Ref: logicalId(f.aggregates.table) });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-dynamodb-throttles',
      Threshold: 10,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Metrics: Match.arrayWith([
        Match.objectLike({
          Expression: 'FILL(readThrottles, 0) + FILL(writeThrottles, 0)',
          ReturnData: true,
        }),
        Match.objectLike({
          Id: 'readThrottles',
          MetricStat: {
            Metric: { Namespace: 'AWS/DynamoDB', MetricName: 'ReadThrottleEvents', Dimensions: table },
            Period: 300,
            Stat: 'Sum',
          },
        }),
        Match.objectLike({
          Id: 'writeThrottles',
          MetricStat: {
            Metric: { Namespace: 'AWS/DynamoDB', MetricName: 'WriteThrottleEvents', Dimensions: table },
            Period: 300,
            Stat: 'Sum',
          },
        }),
      ]),
      ...notifies,
    });
  });

  test('batch job failed: any failed execution of the batch state machine', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-batch-job-failed',
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Dimensions: dimension('StateMachineArn', { Ref: logicalId(f.batchJob) }),
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      ...notifies,
    });
  });

  test("invalid-event ratio: the processor's InvalidEvents over EventsReceived above 5 % in 15 minutes", () => {
    const emf = (name: string) =>
      Match.objectLike({
        MetricStat: {
          Metric: {
            Namespace: 'Sluice',
            MetricName: name,
            Dimensions: [
              { Name: 'service', Value: 'stream-processor' },
              { Name: 'stage', Value: FIXTURE_STAGE },
            ],
          },
          Period: 900,
          Stat: 'Sum',
        },
      });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-invalid-event-ratio',
      Threshold: 0.05,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(received > 0, invalid / received, 0)', ReturnData: true }),
        emf('EventsReceived'),
        emf('InvalidEvents'),
      ]),
      ...notifies,
    });
  });

  test("reconciliation drift: a day's largest relative difference above 0.05", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-reconciliation-drift',
      Namespace: 'Sluice',
      MetricName: 'ReconciliationMaxRelativeDifference',
      Dimensions: [
        { Name: 'service', Value: 'reconciliation' },
        { Name: 'stage', Value: FIXTURE_STAGE },
      ],
      Statistic: 'Maximum',
      Period: 86_400,
      Threshold: 0.05,
      ComparisonOperator: 'GreaterThanThreshold',
      ...notifies,
    });
  });

  test('reconciliation failed: any error of the reconciliation function in an hour', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-reconciliation-failed',
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: dimension('FunctionName', { Ref: logicalId(reconciliation.function) }),
      Period: 3600,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      ...notifies,
    });
  });

  test('every alarm notifies the ops topic on alarm and on recovery, and no other target', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) =>
      String(a.Properties.AlarmName).startsWith('Test-'),
    );

    expect(alarms).toHaveLength(9);
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject(notifies);
    }
  });

  test('every alarm watches a metric with dimensions', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) =>
      String(a.Properties.AlarmName).startsWith('Test-'),
    );

    for (const { Properties: p } of alarms) {
      const dimensions =
        p.Dimensions ??
        p.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).map(
          (m: { MetricStat: { Metric: { Dimensions: unknown[] } } }) => m.MetricStat.Metric.Dimensions,
        );
      expect(dimensions.length).toBeGreaterThan(0);
      expect(JSON.stringify(dimensions)).not.toContain('[]');
    }
  });

  test('missing data does not alarm', () => {
    template.allResourcesProperties('AWS::CloudWatch::Alarm', { TreatMissingData: 'notBreaching' });
  });

  test('descriptions name the runbook section when no runbook URL is configured', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-iterator-age',
      AlarmDescription: Match.stringLikeRegexp('Runbook: docs/runbook.md#iterator-age$'),
    });
  });
});

describe('ops alarms with configured thresholds', () => {
  const { f } = build({
    thresholds: {
      iteratorAge: Duration.minutes(2),
      processorErrors: 3,
      firehoseDataFreshness: Duration.minutes(20),
      dynamoDbThrottles: 7,
      invalidEventRatio: 0.2,
      reconciliationDrift: 0.01,
    },
    runbookUrl: 'https://example.com/sluice/runbook.md',
    alarmNamePrefix: 'sluice-prod',
  });
  const template = Template.fromStack(f.stack);

  test.each([
    ['sluice-prod-iterator-age', 120_000],
    ['sluice-prod-processor-errors', 3],
    ['sluice-prod-firehose-data-freshness', 1200],
    ['sluice-prod-dynamodb-throttles', 7],
    ['sluice-prod-invalid-event-ratio', 0.2],
    ['sluice-prod-reconciliation-drift', 0.01],
  ])('%s takes its threshold from props (%d)', (alarmName, threshold) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: alarmName, Threshold: threshold });
  });

  test('descriptions link the runbook section under the configured URL', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'sluice-prod-dead-letter-queue',
      AlarmDescription: Match.stringLikeRegexp(
        'Runbook: https://example.com/sluice/runbook.md#dead-letter-queue-not-empty$',
      ),
    });
  });
});

describe('ops alarm validation', () => {
  test('fails for an invalid-event ratio of 0, naming the prop and value', () => {
    expect(() => build({ thresholds: { invalidEventRatio: 0 } })).toThrow(
      'Test/OpsAlarms: thresholds.invalidEventRatio must be a number above 0 and at most 1 (given 0)',
    );
  });

  test('fails for an iterator age under a minute', () => {
    expect(() => build({ thresholds: { iteratorAge: Duration.seconds(30) } })).toThrow(
      /thresholds\.iteratorAge must be a whole number of seconds between 60 and 604800 seconds inclusive \(given 30 seconds\)/,
    );
  });

  test('fails for a processor error threshold of 0', () => {
    expect(() => build({ thresholds: { processorErrors: 0 } })).toThrow(
      /thresholds\.processorErrors must be an integer/,
    );
  });
});
