import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DEFAULT_CONFIG, durationMs } from '../contract/config';
import type { IReconciliationMetrics } from './reconciliation';
import { type RunbookSection, runbookReference } from './runbook';
import type { IStreamProcessorMetrics } from './stream-processor';
import { checkDuration, checkInteger, SluicePropsError } from './validation';

/** Alarm thresholds; each defaults to the value in `DEFAULT_CONFIG.alarms` (contract/config.ts). */
export interface OpsAlarmThresholds {
  /**
   * The stream processor's maximum iterator age (how far behind the stream it reads), 1 minute–7 days.
   * @default Duration.minutes(5)
   */
  readonly iteratorAge?: Duration;
  /**
   * Failed invocations of the stream processor in 5 minutes, 1 or more.
   * @default 5
   */
  readonly processorErrors?: number;
  /**
   * Age of the oldest record Firehose has not delivered to S3, whole seconds, 1 minute–1 day.
   * @default Duration.minutes(15)
   */
  readonly firehoseDataFreshness?: Duration;
  /**
   * Throttled DynamoDB reads plus writes on the aggregates table in 5 minutes, 1 or more.
   * @default 10
   */
  readonly dynamoDbThrottles?: number;
  /**
   * Invalid events as a fraction of events received over 15 minutes, above 0 and at most 1.
   * @default 0.05
   */
  readonly invalidEventRatio?: number;
  /**
   * A reconciled day's largest relative difference between speed and batch layer, above 0, at most 2.
   * @default 0.05
   */
  readonly reconciliationDrift?: number;
}

export interface OpsAlarmsProps {
  /** Where every alarm (and its return to OK) is published: the ops topic, not the alerts topic. */
  readonly topic: sns.ITopic;
  /** The stream processor: its function (iterator age, errors) and its own metrics (invalid events). */
  readonly processor: IStreamProcessorMetrics;
  /** The stream processor's on-failure destination. */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * The alert processor, when the stack runs one beside `processor`: its iterator age, errors and
   * dead-letter queue get alarms of their own (same thresholds). Its invalid events are not
   * counted again: the invalid-event ratio reads `processor`, which quarantines them.
   * @default - no alert processor alarms
   */
  readonly alertProcessor?: AlertPathResources;
  /** The aggregates table. */
  readonly table: dynamodb.ITable;
  /** Raw landing. */
  readonly deliveryStream: firehose.IDeliveryStream;
  /** The batch job's state machine. */
  readonly batchJob: sfn.IStateMachine;
  readonly reconciliation: IReconciliationMetrics;
  /**
   * The speed export (lib/speed-export.ts): an alarm when half or more of an hour's runs fail (one
   * failed run is redone by the next).
   * @default - no speed export alarm
   */
  readonly speedExport?: { readonly function: lambda.IFunction };
  /** @default - every threshold from `DEFAULT_CONFIG.alarms` */
  readonly thresholds?: OpsAlarmThresholds;
  /**
   * Address of docs/runbook.md; each alarm's description ends with its section's link.
   * @default - descriptions name the section as `docs/runbook.md#<section>`
   */
  readonly runbookUrl?: string;
  /**
   * Start of every alarm name (`<prefix>-<alarm>`), so a stage's alarms sort together.
   * @default - the stack name
   */
  readonly alarmNamePrefix?: string;
}

/** The alert processor and its on-failure destination. */
export interface AlertPathResources {
  readonly processor: IStreamProcessorMetrics;
  readonly deadLetterQueue: sqs.IQueue;
}

export type OpsAlarmId =
  | 'iteratorAge'
  | 'processorErrors'
  | 'deadLetterQueue'
  | 'alertIteratorAge'
  | 'alertProcessorErrors'
  | 'alertDeadLetterQueue'
  | 'firehoseDataFreshness'
  | 'dynamoDbThrottles'
  | 'batchJobFailed'
  | 'invalidEventRatio'
  | 'reconciliationDrift'
  | 'reconciliationFailed'
  | 'speedExportFailed';

interface AlarmSpec {
  /** Construct id (stable) and alarm name suffix. */
  readonly id: string;
  readonly name: string;
  readonly meaning: string;
  readonly runbook: RunbookSection;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly comparison: cloudwatch.ComparisonOperator;
  readonly evaluationPeriods?: number;
}

/** The alarms that exist only with an alert processor. */
type AlertPathAlarmId = 'alertIteratorAge' | 'alertProcessorErrors' | 'alertDeadLetterQueue';
/** The alarms that exist only with the part they watch (an alert processor, the speed export). */
type OptionalAlarmId = AlertPathAlarmId | 'speedExportFailed';

const GTE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
const GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;

/**
 * The alarms that page operators, each built from its resource's own metric method (for the
 * functions' EMF metrics, their constructs' methods, which name the stage), with the resource's dimensions, a threshold
 * from config, and alarm and OK actions to the ops topic. Missing data is not breaching: no traffic
 * is not an incident, and each stall that stops a metric altogether has another alarm that fires.
 */
