import * as path from 'node:path';
import { Duration, Token, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  processorService,
  type StreamProcessorMetricName,
  type StreamProcessorService,
} from '../contract/metric-names';
import {
  PROCESSOR_ROLE_ENV,
  PROCESSOR_ROLES,
  SPEED_CONFIG_ENV,
  type ProcessorRole,
  type SpeedConfig,
} from '../core/speed-config';
import { DEFAULT_CONFIG, durationMs } from '../contract/config';
import { EVENT_SOURCE_LIMITS as ESM } from '../contract/event-source-limits';
import { LAKE_PREFIXES } from '../contract/lake-layout';
import { ALERT_KEY_PREFIX } from '../contract/table-keys';
import { addBundledFunction } from './bundled-function';
import { acknowledgeWildcards, wildcardResourceFinding } from './nag-acknowledgements';
import {
  checkStage,
  metricsEnvironment,
  type PipelineMetricOptions,
  streamProcessorMetric,
} from './pipeline-metrics';
import { checkDuration, checkInteger, SluicePropsError } from './validation';

const HANDLER_ENTRY = path.join(__dirname, '..', 'lambdas', 'stream-processor', 'handler.ts');

/** Lambda allows 4 KB for all environment variables together; leave room for names, ARNs and Powertools. */
export const MAX_SPEED_CONFIG_BYTES = 3 * 1024;

export type PowertoolsLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/**
 * The speed config as the `SLUICE_SPEED_CONFIG` value of a function that runs the speed layer's code
 * (the stream processors, the repair); throws naming its size when it would not fit Lambda's 4 KB.
 */
export function speedConfigJson(scope: Construct, speedConfig: SpeedConfig): string {
  const json = JSON.stringify(speedConfig);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_SPEED_CONFIG_BYTES)
    throw new SluicePropsError(
      scope,
      'speedConfig',
      `${bytes} bytes of JSON`,
      `must serialize to at most ${MAX_SPEED_CONFIG_BYTES} bytes (Lambda allows 4 KB of environment variables); use fewer windows or alert rules`,
    );
  return json;
}

/** What the speed layer's item stores call (aggregate-store.ts, alert-store.ts): no Scan, Query or DeleteItem. */
export const SPEED_ITEM_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'];

