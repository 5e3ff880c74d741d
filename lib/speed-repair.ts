import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LAKE_PREFIXES } from '../contract/lake-layout';
import { SPEED_REPAIR_SERVICE, type SpeedRepairMetricName } from '../contract/metric-names';
import {
  PROCESSOR_ROLES,
  SPEED_CONFIG_ENV,
  type ProcessorRole,
  type SpeedConfig,
} from '../core/speed-config';
import { REPAIR_QUEUES_ENV } from '../contract/on-failure';
import { addBundledFunction } from './bundled-function';
import {
  checkStage,
  metricsEnvironment,
  speedRepairMetric,
  type PipelineMetricOptions,
} from './pipeline-metrics';
import { acknowledgeQuarantineWrites, grantItemReadWrite, speedConfigJson } from './stream-processor';
import { DEFAULT_CONFIG, durationMs } from '../contract/config';
import { checkDuration, checkInteger, SluicePropsError } from './validation';

const HANDLER_ENTRY = path.join(__dirname, '..', 'lambdas', 'speed-repair', 'handler.ts');

/** A stream processor's on-failure queue, and the role of that processor. */
export interface RepairQueueProps {
  readonly queue: sqs.IQueue;
  readonly role: ProcessorRole;
}

export interface SpeedRepairProps {
  /** The ingest stream the given-up records are read back from (read access is granted). */
  readonly stream: kinesis.IStream;
  /** The aggregates table (GetItem, BatchGetItem and UpdateItem: it rewrites window items and alert items). */
  readonly table: dynamodb.ITable;
  /** The alerts topic: the repair raises the alerts the given-up records should have raised. */
  readonly alertsTopic: sns.ITopic;
  /** The lake: given-up invalid records are quarantined (put access on `quarantine/` only). */
  readonly lakeBucket: s3.IBucket;
  /** The on-failure queue of each stream processor (receive, delete and visibility on those only). */
  readonly queues: readonly RepairQueueProps[];
  /** The speed layer's config (`toSpeedConfig` of the aggregate processor's section). */
  readonly speedConfig: SpeedConfig;
  /** The deployment stage (config `stage`), the `stage` dimension of the repair's metrics. */
  readonly stage: string;
  /**
   * How often the repair runs (an EventBridge rule), whole minutes, 1 minute–1 day. Each run takes
   * up to 100 messages per queue; an empty queue costs one ReceiveMessage call.
   * @default Duration.minutes(15)
   */
  readonly schedule?: Duration;
  /**
   * Function timeout, whole seconds, 1 minute–15 minutes. The messages a run takes stay invisible
   * for 15 minutes, so a run that times out leaves them to the next one. A run reads about two hours
   * of each affected shard (docs/speed-repair.md); a shard serves 2 MB/s.
   * @default Duration.minutes(15)
   */
  readonly timeout?: Duration;
  /** Memory, 128–10240 MiB. @default 1024 */
  readonly memorySize?: number;
  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The speed-layer repair (docs/speed-repair.md): a function that, on a schedule, takes the batches
 * the stream processors gave up on from their on-failure queues, brings every window item those
 * records fall in to what it would hold had the batch succeeded (recomputed from the stream up to
 * the item's marks, written on its version), raises their alerts, and deletes each message once its
 * repair is durable. Its metrics: `Sluice` namespace, dimensions `service` = `speed-repair`, `stage`.
 */
export class SpeedRepair extends Construct {
  public readonly function: lambda.IFunction;
  public readonly logGroup: logs.ILogGroup;
  public readonly stage: string;
  /** The rule that runs the repair on its schedule. */
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: SpeedRepairProps) {
    super(scope, id);
    const schedule = props.schedule ?? Duration.millis(durationMs(DEFAULT_CONFIG.repair.schedule));
    const timeout = props.timeout ?? Duration.minutes(15);
    const memorySize = props.memorySize ?? 1024;
    checkDuration(this, 'schedule', schedule, 1, 1440, 'minutes');
    checkDuration(this, 'timeout', timeout, 60, 900, 'seconds');
    checkInteger(this, 'memorySize', memorySize, 128, 10_240);
    checkStage(this, props.stage);
    this.stage = props.stage;
    if (props.queues.length === 0)
      throw new SluicePropsError(this, 'queues', 'an empty list', 'must name at least one on-failure queue');
    for (const { role } of props.queues)
      if (!PROCESSOR_ROLES.includes(role))
        throw new SluicePropsError(
          this,
          'queues[].role',
          JSON.stringify(role),
          `must be one of ${PROCESSOR_ROLES.join(', ')}`,
        );
    const speedConfig = speedConfigJson(this, props.speedConfig);

    const {
      function: fn,
      role,
      logGroup,
    } = addBundledFunction(this, {
      entry: HANDLER_ENTRY,
      description:
        'Sluice speed-layer repair: completes the window items of batches the stream processors gave up on',
      roleDescription:
        'Sluice speed repair: reads the ingest stream and the on-failure queues, rewrites window items, raises alerts',
      memorySize,
      timeout,
      logRetention: props.logRetention,
      environment: {
        TABLE_NAME: props.table.tableName,
        ALERTS_TOPIC_ARN: props.alertsTopic.topicArn,
        LAKE_BUCKET: props.lakeBucket.bucketName,
        STREAM_NAME: props.stream.streamName,
        STREAM_ARN: props.stream.streamArn,
        [REPAIR_QUEUES_ENV]: JSON.stringify(
          props.queues.map(({ queue, role: r }) => ({ url: queue.queueUrl, role: r })),
        ),
        [SPEED_CONFIG_ENV]: speedConfig,
        ...metricsEnvironment(SPEED_REPAIR_SERVICE, props.stage),
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
    });
    this.function = fn;
    this.logGroup = logGroup;

    props.stream.grantRead(fn);
    grantItemReadWrite(props.table, fn);
    props.alertsTopic.grantPublish(fn);
    const quarantineObjects = `${LAKE_PREFIXES.quarantine}*`;
    props.lakeBucket.grantPut(fn, quarantineObjects);
    for (const { queue } of props.queues) queue.grantConsumeMessages(fn);

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Sluice: repair the speed layer after batches the stream processors gave up on',
      schedule: events.Schedule.rate(schedule),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 0, maxEventAge: Duration.minutes(5) })],
    });

    acknowledgeQuarantineWrites(this, role, props.lakeBucket, quarantineObjects);
  }

  /** A metric the repair publishes after every run, in this stage. @default Sum over 1 hour */
  public metric(metricName: SpeedRepairMetricName, props?: PipelineMetricOptions): cloudwatch.Metric {
    return speedRepairMetric(this.stage, metricName, props);
  }
}
