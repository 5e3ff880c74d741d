import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { StreamProcessorMetricName } from '../contract/metric-names';
import type { AlertPathResources } from './ops-alarms';
import type { IReconciliationMetrics } from './reconciliation';
import { type RunbookSection, runbookMarkdown } from './runbook';
import type { IStreamProcessorMetrics } from './stream-processor';
import { SluicePropsError } from './validation';

export interface OpsDashboardProps {
  /** The ingest stream. */
  readonly stream: kinesis.IStream;
  /** The stream processor: its function and its own metrics. */
  readonly processor: IStreamProcessorMetrics;
  /** The stream processor's on-failure destination. */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * The alert processor, when the stack runs one: a row of its own (iterator age, invocations and
   * errors, alerts published), and its dead-letter queue beside the other.
   * @default - no alert path row
   */
  readonly alertProcessor?: AlertPathResources;
  /** The aggregates table. */
  readonly table: dynamodb.ITable;
  /** Raw landing. */
  readonly deliveryStream: firehose.IDeliveryStream;
  /** The batch job's state machine. */
  readonly batchJob: sfn.IStateMachine;
  /** The Athena workgroup of the batch job and users (its CloudWatch metrics must be enabled). */
  readonly workGroupName: string;
  readonly reconciliation: IReconciliationMetrics;
  /**
   * Alarms shown in a status widget at the top.
   * @default - no alarm status widget
   */
  readonly alarms?: readonly cloudwatch.IAlarm[];
  /**
   * Address of docs/runbook.md; text widgets link their sections.
   * @default - text widgets name the sections as `docs/runbook.md#<section>`
   */
  readonly runbookUrl?: string;
  /**
   * The sensors widget's function (lib/sensors-widget.ts): a row with the top-N sensors of its
   * metric and a form to show one sensor's windows (CloudWatch custom widgets).
   * @default - no sensors row
   */
  readonly sensors?: {
    readonly function: lambda.IFunction;
    readonly metric: string;
    readonly window: string;
  };
  /**
   * Dashboard name: letters, digits and `-_`, at most 255.
   * @default - the stack name (`Sluice-<stage>`)
   */
  readonly dashboardName?: string;
}

const TEXT_WIDTH = 6;
const GRAPH_WIDTH = 6;
const HEIGHT = 6;
const FIVE_MINUTES = Duration.minutes(5);
const DASHBOARD_NAME = /^[A-Za-z0-9_-]{1,255}$/;

/**
 * The operators' dashboard of one stage: a row per part of the pipeline — ingest, processing, the
 * speed layer's own metrics, DynamoDB, raw landing, batch and reconciliation, dead-letter queue —
 * each opening with a text widget that says what the row shows, what normal looks like and which
 * runbook section to read. Every metric comes from its resource's metric method (the functions'
 * EMF metrics from their constructs' methods, which name the stage).
 */