export interface StreamProcessorProps {
  /**
   * What the function does with a batch (core/speed-config.ts): `all` (everything), `aggregates`
   * (everything but the per-event rules) or `alerts` (the per-event rules only: no S3 access, and
   * DynamoDB access to alert items only). Also picks the defaults of the settings below.
   * @default 'all'
   */
  readonly role?: ProcessorRole;
  /** The stream to consume; read access is granted by the event source. */
  readonly stream: kinesis.IStream;
  /**
   * Where aggregates and alert state are written: read and write access is granted, in role
   * `alerts` only on the alert items (partition keys starting with `ALERT#`).
   */
  readonly table: dynamodb.ITable;
  /** Where alerts are published (publish access is granted). */
  readonly alertsTopic: sns.ITopic;
  /**
   * The data lake; only `quarantine/*` may be written (put access is granted on that prefix alone).
   * Required unless `role` is `alerts`, and not allowed then (the alert processor quarantines nothing).
   */
  readonly lakeBucket?: s3.IBucket;
  /** Windows, alert rules and time limits, handed to the function as `SLUICE_SPEED_CONFIG`. */
  readonly speedConfig: SpeedConfig;
  /**
   * The deployment stage (config `stage`). Every metric the function publishes carries it as the
   * `stage` dimension, and `metric()` reads that stage only, so stages sharing an account and
   * region never share a metric.
   */
  readonly stage: string;
  /**
   * Largest number of records per invocation, 1–10000.
   * @default 10000 (500 for role 'alerts')
   */
  readonly batchSize?: number;
  /**
   * How long Lambda gathers records before invoking, whole seconds, 0s–300s. AWS reads each shard
   * about once a second, so batches hold about a second of records even at 0s.
   * @default Duration.seconds(45) (Duration.seconds(0) for role 'alerts')
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Batches processed concurrently per shard, 1–10. Order per partition key (sensor) is kept.
   * `speedConfig.parallelizationFactor` must be this same value (exactly-once lanes).
   * @default 1 (1 for role 'alerts')
   */
  readonly parallelizationFactor?: number;
  /**
   * Retries of a failing batch (after bisecting it) before its records go to the dead-letter queue,
   * 0–10000.
   * @default 5 (5 for role 'alerts')
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this go to the dead-letter queue unprocessed, whole seconds, 60s–7 days.
   * @default Duration.hours(1) (Duration.hours(1) for role 'alerts')
   */
  readonly maxRecordAge?: Duration;
  /**
   * Function memory in MiB, 128–10240 (CPU grows with it).
   * @default 1024 (512 for role 'alerts')
   */
  readonly memorySize?: number;
  /**
   * Function timeout, whole seconds, 1s–900s.
   * @default Duration.seconds(60) (Duration.seconds(60) for role 'alerts')
   */
  readonly timeout?: Duration;
  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Powertools log level (`POWERTOOLS_LOG_LEVEL`).
   * @default 'INFO'
   */
  readonly logLevel?: PowertoolsLogLevel;
  /**
   * X-Ray tracing. Off by default: the handler does not bundle the Powertools tracer, so traces
   * would show only the invocation, while Powertools metrics and logs already report per batch;
   * active tracing would also need a `xray:Put*` policy on `*`.
   * @default lambda.Tracing.DISABLED
   */
  readonly tracing?: lambda.Tracing;
}

/** What the alarms and the dashboard need from the speed layer (`StreamProcessor` implements it). */
export interface IStreamProcessorMetrics {
  readonly function: lambda.IFunction;
  /** A metric the function publishes after every batch, in its stage. @default Sum over 5 minutes */
  metric(metricName: StreamProcessorMetricName, props?: PipelineMetricOptions): cloudwatch.IMetric;
}

/**
 * The speed layer: the `stream-processor` function (Node.js, arm64, bundled with the local esbuild)
 * reading the ingest stream through an event source mapping that reports partial batch failures,
 * bisects failing batches, retries a bounded number of times and sends what still fails (shard and
 * sequence range, not the data) to an encrypted SQS dead-letter queue. The stack creates one per
 * role it runs (`contract/speed-processors.ts`): each has its own mapping, dead-letter queue, log
 * group, role and grants.
 */
