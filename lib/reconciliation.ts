import * as path from 'node:path';
import { Duration, Stack, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RECONCILIATION_SERVICE, type ReconciliationMetricName } from '../contract/metric-names';
import type { IQueryWorkgroup } from './analytics-workgroup';
import type { ILakeCatalog } from './catalog';
import { DEFAULT_CONFIG, durationMs } from '../contract/config';
import { LAKE_PREFIXES } from '../contract/lake-layout';
import { SENSOR_STATS_HOURLY } from '../contract/lake-tables';
import { addBundledFunction } from './bundled-function';
import { acknowledgeWildcards, wildcardResourceFinding } from './nag-acknowledgements';
import {
  checkStage,
  metricsEnvironment,
  type PipelineMetricOptions,
  reconciliationMetric,
} from './pipeline-metrics';
import { checkDuration, checkInteger, SluicePropsError } from './validation';

const HANDLER_ENTRY = path.join(__dirname, '..', 'lambdas', 'reconciliation', 'handler.ts');

export interface ReconciliationProps {
  /** The speed layer's aggregates table (`dynamodb:Query` is granted, nothing else: never a Scan). */
  readonly table: dynamodb.ITable;
  /** The lake; reports are written under `reports/reconciliation/` (put access on that prefix only). */
  readonly bucket: s3.IBucket;
  /** The Glue catalog; read access to `sensor_stats_hourly` is granted. */
  readonly catalog: ILakeCatalog;
  /** The Athena workgroup the batch stats are queried in (its result location and scan limit apply). */
  readonly workgroup: IQueryWorkgroup;
  /** The batch job: each successful run triggers a reconciliation of the days it built. */
  readonly batchJob: sfn.IStateMachine;
  /**
   * The deployment stage (config `stage`). Every metric the function publishes carries it as the
   * `stage` dimension, and the metric methods read that stage only, so stages sharing an account
   * and region never share a metric.
   */
  readonly stage: string;
  /**
   * Name of the speed layer's tumbling one-hour window (`findHourlyWindow` of `core/reconcile.ts`).
   * @default - none: each run writes a report saying "no hourly window configured" and publishes no metric
   */
  readonly hourlyWindow?: string;
  /**
   * How long aggregates live after their window ends (config `aggregateTtl`); older days are not
   * compared, because their speed-layer items may be gone.
   * @default Duration.days(7)
   */
  readonly aggregateTtl?: Duration;
  /**
   * The speed layer skips events older than this when processed (config `lateness`), whole
   * seconds, 1 minute–365 days. An hour the batch layer has and the speed layer lacks is not drift
   * when it starts more than this before the run: every event of it may have been late.
   * @default Duration.hours(24)
   */
  readonly lateness?: Duration;
  /**
   * Relative differences at or below this count as equal, 0 up to (not including) 1 (config
   * `reconciliation.tolerance`).
   * @default 1e-6
   */
  readonly tolerance?: number;
  /**
   * How many of the largest differences each report lists, 0–1000 (config `reconciliation.maxDifferences`).
   * @default 20
   */
  readonly maxDifferences?: number;
  /**
   * Function timeout, whole seconds, 1 minute–15 minutes. A run makes one Athena query and one
   * DynamoDB Query per sensor and metric per day.
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/** What the alarms and the dashboard need from the reconciliation (`Reconciliation` implements it). */
export interface IReconciliationMetrics {
  readonly function: lambda.IFunction;
  metricItemsCompared(props?: PipelineMetricOptions): cloudwatch.IMetric;
  metricItemsDiffering(props?: PipelineMetricOptions): cloudwatch.IMetric;
  metricMaxRelativeDifference(props?: PipelineMetricOptions): cloudwatch.IMetric;
}

/**
 * Speed-vs-batch reconciliation: a function that, after every successful batch run (an EventBridge
 * rule on the state machine's `SUCCEEDED` status), reads the day's `sensor_stats_hourly` through
 * Athena and the speed layer's hourly windows of the same sensors from DynamoDB (one Query per
 * sensor and metric, never a Scan), publishes the drift (`Sluice` namespace, dimensions `service` =
 * `reconciliation` and `stage`) and writes a JSON report to `reports/reconciliation/dt=YYYY-MM-DD.json`.
 */
export class Reconciliation extends Construct implements IReconciliationMetrics {
  public readonly function: lambda.IFunction;
  public readonly logGroup: logs.ILogGroup;
  public readonly stage: string;
  /** The rule that starts the function after each successful batch run. */
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ReconciliationProps) {
    super(scope, id);
    const tolerance = props.tolerance ?? DEFAULT_CONFIG.reconciliation.tolerance;
    const maxDifferences = props.maxDifferences ?? DEFAULT_CONFIG.reconciliation.maxDifferences;
    const aggregateTtl = props.aggregateTtl ?? Duration.millis(durationMs(DEFAULT_CONFIG.aggregateTtl));
    const lateness = props.lateness ?? Duration.millis(durationMs(DEFAULT_CONFIG.lateness));
    const timeout = props.timeout ?? Duration.minutes(5);
    if (!Token.isUnresolved(tolerance) && !(tolerance >= 0 && tolerance < 1)) {
      throw new SluicePropsError(
        this,
        'tolerance',
        String(tolerance),
        'must be a number from 0 up to (not including) 1',
      );
    }
    checkInteger(this, 'maxDifferences', maxDifferences, 0, 1000);
    checkDuration(this, 'timeout', timeout, 60, 900, 'seconds');
    checkDuration(this, 'lateness', lateness, 60, 365 * 86_400, 'seconds');
    checkStage(this, props.stage);
    this.stage = props.stage;
    if (props.hourlyWindow !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(props.hourlyWindow)) {
      throw new SluicePropsError(
        this,
        'hourlyWindow',
        props.hourlyWindow,
        'must be a window name: 1–64 chars of [A-Za-z0-9._-]',
      );
    }

    const {
      function: fn,
      role,
      logGroup,
    } = addBundledFunction(this, {
      entry: HANDLER_ENTRY,
      description: 'Sluice reconciliation: drift between the speed layer and the batch layer per day',
      roleDescription:
        'Sluice reconciliation: reads hourly stats (Athena) and hourly windows (DynamoDB), writes reports',
      memorySize: 512,
      timeout,
      logRetention: props.logRetention,
      environment: {
        TABLE_NAME: props.table.tableName,
        LAKE_BUCKET: props.bucket.bucketName,
        ATHENA_WORKGROUP: props.workgroup.workGroupName,
        GLUE_DATABASE: props.catalog.database.databaseName,
        HOURLY_WINDOW: props.hourlyWindow ?? '',
        AGGREGATE_TTL_MS: String(aggregateTtl.toMilliseconds()),
        LATENESS_MS: String(lateness.toMilliseconds()),
        RECONCILE_TOLERANCE: String(tolerance),
        RECONCILE_MAX_DIFFERENCES: String(maxDifferences),
        ...metricsEnvironment(RECONCILIATION_SERVICE, props.stage),
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
    });
    this.logGroup = logGroup;
    this.function = fn;

    // Query on the table's partitions; `ITable.grant` would add its indexes (`index/*`), unused here.
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['dynamodb:Query'],
      resourceArns: [props.table.tableArn],
    });
    props.table.encryptionKey?.grantDecrypt(fn);
    props.catalog.grantRead(fn, [SENSOR_STATS_HOURLY.name]);
    props.workgroup.grantQuery(fn);
    // grantQuery covers what a Step Functions `.sync` task needs; reading rows through the API
    // also needs GetQueryResults, on the same workgroup only.
    const workgroupArn = Stack.of(this).formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: props.workgroup.workGroupName,
    });
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['athena:GetQueryResults'],
      resourceArns: [workgroupArn],
    });
    const reportObjects = `${LAKE_PREFIXES.reconciliationReports}*`;
    props.bucket.grantPut(fn, reportObjects);

    this.rule = new events.Rule(this, 'AfterBatchRun', {
      description: 'Sluice: reconcile the speed layer with each successful batch run',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: ['SUCCEEDED'], stateMachineArn: [props.batchJob.stateMachineArn] },
      },
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 2, maxEventAge: Duration.hours(6) })],
    });

    this.acknowledgeFindings(role, props.bucket, reportObjects);
  }

  /** Hours compared per reconciled day. @default Maximum over 1 day */
  public metricItemsCompared(props?: PipelineMetricOptions): cloudwatch.Metric {
    return this.metric('ReconciliationItemsCompared', props);
  }

  /** Hours that differ by more than the tolerance per reconciled day. @default Maximum over 1 day */
  public metricItemsDiffering(props?: PipelineMetricOptions): cloudwatch.Metric {
    return this.metric('ReconciliationItemsDiffering', props);
  }

  /** The largest relative difference of a reconciled day (0 = none). @default Maximum over 1 day */
  public metricMaxRelativeDifference(props?: PipelineMetricOptions): cloudwatch.Metric {
    return this.metric('ReconciliationMaxRelativeDifference', props);
  }

  public metric(metricName: ReconciliationMetricName, props?: PipelineMetricOptions): cloudwatch.Metric {
    return reconciliationMetric(this.stage, metricName, props);
  }

  private acknowledgeFindings(role: iam.Role, bucket: s3.IBucket, reportObjects: string): void {
    const policy = role.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    acknowledgeWildcards(policy, {
      [wildcardResourceFinding(this, bucket.arnForObjects(reportObjects))]:
        'One report object per day (reports/reconciliation/dt=YYYY-MM-DD.json); the put grant is limited to that prefix.',
      [wildcardResourceFinding(this, bucket.arnForObjects(SENSOR_STATS_HOURLY.prefix + '*'))]:
        'Athena reads the Parquet objects of the sensor_stats_hourly partition queried (read only, that table prefix).',
      [wildcardResourceFinding(this, bucket.arnForObjects('athena-results/*'))]:
        'Athena writes query results with generated names under athena-results/ (from the workgroup grantQuery).',
      'Action::s3:GetBucket*':
        'From the catalog and workgroup read grants: Athena checks the lake bucket (location, encryption) before reading it.',
      'Action::s3:GetObject*':
        'From Bucket.grantRead, limited to the sensor_stats_hourly and athena-results prefixes.',
      'Action::s3:List*':
        'From Bucket.grantRead: Athena lists the objects of the partition it reads and its own multipart uploads.',
      'Action::s3:Abort*':
        'From the workgroup grantQuery and Bucket.grantPut: aborting own multipart uploads, on athena-results/ and reports/ only.',
      'Action::s3:DeleteObject*':
        "From the workgroup grantQuery (Bucket.grantReadWrite on athena-results/): Athena's result housekeeping, that prefix only.",
      'Action::kms:GenerateDataKey*':
        'Writing SSE-KMS objects (reports, query results) needs data keys, on the lake key only.',
      'Action::kms:ReEncrypt*':
        "From the lake bucket's encrypt grant (CDK's KeyGrants.encrypt), on the lake key only.",
    });
  }
}
