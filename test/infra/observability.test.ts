import { Match } from 'aws-cdk-lib/assertions';
import { type DashboardWidget, dashboardWidgets, widgetMetrics } from './dashboard-body';
import { logicalId, synthSluice } from './synth';

describe('observability in the Sluice stack', () => {
  const { stack, template } = synthSluice({
    stage: 'prod',
    logRetentionDays: 14,
    alarms: {
      runbookUrl: 'https://github.com/example/sluice/blob/main/docs/runbook.md',
      iteratorAge: '2m',
      processorErrors: 3,
      firehoseDataFreshness: '10m',
      dynamoDbThrottles: 4,
      invalidEventRatio: 0.1,
      reconciliationDrift: 0.02,
    },
    reconciliation: { tolerance: 0.001, maxDifferences: 7 },
  });
  const opsTopic = { Ref: logicalId(stack.ops.topic) };
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));

  test.each([
    ['Sluice-prod-iterator-age', 'IteratorAge', 120_000],
    ['Sluice-prod-processor-errors', 'Errors', 3],
    ['Sluice-prod-firehose-data-freshness', 'DeliveryToS3.DataFreshness', 600],
    ['Sluice-prod-reconciliation-drift', 'ReconciliationMaxRelativeDifference', 0.02],
  ])('%s watches %s with the threshold from config (%d)', (alarmName, metricName, threshold) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmName,
      MetricName: metricName,
      Threshold: threshold,
      AlarmActions: [opsTopic],
    });
  });

  test.each([
    ['Sluice-prod-dynamodb-throttles', 4],
    ['Sluice-prod-invalid-event-ratio', 0.1],
  ])('%s takes its threshold from config (%d)', (alarmName, threshold) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: alarmName, Threshold: threshold });
  });

  test("the alarms watch this stack's processor, queue, table, delivery stream and state machine", () => {
    const dimension = (name: string) =>
      alarms.find((a) => a.Properties.AlarmName === name)?.Properties.Dimensions as unknown[];

    expect(dimension('Sluice-prod-iterator-age')).toEqual([
      { Name: 'FunctionName', Value: { Ref: logicalId(stack.processor.function) } },
    ]);
    expect(dimension('Sluice-prod-alert-iterator-age')).toEqual([
      { Name: 'FunctionName', Value: { Ref: logicalId(stack.alertProcessor!.function) } },
    ]);
    expect(dimension('Sluice-prod-alert-processor-errors')).toEqual([
      { Name: 'FunctionName', Value: { Ref: logicalId(stack.alertProcessor!.function) } },
    ]);
    expect(dimension('Sluice-prod-alert-dead-letter-queue')).toEqual([
      {
        Name: 'QueueName',
        Value: { 'Fn::GetAtt': [logicalId(stack.alertProcessor!.deadLetterQueue), 'QueueName'] },
      },
    ]);
    expect(dimension('Sluice-prod-dead-letter-queue')).toEqual([
      {
        Name: 'QueueName',
        Value: { 'Fn::GetAtt': [logicalId(stack.processor.deadLetterQueue), 'QueueName'] },
      },
    ]);
    expect(dimension('Sluice-prod-firehose-data-freshness')).toEqual([
      { Name: 'DeliveryStreamName', Value: { Ref: logicalId(stack.rawLanding.deliveryStream) } },
    ]);
    expect(dimension('Sluice-prod-batch-job-failed')).toEqual([
      { Name: 'StateMachineArn', Value: { Ref: logicalId(stack.batchJob.stateMachine) } },
    ]);
    expect(dimension('Sluice-prod-reconciliation-failed')).toEqual([
      { Name: 'FunctionName', Value: { Ref: logicalId(stack.reconciliation.function) } },
    ]);
  });

  test.each([
    ['Sluice-prod-alert-iterator-age', 'IteratorAge', 120_000],
    ['Sluice-prod-alert-processor-errors', 'Errors', 3],
  ])(
    '%s watches the alert processor with the same threshold (%s, %d)',
    (alarmName, metricName, threshold) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: alarmName,
        MetricName: metricName,
        Threshold: threshold,
      });
    },
  );

  test('the invalid-event ratio reads the aggregate processor only, so no record counts twice', () => {
    const ratio = alarms.find((a) => a.Properties.AlarmName === 'Sluice-prod-invalid-event-ratio');
    const services = JSON.stringify(ratio?.Properties.Metrics);

    expect(services).toContain('"stream-processor"');
    expect(services).not.toContain('"alert-processor"');
  });

  test('the dashboard has an alert path row on the alert processor and its own service metrics', () => {
    const widgets = dashboardWidgets(template);
    const alertFunction = `<${logicalId(stack.alertProcessor!.function)}>`;
    const metricsOf = (title: string) =>
      widgetMetrics(widgets.find((w) => w.properties.title === title) as DashboardWidget);

    expect(widgets.some((w) => w.properties.markdown?.startsWith('## Alert path'))).toBe(true);
    expect(metricsOf('Alert path: iterator age (max)')).toEqual([
      ['AWS/Lambda', 'IteratorAge', 'FunctionName', alertFunction],
    ]);
    expect(metricsOf('Alert path: events and alerts')).toContainEqual([
      'Sluice',
      'AlertsPublished',
      'service',
      'alert-processor',
      'stage',
      'prod',
    ]);
  });

  test('every alarm of the stack notifies the ops topic, and none the alerts topic', () => {
    // 10, the alert processor's iterator age, errors and dead-letter queue, and the speed export's.
    expect(alarms.length).toBe(14);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([opsTopic]);
    }
  });

  test('alarm descriptions link the runbook under the configured URL', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Sluice-prod-batch-job-failed',
      AlarmDescription: Match.stringLikeRegexp(
        'Runbook: https://github.com/example/sluice/blob/main/docs/runbook.md#batch-job-failed$',
      ),
    });
  });

  test('the dashboard is named after the stage and shows every alarm, the batch time-out included', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Sluice-prod' });
    const status = dashboardWidgets(template).find((w) => w.type === 'alarm');

    expect(status?.properties.alarms).toHaveLength(14);
    expect(status?.properties.alarms).toContain(`<${logicalId(stack.batchJob.timedOutAlarm)}.Arn>`);
  });

  test("the dashboard's Athena row watches the stack's workgroup", () => {
    const text = JSON.stringify(dashboardWidgets(template));

    expect(text).toContain(`WorkGroup=\\"${stack.analytics.workGroupName}\\"`);
  });

  test('reconciliation runs after the batch job and compares the configured hourly window', () => {
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(stack.reconciliation.function)];

    expect(fn.Properties.Environment.Variables).toMatchObject({
      HOURLY_WINDOW: '1h',
      AGGREGATE_TTL_MS: String(7 * 86_400_000),
      RECONCILE_TOLERANCE: '0.001',
      RECONCILE_MAX_DIFFERENCES: '7',
      ATHENA_WORKGROUP: stack.analytics.workGroupName,
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        detail: { status: ['SUCCEEDED'], stateMachineArn: [{ Ref: logicalId(stack.batchJob.stateMachine) }] },
      }),
    });
  });

  test('outputs name the reconciliation function and the dashboard', () => {
    template.hasOutput('ReconciliationFunctionName', {
      Value: { Ref: logicalId(stack.reconciliation.function) },
    });
    template.hasOutput('DashboardName', Match.anyValue());
  });
});