export class OpsAlarms extends Construct {
  /** Every alarm by id; the `alert*` ones exist only with an alert processor, `speedExportFailed` with the export. */
  public readonly alarms: Readonly<Partial<Record<OpsAlarmId, cloudwatch.Alarm>>> &
    Readonly<Record<Exclude<OpsAlarmId, OptionalAlarmId>, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: OpsAlarmsProps) {
    super(scope, id);
    const defaults = DEFAULT_CONFIG.alarms;
    const t = props.thresholds ?? {};
    const iteratorAge = t.iteratorAge ?? Duration.millis(durationMs(defaults.iteratorAge));
    const processorErrors = t.processorErrors ?? defaults.processorErrors;
    const freshness = t.firehoseDataFreshness ?? Duration.millis(durationMs(defaults.firehoseDataFreshness));
    const throttles = t.dynamoDbThrottles ?? defaults.dynamoDbThrottles;
    const invalidRatio = t.invalidEventRatio ?? defaults.invalidEventRatio;
    const drift = t.reconciliationDrift ?? defaults.reconciliationDrift;
    checkDuration(this, 'thresholds.iteratorAge', iteratorAge, 60, 7 * 86_400, 'seconds');
    checkInteger(this, 'thresholds.processorErrors', processorErrors, 1, 1_000_000);
    checkDuration(this, 'thresholds.firehoseDataFreshness', freshness, 60, 86_400, 'seconds');
    checkInteger(this, 'thresholds.dynamoDbThrottles', throttles, 1, 1_000_000);
    checkFraction(this, 'thresholds.invalidEventRatio', invalidRatio, 1);
    checkFraction(this, 'thresholds.reconciliationDrift', drift, 2);
    const prefix = props.alarmNamePrefix ?? Stack.of(this).stackName;

    const fiveMinutes = Duration.minutes(5);
    const fellBehind = (fn: lambda.IFunction, who: string): Omit<AlarmSpec, 'id' | 'name'> => ({
      meaning: `${who} is ${iteratorAge.toHumanString()} or more behind the stream (3 minutes in a row).`,
      runbook: 'iteratorAge',
      metric: fn.metric('IteratorAge', { statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1) }),
      threshold: iteratorAge.toMilliseconds(),
      comparison: GTE,
      evaluationPeriods: 3,
    });
    const failing = (fn: lambda.IFunction, who: string): Omit<AlarmSpec, 'id' | 'name'> => ({
      meaning: `${who} failed ${processorErrors} or more invocations in 5 minutes (batches are retried, then go to its dead-letter queue).`,
      runbook: 'processorErrors',
      metric: fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period: fiveMinutes }),
      threshold: processorErrors,
      comparison: GTE,
    });
    const gaveUp = (queue: sqs.IQueue, what: string): Omit<AlarmSpec, 'id' | 'name'> => ({
      meaning: `Records ${what} gave up on are in its on-failure queue: their shard and sequence range are there, ${what === 'the speed layer' ? 'the events are not in DynamoDB' : 'their value alerts were not raised'}.`,
      runbook: 'deadLetterQueue',
      metric: queue.metricApproximateNumberOfMessagesVisible({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: fiveMinutes,
      }),
      threshold: 1,
      comparison: GTE,
    });
    const alertPath = props.alertProcessor;
    const alertSpecs: Partial<Record<AlertPathAlarmId, AlarmSpec>> = alertPath
      ? {
          alertIteratorAge: {
            id: 'AlertIteratorAge',
            name: 'alert-iterator-age',
            ...fellBehind(alertPath.processor.function, 'The alert processor'),
          },
          alertProcessorErrors: {
            id: 'AlertProcessorErrors',
            name: 'alert-processor-errors',
            ...failing(alertPath.processor.function, 'The alert processor'),
          },
          alertDeadLetterQueue: {
            id: 'AlertDeadLetterQueue',
            name: 'alert-dead-letter-queue',
            ...gaveUp(alertPath.deadLetterQueue, 'the alert processor'),
          },
        }
      : {};
    const specs: Partial<Record<OpsAlarmId, AlarmSpec>> = {
      iteratorAge: {
        id: 'IteratorAge',
        name: 'iterator-age',
        ...fellBehind(props.processor.function, 'The speed layer'),
      },
      processorErrors: {
        id: 'ProcessorErrors',
        name: 'processor-errors',
        ...failing(props.processor.function, 'The stream processor'),
      },
      deadLetterQueue: {
        id: 'DeadLetterQueue',
        name: 'dead-letter-queue',
        ...gaveUp(props.deadLetterQueue, 'the speed layer'),
      },
      ...alertSpecs,
      ...(props.speedExport
        ? {
            speedExportFailed: {
              id: 'SpeedExportFailed',
              name: 'speed-export-failed',
              meaning:
                "Half or more of the last hour's speed exports failed: the speed rows of sensor_stats_hourly_live are getting stale.",
              runbook: 'speedExportFailed' as const,
              metric: props.speedExport.function.metricErrors({
                statistic: cloudwatch.Stats.SUM,
                period: Duration.hours(1),
              }),
              threshold: 3,
              comparison: GTE,
            },
          }
        : {}),
      firehoseDataFreshness: {
        id: 'FirehoseDataFreshness',
        name: 'firehose-data-freshness',
        meaning: `Raw landing is stalled: the oldest record not yet in S3 is ${freshness.toHumanString()} old or more.`,
        runbook: 'firehoseDataFreshness',
        metric: props.deliveryStream.metric('DeliveryToS3.DataFreshness', {
          statistic: cloudwatch.Stats.MAXIMUM,
          period: fiveMinutes,
        }),
        threshold: freshness.toSeconds(),
        comparison: GTE,
      },
      dynamoDbThrottles: {
        id: 'DynamoDbThrottles',
        name: 'dynamodb-throttles',
        meaning: `DynamoDB throttled ${throttles} or more requests on the aggregates table in 5 minutes.`,
        runbook: 'dynamoDbThrottles',
        metric: new cloudwatch.MathExpression({
          expression: 'FILL(readThrottles, 0) + FILL(writeThrottles, 0)',
          usingMetrics: {
            readThrottles: props.table.metric('ReadThrottleEvents', {
              statistic: cloudwatch.Stats.SUM,
              period: fiveMinutes,
            }),
            writeThrottles: props.table.metric('WriteThrottleEvents', {
              statistic: cloudwatch.Stats.SUM,
              period: fiveMinutes,
            }),
          },
          label: 'Throttled requests (read + write)',
          period: fiveMinutes,
        }),
        threshold: throttles,
        comparison: GTE,
      },
      batchJobFailed: {
        id: 'BatchJobFailed',
        name: 'batch-job-failed',
        meaning:
          'A batch job run failed: the curated tables of its days are missing or stale. (Runs that time out have their own alarm.)',
        runbook: 'batchJobFailed',
        metric: props.batchJob.metricFailed({ statistic: cloudwatch.Stats.SUM, period: fiveMinutes }),
        threshold: 1,
        comparison: GTE,
      },
      invalidEventRatio: {
        id: 'InvalidEventRatio',
        name: 'invalid-event-ratio',
        meaning: `More than ${invalidRatio * 100} % of the events received in 15 minutes were invalid (quarantined).`,
        runbook: 'invalidEventRatio',
        metric: new cloudwatch.MathExpression({
          expression: 'IF(received > 0, invalid / received, 0)',
          usingMetrics: {
            received: props.processor.metric('EventsReceived', { period: Duration.minutes(15) }),
            invalid: props.processor.metric('InvalidEvents', { period: Duration.minutes(15) }),
          },
          label: 'Invalid / received',
          period: Duration.minutes(15),
        }),
        threshold: invalidRatio,
        comparison: GT,
      },
      reconciliationDrift: {
        id: 'ReconciliationDrift',
        name: 'reconciliation-drift',
        meaning: `A reconciled day has an hour where the speed layer differs from the batch layer by more than ${drift * 100} %.`,
        runbook: 'reconciliationDrift',
        metric: props.reconciliation.metricMaxRelativeDifference({
          statistic: cloudwatch.Stats.MAXIMUM,
          period: Duration.days(1),
        }),
        threshold: drift,
        comparison: GT,
      },
      reconciliationFailed: {
        id: 'ReconciliationFailed',
        name: 'reconciliation-failed',
        meaning: 'The reconciliation function failed: no drift was measured for the last batch run.',
        runbook: 'reconciliationFailed',
        metric: props.reconciliation.function.metricErrors({
          statistic: cloudwatch.Stats.SUM,
          period: Duration.hours(1),
        }),
        threshold: 1,
        comparison: GTE,
      },
    };

    const topicAction = new actions.SnsAction(props.topic);
    const alarms = {} as Record<OpsAlarmId, cloudwatch.Alarm>;
    for (const [key, spec] of Object.entries(specs) as Array<[OpsAlarmId, AlarmSpec]>) {
      const alarm = new cloudwatch.Alarm(this, spec.id, {
        alarmName: `${prefix}-${spec.name}`,
        alarmDescription: `${spec.meaning} Runbook: ${runbookReference(props.runbookUrl, spec.runbook)}`,
        metric: spec.metric,
        threshold: spec.threshold,
        comparisonOperator: spec.comparison,
        evaluationPeriods: spec.evaluationPeriods ?? 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(topicAction);
      alarm.addOkAction(topicAction);
      alarms[key] = alarm;
    }
    this.alarms = alarms;
  }
}

function checkFraction(scope: Construct, prop: string, value: number, max: number): void {
  if (Token.isUnresolved(value)) return;
  if (!(Number.isFinite(value) && value > 0 && value <= max)) {
    throw new SluicePropsError(scope, prop, String(value), `must be a number above 0 and at most ${max}`);
  }
}