export class StreamProcessor extends Construct implements IStreamProcessorMetrics {
  public readonly function: lambda.IFunction;
  public readonly stage: string;
  public readonly role: ProcessorRole;
  /** The service its metrics and logs carry (`processorService(role)`). */
  public readonly service: StreamProcessorService;
  public readonly eventSource: KinesisEventSource;
  public readonly deadLetterQueue: sqs.IQueue;
  public readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: StreamProcessorProps) {
    super(scope, id);
    const role = props.role ?? 'all';
    if (!PROCESSOR_ROLES.includes(role))
      throw new SluicePropsError(
        this,
        'role',
        JSON.stringify(role),
        `must be one of ${PROCESSOR_ROLES.join(', ')}`,
      );
    this.role = role;
    this.service = processorService(role);
    const defaults = role === 'alerts' ? DEFAULT_CONFIG.alertProcessor : DEFAULT_CONFIG.processor;
    const batchSize = props.batchSize ?? defaults.batchSize;
    const maxBatchingWindow =
      props.maxBatchingWindow ?? Duration.millis(durationMs(defaults.maxBatchingWindow));
    const parallelizationFactor = props.parallelizationFactor ?? defaults.parallelizationFactor;
    const retryAttempts = props.retryAttempts ?? defaults.retryAttempts;
    const maxRecordAge = props.maxRecordAge ?? Duration.millis(durationMs(defaults.maxRecordAge));
    const memorySize = props.memorySize ?? defaults.memorySize;
    const timeout = props.timeout ?? Duration.millis(durationMs(defaults.timeout));
    const { batchSize: size, maxBatchingWindowSeconds: window, parallelizationFactor: factor } = ESM;
    const {
      retryAttempts: retries,
      maxRecordAgeSeconds: age,
      memorySizeMiB: memory,
      timeoutSeconds: time,
    } = ESM;
    checkInteger(this, 'batchSize', batchSize, size.min, size.max);
    checkDuration(this, 'maxBatchingWindow', maxBatchingWindow, window.min, window.max, 'seconds');
    checkInteger(this, 'parallelizationFactor', parallelizationFactor, factor.min, factor.max);
    checkInteger(this, 'retryAttempts', retryAttempts, retries.min, retries.max);
    checkDuration(this, 'maxRecordAge', maxRecordAge, age.min, age.max, 'seconds');
    checkInteger(this, 'memorySize', memorySize, memory.min, memory.max);
    checkDuration(this, 'timeout', timeout, time.min, time.max, 'seconds');
    checkStage(this, props.stage);
    this.stage = props.stage;
    const lakeBucket = props.lakeBucket;
    if (role === 'alerts' && lakeBucket !== undefined)
      throw new SluicePropsError(
        this,
        'lakeBucket',
        'a bucket',
        "must be left out with role 'alerts' (it quarantines nothing)",
      );
    if (role !== 'alerts' && lakeBucket === undefined)
      throw new SluicePropsError(
        this,
        'lakeBucket',
        'nothing',
        `is required with role '${role}' (it quarantines invalid records)`,
      );
    if (
      !Token.isUnresolved(parallelizationFactor) &&
      props.speedConfig.parallelizationFactor !== parallelizationFactor
    ) {
      throw new SluicePropsError(
        this,
        'speedConfig.parallelizationFactor',
        String(props.speedConfig.parallelizationFactor),
        `must equal the event source's parallelizationFactor (${parallelizationFactor}): exactly-once marks are kept per lane of this mapping`,
      );
    }
    const speedConfig = speedConfigJson(this, props.speedConfig);

    const {
      function: fn,
      role: fnRole,
      logGroup,
    } = addBundledFunction(this, {
      entry: HANDLER_ENTRY,
      description: DESCRIPTIONS[role].function,
      roleDescription: DESCRIPTIONS[role].role,
      memorySize,
      timeout,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: {
        TABLE_NAME: props.table.tableName,
        ALERTS_TOPIC_ARN: props.alertsTopic.topicArn,
        ...(lakeBucket ? { LAKE_BUCKET: lakeBucket.bucketName } : {}),
        [SPEED_CONFIG_ENV]: speedConfig,
        [PROCESSOR_ROLE_ENV]: role,
        ...metricsEnvironment(this.service, props.stage),
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
      },
    });
    this.logGroup = logGroup;
    this.function = fn;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      // Failure records hold only shard id and sequence range, no event data: SQS-managed
      // encryption suffices and needs no key grants for Lambda to send.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is the event source mapping's on-failure destination, i.e. the dead-letter queue itself; cdk-nag only recognises DLQs referenced by another queue's redrive policy.",
    });
    this.eventSource = new KinesisEventSource(props.stream, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize,
      maxBatchingWindow,
      parallelizationFactor,
      retryAttempts,
      maxRecordAge,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(this.deadLetterQueue),
    });
    fn.addEventSource(this.eventSource);

    props.alertsTopic.grantPublish(fn);
    if (lakeBucket === undefined) {
      grantAlertItems(props.table, fn);
      acknowledgeWildcards(functionRolePolicy(fnRole), {
        'Action::kms:GenerateDataKey*':
          'From grantPublish: encrypting alert messages needs a data key, on the alerts topic key only.',
      });
      return;
    }
    grantItemReadWrite(props.table, fn);
    const quarantineObjects = `${LAKE_PREFIXES.quarantine}*`;
    lakeBucket.grantPut(fn, quarantineObjects);
    acknowledgeQuarantineWrites(this, fnRole, lakeBucket, quarantineObjects);
  }

  /** A metric the function publishes after every batch, in this stage. @default Sum over 5 minutes */
  public metric(metricName: StreamProcessorMetricName, props?: PipelineMetricOptions): cloudwatch.Metric {
    return streamProcessorMetric(this.stage, metricName, props, this.service);
  }
}

