import { Template } from 'aws-cdk-lib/assertions';
import { OpsDashboard, type OpsDashboardProps } from '../../lib/ops-dashboard';
import { type DashboardWidget, dashboardWidgets, widgetByTitle, widgetMetrics } from './dashboard-body';
import { addOpsAlarms, addReconciliation, FIXTURE_STAGE, type OpsFixture, opsFixture } from './ops-fixtures';
import { logicalId } from './synth';

function build(overrides: Partial<OpsDashboardProps> = {}, withAlarms = true) {
  const f: OpsFixture = opsFixture();
  const reconciliation = addReconciliation(f);
  const alarms = addOpsAlarms(f, reconciliation);
  new OpsDashboard(f.stack, 'OpsDashboard', {
    stream: f.ingest.stream,
    processor: f.processor,
    deadLetterQueue: f.processor.deadLetterQueue,
    table: f.aggregates.table,
    deliveryStream: f.rawLanding.deliveryStream,
    batchJob: f.batchJob,
    workGroupName: f.workgroup.workGroupName,
    reconciliation,
    alarms: withAlarms ? Object.values(alarms.alarms) : undefined,
    ...overrides,
  });
  const template = Template.fromStack(f.stack);
  return { f, reconciliation, alarms, template, widgets: dashboardWidgets(template) };
}

/** The text widget that opens the row `heading` (`## heading`). */
function rowText(widgets: readonly DashboardWidget[], heading: string): string {
  const found = widgets.find(
    (w) => w.type === 'text' && w.properties.markdown?.startsWith(`## ${heading}\n`),
  );
  if (!found) throw new Error(`no text widget for ${heading}`);
  return found.properties.markdown as string;
}