export class OpsDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OpsDashboardProps) {
    super(scope, id);
    const dashboardName = props.dashboardName ?? Stack.of(this).stackName;
    if (!Token.isUnresolved(dashboardName) && !DASHBOARD_NAME.test(dashboardName)) {
      throw new SluicePropsError(
        this,
        'dashboardName',
        dashboardName,
        'must be 1–255 of letters, digits, - and _',
      );
    }
    const runbook = (section: RunbookSection): string => runbookMarkdown(props.runbookUrl, section);
    const text = (markdown: string): cloudwatch.TextWidget =>
      new cloudwatch.TextWidget({ markdown, width: TEXT_WIDTH, height: HEIGHT });
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      options: Partial<cloudwatch.GraphWidgetProps> = {},
    ) => new cloudwatch.GraphWidget({ title, left, width: GRAPH_WIDTH, height: HEIGHT, ...options });
    const sum = { statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES };
    const max = { statistic: cloudwatch.Stats.MAXIMUM, period: FIVE_MINUTES };
    const emf = (name: StreamProcessorMetricName, label: string): cloudwatch.IMetric =>
      props.processor.metric(name, { label });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName,
      defaultInterval: Duration.hours(6),
    });

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          `# Sluice — ${dashboardName}\n` +
          'One row per part of the pipeline, in the order events flow: ingest → speed layer → DynamoDB, ' +
          'raw landing → batch → reconciliation, and the dead-letter queue. Alarms notify the ops topic. ' +
          runbook('dashboard'),
        width: 24,
        height: 2,
      }),
    );
    if (props.alarms && props.alarms.length > 0) {
      this.dashboard.addWidgets(
        new cloudwatch.AlarmStatusWidget({
          title: 'Alarms',
          alarms: [...props.alarms],
          width: 24,
          height: 3,
        }),
      );
    }

    const stream = props.stream;
    this.dashboard.addWidgets(
      text(
        '## Ingest\nRecords and bytes producers put on the Kinesis stream, and writes Kinesis refused. ' +
          'Throttled writes mean producers retry (and may send duplicates): raise the shard count or use ' +
          `on-demand mode. ${runbook('ingestThrottling')}`,
      ),
      graph('Incoming records', [stream.metricIncomingRecords({ ...sum, label: 'Records' })]),
      graph('Incoming bytes', [stream.metricIncomingBytes({ ...sum, label: 'Bytes' })]),
      graph('Write throttles', [
        stream.metricWriteProvisionedThroughputExceeded({ ...sum, label: 'Throughput exceeded' }),
        stream.metricPutRecordsThrottledRecords({ ...sum, label: 'PutRecords throttled records' }),
      ]),
    );

    const fn = props.processor.function;
    this.dashboard.addWidgets(
      text(
        '## Processing\nThe stream processor Lambda. Iterator age is how far behind the stream it reads: ' +
          'near zero when healthy, growing when it cannot keep up or keeps failing. Errors are failed ' +
          `invocations (whole batches); they are retried. ${runbook('iteratorAge')} · ${runbook('processorErrors')}`,
      ),
      graph('Iterator age (max)', [fn.metric('IteratorAge', { ...max, label: 'Iterator age (ms)' })]),
      graph('Invocations, errors, throttles', [
        fn.metricInvocations({ ...sum, label: 'Invocations' }),
        fn.metricErrors({ ...sum, label: 'Errors' }),
        fn.metricThrottles({ ...sum, label: 'Throttles' }),
      ]),
      graph(
        'Duration and concurrency',
        [
          fn.metricDuration({
            statistic: cloudwatch.Stats.p(50),
            period: FIVE_MINUTES,
            label: 'Duration p50 (ms)',
          }),
          fn.metricDuration({
            statistic: cloudwatch.Stats.p(99),
            period: FIVE_MINUTES,
            label: 'Duration p99 (ms)',
          }),
        ],
        { right: [fn.metric('ConcurrentExecutions', { ...max, label: 'Concurrent executions (max)' })] },
      ),
    );

    this.dashboard.addWidgets(
      text(
        '## Speed layer\nWhat the processor did with the events (its own metrics, namespace `Sluice`, this stage). ' +
          'Invalid events are quarantined in S3; late ones (older than `lateness`) are left to the batch ' +
          'layer. Conflicts are concurrent writers resolved without double counting. Event-time lag is ' +
          `how old events are when processed. ${runbook('invalidEventRatio')}`,
      ),
      graph('Events', [
        emf('ValidEvents', 'Valid'),
        emf('InvalidEvents', 'Invalid'),
        emf('LateEvents', 'Late'),
        emf('FailedRecords', 'Failed (retried)'),
      ]),
      graph('Writes and alerts', [
        emf('ItemsWritten', 'Items written'),
        emf('ConflictsResolved', 'Conflicts resolved'),
        emf('RecordsAlreadyApplied', 'Already applied (replays)'),
        emf('AlertsPublished', 'Alerts published'),
      ]),
      graph('Event-time lag (max)', [
        props.processor.metric('MaxEventTimeLag', { statistic: cloudwatch.Stats.MAXIMUM, label: 'Lag (ms)' }),
      ]),
    );

    const alertPath = props.alertProcessor;
    if (alertPath) {
      const alertFn = alertPath.processor.function;
      const alertEmf = (name: StreamProcessorMetricName, label: string): cloudwatch.IMetric =>
        alertPath.processor.metric(name, { label });
      this.dashboard.addWidgets(
        text(
          '## Alert path\nThe alert processor: a second mapping on the stream with no batching window, ' +
            'evaluating the per-event rules only (service `alert-processor`). Iterator age near zero means ' +
            'value alerts leave within about a second of the record reaching the stream. Its invalid ' +
            'events are skipped and counted here, quarantined by the processor above. ' +
            `${runbook('iteratorAge')} · ${runbook('processorErrors')}`,
        ),
        graph('Alert path: iterator age (max)', [
          alertFn.metric('IteratorAge', { ...max, label: 'Iterator age (ms)' }),
        ]),
        graph('Alert path: invocations, errors, throttles', [
          alertFn.metricInvocations({ ...sum, label: 'Invocations' }),
          alertFn.metricErrors({ ...sum, label: 'Errors' }),
          alertFn.metricThrottles({ ...sum, label: 'Throttles' }),
        ]),
        graph('Alert path: events and alerts', [
          alertEmf('EventsReceived', 'Received'),
          alertEmf('FailedRecords', 'Failed (retried)'),
          alertEmf('AlertsPublished', 'Alerts published'),
        ]),
      );
    }

    const table = props.table;
    this.dashboard.addWidgets(
      text(
        '## DynamoDB\nThe aggregates table (on-demand). One write per aggregate item per batch, not per ' +
          'event. Throttling slows the speed layer and shows up as iterator age. Conditional check failures ' +
          `are the exactly-once guard catching a concurrent or replayed write. ${runbook('dynamoDbThrottles')}`,
      ),
      graph('Consumed capacity', [
        table.metricConsumedReadCapacityUnits({ ...sum, label: 'Read units' }),
        table.metricConsumedWriteCapacityUnits({ ...sum, label: 'Write units' }),
      ]),
      graph('Throttled requests', [
        table.metric('ReadThrottleEvents', { ...sum, label: 'Read throttles' }),
        table.metric('WriteThrottleEvents', { ...sum, label: 'Write throttles' }),
      ]),
      graph('Conditional check failures', [
        table.metricConditionalCheckFailedRequests({ ...sum, label: 'Conditional check failed' }),
      ]),
    );

    if (props.sensors) {
      const sensors = props.sensors;
      const custom = (title: string, params: Record<string, unknown>): cloudwatch.CustomWidget =>
        new cloudwatch.CustomWidget({
          functionArn: sensors.function.functionArn,
          title,
          params,
          width: 9,
          height: HEIGHT,
          updateOnRefresh: true,
          updateOnResize: false,
          updateOnTimeRangeChange: true,
        });
      this.dashboard.addWidgets(
        text(
          "## Sensors\nThe speed layer's aggregates, read from the table by key (a custom widget backed by a " +
            'read-only Lambda): the top sensors in the window holding the end of the time range, and one ' +
            "sensor's windows over the time range (type its id in the form). The batch layer's hours: Athena " +
            'view `sensor_stats_hourly_live`.',
        ),
        custom(`Top sensors by max ${sensors.metric} (${sensors.window})`, {
          metric: sensors.metric,
          window: sensors.window,
          top: 10,
          by: 'max',
        }),
        custom(`Top sensors by mean ${sensors.metric} (${sensors.window})`, {
          metric: sensors.metric,
          window: sensors.window,
          top: 10,
          by: 'avg',
        }),
      );
    }

    const delivery = props.deliveryStream;
    this.dashboard.addWidgets(
      text(
        "## Raw landing (Firehose)\nEvery record, valid or not, copied to S3 `raw/`: the batch layer's " +
          'input. Delivery success should be 1; data freshness stays around the buffer interval. ' +
          runbook('firehoseDataFreshness'),
      ),
      graph('Delivery to S3 success', [
        delivery.metric('DeliveryToS3.Success', {
          statistic: cloudwatch.Stats.AVERAGE,
          period: FIVE_MINUTES,
          label: 'Success (1 = all delivered)',
        }),
      ]),
      graph('Data freshness (max)', [
        delivery.metric('DeliveryToS3.DataFreshness', { ...max, label: 'Oldest undelivered record (s)' }),
      ]),
      graph('Records in and delivered', [
        delivery.metricIncomingRecords({ ...sum, label: 'Read from the stream' }),
        delivery.metric('DeliveryToS3.Records', { ...sum, label: 'Delivered to S3' }),
      ]),
    );

    const job = props.batchJob;
    const hour = Duration.hours(1);
    const day = Duration.days(1);
    const rec = props.reconciliation;
    this.dashboard.addWidgets(
      text(
        '## Batch and reconciliation\nThe daily job (Step Functions → Athena) and what its queries scan ' +
          '(Athena bills per byte scanned). After each successful run the reconciliation compares the ' +
          "speed layer's hourly windows with the batch layer's hourly stats: items differing and the " +
          'largest relative difference are the drift (producer duplicates and late events cause it). ' +
          `${runbook('batchJobFailed')} · ${runbook('reconciliationDrift')}`,
      ),
      graph('Batch runs', [
        job.metricSucceeded({ statistic: cloudwatch.Stats.SUM, period: hour, label: 'Succeeded' }),
        job.metricFailed({ statistic: cloudwatch.Stats.SUM, period: hour, label: 'Failed' }),
        job.metricTimedOut({ statistic: cloudwatch.Stats.SUM, period: hour, label: 'Timed out' }),
      ]),
      graph('Athena bytes scanned', [
        // The workgroup is an L1 resource without metric methods; its metrics carry QueryState and
        // QueryType besides WorkGroup, so they are summed with a search scoped to the workgroup.
        new cloudwatch.MathExpression({
          expression: `SUM(SEARCH('{AWS/Athena,QueryState,QueryType,WorkGroup} MetricName="ProcessedBytes" WorkGroup="${props.workGroupName}"', 'Sum', 3600))`,
          usingMetrics: {},
          label: 'Bytes scanned',
          period: hour,
        }),
      ]),
      graph(
        'Reconciliation drift',
        [
          rec.metricItemsCompared({
            statistic: cloudwatch.Stats.MAXIMUM,
            period: day,
            label: 'Items compared',
          }),
          rec.metricItemsDiffering({
            statistic: cloudwatch.Stats.MAXIMUM,
            period: day,
            label: 'Items differing',
          }),
        ],
        {
          right: [
            rec.metricMaxRelativeDifference({
              statistic: cloudwatch.Stats.MAXIMUM,
              period: day,
              label: 'Max relative difference',
            }),
          ],
        },
      ),
    );

    const dlq = props.deadLetterQueue;
    this.dashboard.addWidgets(
      text(
        '## Dead-letter queue\nBatches the speed layer gave up on after its retries (shard and sequence ' +
          'range, not the events). Should be empty; anything here is missing from DynamoDB until replayed. ' +
          runbook('deadLetterQueue'),
      ),
      graph('Messages waiting', [
        dlq.metricApproximateNumberOfMessagesVisible({ ...max, label: 'Visible messages' }),
        ...(alertPath
          ? [
              alertPath.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
                ...max,
                label: 'Visible messages (alert processor)',
              }),
            ]
          : []),
      ]),
      graph('Age of oldest message', [
        dlq.metricApproximateAgeOfOldestMessage({ ...max, label: 'Oldest message (s)' }),
        ...(alertPath
          ? [
              alertPath.deadLetterQueue.metricApproximateAgeOfOldestMessage({
                ...max,
                label: 'Oldest message (s, alert processor)',
              }),
            ]
          : []),
      ]),
    );
  }
}