describe('reconciliation without an hourly window in config', () => {
  test('deploys a reconciliation that reports "no hourly window configured"', () => {
    const { stack, template } = synthSluice({
      windows: [{ name: '1m', size: '1m' }],
      alertRules: [],
    });

    const fn = template.findResources('AWS::Lambda::Function')[logicalId(stack.reconciliation.function)];
    expect(fn.Properties.Environment.Variables.HOURLY_WINDOW).toBe('');
  });
});

describe('cost guardrails', () => {
  const { stack, template, config } = synthSluice({
    logRetentionDays: 60,
    batch: { bytesScannedCutoffPerQuery: 50 * 1024 ** 3 },
  });

  test('every log group of the stack keeps logs for logRetentionDays, not forever', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));

    expect(groups.length).toBeGreaterThanOrEqual(4);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(config.logRetentionDays);
  });

  test('every function logs to a log group of the stack, never an implicit one without retention', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    const groups = new Set(Object.keys(template.findResources('AWS::Logs::LogGroup')));

    for (const fn of functions) {
      expect(groups.has(fn.Properties.LoggingConfig?.LogGroup?.Ref)).toBe(true);
    }
  });

  test('aggregates expire through DynamoDB TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  test('the Athena workgroup enforces the configured bytes-scanned cutoff', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: stack.analytics.workGroupName,
      WorkGroupConfiguration: Match.objectLike({
        BytesScannedCutoffPerQuery: 50 * 1024 ** 3,
        EnforceWorkGroupConfiguration: true,
      }),
    });
  });

  test('the lake expires raw, quarantine and Athena results', () => {
    const bucket = template.findResources('AWS::S3::Bucket')[logicalId(stack.lake.bucket)];
    const rules = bucket.Properties.LifecycleConfiguration.Rules as Array<{
      Prefix?: string;
      ExpirationInDays?: number;
    }>;

    expect(
      ['raw/', 'quarantine/', 'athena-results/'].map(
        (prefix) => rules.find((r) => r.Prefix === prefix)?.ExpirationInDays,
      ),
    ).toEqual([365, 90, 30]);
  });
});