describe('ops dashboard', () => {
  const { f, reconciliation, template, widgets } = build();
  const ref = (construct: Parameters<typeof logicalId>[0]): string => `<${logicalId(construct)}>`;
  const fn = ref(f.processor.function);
  const stream = ref(f.ingest.stream);
  const table = ref(f.aggregates.table);
  const delivery = ref(f.rawLanding.deliveryStream);
  const queueName = `<${logicalId(f.processor.deadLetterQueue)}.QueueName>`;
  const stateMachine = ref(f.batchJob);

  test('is named after the stack, one per stage', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Test' });
  });

  test('shows the status of every alarm at the top', () => {
    const status = widgets.find((w) => w.type === 'alarm');

    expect(status?.properties.alarms).toHaveLength(9);
    expect(status?.y).toBeLessThan(widgets.find((w) => w.properties.markdown?.startsWith('## Ingest'))!.y);
  });

  test('ingest: incoming records and bytes and write throttles of the stream', () => {
    expect(widgetMetrics(widgetByTitle(widgets, 'Incoming records'))).toEqual([
      ['AWS/Kinesis', 'IncomingRecords', 'StreamName', stream],
    ]);
    expect(widgetMetrics(widgetByTitle(widgets, 'Incoming bytes'))).toEqual([
      ['AWS/Kinesis', 'IncomingBytes', 'StreamName', stream],
    ]);
    expect(widgetMetrics(widgetByTitle(widgets, 'Write throttles'))).toEqual([
      ['AWS/Kinesis', 'WriteProvisionedThroughputExceeded', 'StreamName', stream],
      ['AWS/Kinesis', 'PutRecords.ThrottledRecords', 'StreamName', stream],
    ]);
  });

  test('processing: iterator age, invocations, errors, throttles of the stream processor', () => {
    expect(widgetMetrics(widgetByTitle(widgets, 'Iterator age (max)'))).toEqual([
      ['AWS/Lambda', 'IteratorAge', 'FunctionName', fn],
    ]);
    expect(widgetMetrics(widgetByTitle(widgets, 'Invocations, errors, throttles'))).toEqual([
      ['AWS/Lambda', 'Invocations', 'FunctionName', fn],
      ['AWS/Lambda', 'Errors', 'FunctionName', fn],
      ['AWS/Lambda', 'Throttles', 'FunctionName', fn],
    ]);
  });

  test('processing: duration p50 and p99 and maximum concurrency', () => {
    const widget = widgetByTitle(widgets, 'Duration and concurrency');

    expect(widgetMetrics(widget)).toEqual([
      ['AWS/Lambda', 'Duration', 'FunctionName', fn],
      ['AWS/Lambda', 'Duration', 'FunctionName', fn],
      ['AWS/Lambda', 'ConcurrentExecutions', 'FunctionName', fn],
    ]);
    expect(widget.properties.metrics?.map((m) => (m[m.length - 1] as { stat?: string }).stat)).toEqual([
      'p50',
      'p99',
      'Maximum',
    ]);
  });

  test("speed layer: the processor's valid, invalid, late and failed events (EMF, service and stage)", () => {
    const emf = (name: string) => ['Sluice', name, 'service', 'stream-processor', 'stage', FIXTURE_STAGE];

    expect(widgetMetrics(widgetByTitle(widgets, 'Events'))).toEqual([
      emf('ValidEvents'),
      emf('InvalidEvents'),
      emf('LateEvents'),
      emf('FailedRecords'),
    ]);
  });

  test('speed layer: items written, conflicts, replays, alerts and the event-time lag', () => {
    const emf = (name: string) => ['Sluice', name, 'service', 'stream-processor', 'stage', FIXTURE_STAGE];

    expect(widgetMetrics(widgetByTitle(widgets, 'Writes and alerts'))).toEqual([
      emf('ItemsWritten'),
      emf('ConflictsResolved'),
      emf('RecordsAlreadyApplied'),
      emf('AlertsPublished'),
    ]);
    expect(widgetMetrics(widgetByTitle(widgets, 'Event-time lag (max)'))).toEqual([emf('MaxEventTimeLag')]);
  });

  test('DynamoDB: consumed capacity and throttles of the aggregates table', () => {
    expect(widgetMetrics(widgetByTitle(widgets, 'Consumed capacity'))).toEqual([
      ['AWS/DynamoDB', 'ConsumedReadCapacityUnits', 'TableName', table],
      ['AWS/DynamoDB', 'ConsumedWriteCapacityUnits', 'TableName', table],
    ]);
    expect(widgetMetrics(widgetByTitle(widgets, 'Throttled requests'))).toEqual([
      ['AWS/DynamoDB', 'ReadThrottleEvents', 'TableName', table],
      ['AWS/DynamoDB', 'WriteThrottleEvents', 'TableName', table],
    ]);
  });

  test('Firehose: delivery success and data freshness of raw landing', () => {
    expect(widgetMetrics(widgetByTitle(widgets, 'Delivery to S3 success'))).toEqual([
      ['AWS/Firehose', 'DeliveryToS3.Success', 'DeliveryStreamName', delivery],
    ]);
    expect(widgetMetrics(widgetByTitle(widgets, 'Data freshness (max)'))).toEqual([
      ['AWS/Firehose', 'DeliveryToS3.DataFreshness', 'DeliveryStreamName', delivery],
    ]);
  });

  test('batch: succeeded, failed and timed-out runs of the batch state machine', () => {
    expect(widgetMetrics(widgetByTitle(widgets, 'Batch runs'))).toEqual([
      ['AWS/States', 'ExecutionsSucceeded', 'StateMachineArn', stateMachine],
      ['AWS/States', 'ExecutionsFailed', 'StateMachineArn', stateMachine],
      ['AWS/States', 'ExecutionsTimedOut', 'StateMachineArn', stateMachine],
    ]);
  });

  test('batch: Athena bytes scanned, summed over the workgroup only', () => {
    const [expression] = widgetByTitle(widgets, 'Athena bytes scanned').properties.metrics ?? [];

    expect(expression).toEqual([
      expect.objectContaining({
        expression: `SUM(SEARCH('{AWS/Athena,QueryState,QueryType,WorkGroup} MetricName="ProcessedBytes" WorkGroup="${f.workgroup.workGroupName}"', 'Sum', 3600))`,
      }),
    ]);
  });

  test('reconciliation: items compared, items differing and the largest relative difference', () => {
    const metrics = widgetMetrics(widgetByTitle(widgets, 'Reconciliation drift'));

    expect(metrics).toEqual([
      ['Sluice', 'ReconciliationItemsCompared', 'service', 'reconciliation', 'stage', FIXTURE_STAGE],
      ['Sluice', 'ReconciliationItemsDiffering', 'service', 'reconciliation', 'stage', FIXTURE_STAGE],
      ['Sluice', 'ReconciliationMaxRelativeDifference', 'service', 'reconciliation', 'stage', FIXTURE_STAGE],
    ]);
    expect(reconciliation.metricMaxRelativeDifference().namespace).toBe('Sluice');
  });

  test('DLQ: visible messages and age of the oldest in the on-failure queue', () => {
    expect(widgetMetrics(widgetByTitle(widgets, 'Messages waiting'))).toEqual([
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', queueName],
    ]);
    expect(widgetMetrics(widgetByTitle(widgets, 'Age of oldest message'))).toEqual([
      ['AWS/SQS', 'ApproximateAgeOfOldestMessage', 'QueueName', queueName],
    ]);
  });

  test.each([
    ['Ingest', 'ingest-throttling'],
    ['Processing', 'iterator-age'],
    ['Speed layer', 'invalid-event-ratio'],
    ['DynamoDB', 'dynamodb-throttling'],
    ['Raw landing (Firehose)', 'firehose-data-freshness'],
    ['Batch and reconciliation', 'reconciliation-drift'],
    ['Dead-letter queue', 'dead-letter-queue-not-empty'],
  ])('the %s row opens with text naming its runbook section (%s)', (heading, anchor) => {
    expect(rowText(widgets, heading)).toContain(`docs/runbook.md#${anchor}`);
  });

  test('every row starts with its text widget at the left edge', () => {
    const rows = widgets.filter((w) => w.type === 'text' && w.properties.markdown?.startsWith('## '));

    expect(rows).toHaveLength(7);
    for (const row of rows) expect(row.x).toBe(0);
  });
});

describe('ops dashboard options', () => {
  test('text widgets link the runbook under a configured URL', () => {
    const { widgets } = build({ runbookUrl: 'https://example.com/docs/runbook.md' });

    expect(rowText(widgets, 'Dead-letter queue')).toContain(
      '[Runbook: Dead-letter queue not empty](https://example.com/docs/runbook.md#dead-letter-queue-not-empty)',
    );
  });

  test('without alarms there is no alarm status widget', () => {
    const { widgets } = build({}, false);

    expect(widgets.filter((w) => w.type === 'alarm')).toEqual([]);
  });

  test('takes a dashboard name', () => {
    const { template } = build({ dashboardName: 'sluice-prod-ops' });

    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'sluice-prod-ops' });
  });

  test('fails for a dashboard name with spaces, naming the value', () => {
    expect(() => build({ dashboardName: 'my dashboard' })).toThrow(
      'Test/OpsDashboard: dashboardName must be 1–255 of letters, digits, - and _ (given my dashboard)',
    );
  });
});