const DESCRIPTIONS: Readonly<Record<ProcessorRole, { readonly function: string; readonly role: string }>> = {
  all: {
    function: 'Sluice speed layer: windowed aggregates and alerts from the ingest stream',
    role: 'Sluice stream processor: reads the ingest stream, writes aggregates, alerts and quarantine',
  },
  aggregates: {
    function: 'Sluice speed layer, aggregate path: windowed aggregates, window alerts and quarantine',
    role: 'Sluice aggregate processor: reads the ingest stream, writes aggregates, window alerts and quarantine',
  },
  alerts: {
    function: 'Sluice speed layer, alert path: per-event alert rules, within seconds',
    role: 'Sluice alert processor: reads the ingest stream, writes alert items and publishes alerts',
  },
};

/**
 * The wildcard findings of a function that puts quarantine objects and publishes alerts (the
 * aggregate processor, the speed repair), acknowledged on its role's policy with their reasons.
 */
export function acknowledgeQuarantineWrites(
  scope: Construct,
  role: iam.Role,
  lakeBucket: s3.IBucket,
  quarantineObjects: string,
): void {
  acknowledgeWildcards(functionRolePolicy(role), {
    [wildcardResourceFinding(scope, lakeBucket.arnForObjects(quarantineObjects))]:
      'Quarantine objects get generated keys (quarantine/dt=YYYY-MM-DD/...); the put grant is limited to that prefix.',
    'Action::s3:Abort*':
      'From Bucket.grantPut: lets the function abort its own multipart uploads, on the quarantine prefix only.',
    'Action::kms:GenerateDataKey*':
      'From grantPut/grantPublish: encrypting quarantine objects and alert messages needs a data key, on those two keys only.',
    'Action::kms:ReEncrypt*':
      "From Bucket.grantPut on a KMS bucket (CDK's encrypt grant), on the lake key only.",
  });
}

function functionRolePolicy(role: iam.Role): Construct {
  return role.node.findChild('DefaultPolicy') as Construct;
}

/**
 * The speed layer's item access (the aggregate processor, the repair): the stores' actions
 * (`SPEED_ITEM_ACTIONS`), on the table only. `ITable.grantReadWriteData` would add Scan, deletes and
 * the table's indexes, and `ITable.grant` the indexes (`index/*`: the window index, which neither reads).
 */
export function grantItemReadWrite(table: dynamodb.ITable, grantee: iam.IGrantable): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions: SPEED_ITEM_ACTIONS,
    resourceArns: [table.tableArn],
  });
  table.encryptionKey?.grantEncryptDecrypt(grantee);
}

/**
 * The alert processor's table access: the alert store's actions (no Scan, Query or DeleteItem), on
 * items whose partition key starts with `ALERT#` only (`dynamodb:LeadingKeys`), so it can neither
 * read nor write an aggregate. A grant method with a condition: `ITable.grant` takes none.
 */
function grantAlertItems(table: dynamodb.ITable, grantee: iam.IGrantable): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions: SPEED_ITEM_ACTIONS,
    resourceArns: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${ALERT_KEY_PREFIX}*`] } },
  });
  table.encryptionKey?.grantEncryptDecrypt(grantee);
}
