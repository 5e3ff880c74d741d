import { CfnOutput, Duration, Size, Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { findHourlyWindow } from '../core/reconcile';
import { AggregatesTable } from './aggregates-table';
import { AlertsTopic } from './alerts-topic';
import { AnalyticsWorkgroup } from './analytics-workgroup';
import { BatchJob } from './batch-job';
import { LakeCatalog } from './catalog';
import { durationMs, type ProcessorConfig, type SluiceConfig, toSpeedConfig } from '../contract/config';
import { speedProcessors } from '../contract/speed-processors';
import { DataLake } from './data-lake';
import { IngestStream } from './ingest-stream';
import { OpsAlarms } from './ops-alarms';
import { OpsDashboard } from './ops-dashboard';
import { OpsTopic } from './ops-topic';
import { RawLanding } from './raw-landing';
import { Reconciliation } from './reconciliation';
import { SensorsWidget } from './sensors-widget';
import { SpeedExport } from './speed-export';
import { SpeedRepair } from './speed-repair';
import { StreamProcessor } from './stream-processor';

export interface SluiceStackProps extends StackProps {
  /** The validated configuration (`contract/config.ts` `loadConfig` / `resolveConfig`). */
  readonly config: SluiceConfig;
}

/**
 * One Sluice deployment (`Sluice-<stage>`). The constructor follows the architecture diagram in
 * DESIGN.md; each construct owns its resources and the grants between them. The constructs are
 * public so later layers (batch, observability) wire themselves to them.
 */
export class SluiceStack extends Stack {
  public readonly config: SluiceConfig;
  /** producers ──► Kinesis Data Stream */
  public readonly ingest: IngestStream;
  /** S3 data lake: raw/, raw-errors/, quarantine/, curated/, athena-results/ */
  public readonly lake: DataLake;
  /** DynamoDB: windowed aggregates and alert state */
  public readonly aggregates: AggregatesTable;
  /** SNS: alerts for users */
  public readonly alerts: AlertsTopic;
  /** SNS: alarms and failures for operators */
  public readonly ops: OpsTopic;
  /**
   * Kinesis ──► aggregate processor λ (long batching window) ──► DynamoDB aggregates / SNS window
   * alerts / S3 quarantine; on failure ──► its SQS DLQ. Without an alert processor: every rule.
   */
  public readonly processor: StreamProcessor;
  /**
   * Kinesis ──► alert processor λ (no batching window) ──► DynamoDB alert items / SNS value alerts;
   * on failure ──► its SQS DLQ. Absent with `alertProcessor.enabled: false` or no value rules.
   */
  public readonly alertProcessor: StreamProcessor | undefined;
  /**
   * on-failure queues ──► speed repair λ (every 15 minutes) ──► Kinesis (read back) / DynamoDB
   * window items / SNS alerts / S3 quarantine; deletes each message once its batch is repaired.
   */
  public readonly speedRepair: SpeedRepair;
  /** Kinesis ──► Firehose ──► S3 raw/ (gzip NDJSON by arrival hour) */
  public readonly rawLanding: RawLanding;
  /** Glue database and tables (partition projection) over raw/, curated/ and quarantine/ */
  public readonly catalog: LakeCatalog;
  /** Athena workgroup (enforced settings, scan limit) and saved queries */
  public readonly analytics: AnalyticsWorkgroup;
  /** EventBridge Scheduler ──► Step Functions ──► Athena: rebuilds curated tables daily */
  public readonly batchJob: BatchJob;
  /** Batch run succeeded ──► reconciliation λ: speed-vs-batch drift (metrics, S3 report) */
  public readonly reconciliation: Reconciliation;
  /**
   * Scheduler ──► speed export λ: DynamoDB hourly windows ──► S3 speed/hourly/ (Glue `speed_hourly`,
   * read with the batch tables by the view `sensor_stats_hourly_live`). Absent without a 1h window.
   */
  public readonly speedExport: SpeedExport | undefined;
  /** Dashboard ──► sensors widget λ ──► DynamoDB (read by key). Absent without a 1h window. */
  public readonly sensorsWidget: SensorsWidget | undefined;
  /** CloudWatch alarms ──► ops topic */
  public readonly alarms: OpsAlarms;
  /** CloudWatch dashboard `Sluice-<stage>` */
  public readonly dashboard: OpsDashboard;

  constructor(scope: Construct, id: string, props: SluiceStackProps) {
    super(scope, id, {
      description: `Sluice (${props.config.stage}): serverless batch-and-stream sensor pipeline`,
      ...props,
    });
    const config = props.config;
    this.config = config;
    const seconds = (text: string): Duration => Duration.millis(durationMs(text));

    // ── shared infrastructure ───────────────────────────────────────────────────────────────────
    this.ingest = new IngestStream(this, 'IngestStream', {
      capacity:
        config.stream.mode === 'provisioned'
          ? { mode: 'provisioned', shardCount: config.stream.shardCount ?? 1 }
          : { mode: 'on-demand' },
      retention: seconds(config.stream.retention),
    });
    this.lake = new DataLake(this, 'DataLake', config.lake);
    this.aggregates = new AggregatesTable(this, 'AggregatesTable', { billing: config.aggregatesTable });
    this.alerts = new AlertsTopic(this, 'AlertsTopic');
    this.ops = new OpsTopic(this, 'OpsTopic');

    // ── speed layer ─────────────────────────────────────────────────────────────────────────────
    // Two event source mappings on the stream when value rules exist (contract/speed-processors.ts):
    // the aggregate processor keeps the construct id it always had, so its resources stay in place.
    const settings = (p: ProcessorConfig) => ({
      stream: this.ingest.stream,
      alertsTopic: this.alerts.topic,
      table: this.aggregates.table,
      stage: config.stage,
      batchSize: p.batchSize,
      maxBatchingWindow: seconds(p.maxBatchingWindow),
      parallelizationFactor: p.parallelizationFactor,
      retryAttempts: p.retryAttempts,
      maxRecordAge: seconds(p.maxRecordAge),
      memorySize: p.memorySize,
      timeout: seconds(p.timeout),
      logRetention: config.logRetentionDays as logs.RetentionDays,
    });
    const plans = speedProcessors(config);
    const aggregatePlan = plans[0];
    const alertPlan = plans.find((plan) => plan.role === 'alerts');
    this.processor = new StreamProcessor(this, 'StreamProcessor', {
      ...settings(aggregatePlan.settings),
      role: aggregatePlan.role,
      lakeBucket: this.lake.bucket,
      speedConfig: toSpeedConfig(config, aggregatePlan.section),
    });
    this.alertProcessor =
      alertPlan === undefined
        ? undefined
        : new StreamProcessor(this, 'AlertProcessor', {
            ...settings(alertPlan.settings),
            role: alertPlan.role,
            speedConfig: toSpeedConfig(config, alertPlan.section),
          });

    this.speedRepair = new SpeedRepair(this, 'SpeedRepair', {
      stream: this.ingest.stream,
      table: this.aggregates.table,
      alertsTopic: this.alerts.topic,
      lakeBucket: this.lake.bucket,
      queues: [
        { queue: this.processor.deadLetterQueue, role: this.processor.role },
        ...(this.alertProcessor
          ? [{ queue: this.alertProcessor.deadLetterQueue, role: this.alertProcessor.role }]
          : []),
      ],
      speedConfig: toSpeedConfig(config, aggregatePlan.section),
      stage: config.stage,
      schedule: Duration.millis(durationMs(config.repair.schedule)),
      logRetention: config.logRetentionDays as logs.RetentionDays,
    });

    // ── batch layer ─────────────────────────────────────────────────────────────────────────────
    // Kinesis ──► Firehose ──► S3 raw/; Glue tables; Athena workgroup; scheduled batch job.
    this.rawLanding = new RawLanding(this, 'RawLanding', {
      stream: this.ingest.stream,
      bucket: this.lake.bucket,
      bufferInterval: seconds(config.firehose.bufferInterval),
      bufferSize: Size.mebibytes(config.firehose.bufferSizeMiB),
      logRetention: config.logRetentionDays as logs.RetentionDays,
    });
    this.catalog = new LakeCatalog(this, 'Catalog', {
      bucket: this.lake.bucket,
      databaseName: `sluice_${config.stage.replace(/-/g, '_')}`,
    });
    this.analytics = new AnalyticsWorkgroup(this, 'AnalyticsWorkgroup', {
      bucket: this.lake.bucket,
      database: this.catalog.database,
      workGroupName: `sluice-${config.stage}`,
      bytesScannedCutoffPerQuery: config.batch.bytesScannedCutoffPerQuery,
    });
    this.batchJob = new BatchJob(this, 'BatchJob', {
      bucket: this.lake.bucket,
      catalog: this.catalog,
      workgroup: this.analytics,
      opsTopic: this.ops.topic,
      schedule: config.batch.schedule,
      maxClockSkew: seconds(config.maxClockSkew),
      logRetention: config.logRetentionDays as logs.RetentionDays,
    });

    // ── serving layer ───────────────────────────────────────────────────────────────────────────
    // Both read the speed layer's table through its window index, which lists the 1h window's items.
    const windows = toSpeedConfig(config).windows;
    const indexed = findHourlyWindow(windows) !== undefined;
    this.speedExport = indexed
      ? new SpeedExport(this, 'SpeedExport', {
          table: this.aggregates.table,
          bucket: this.lake.bucket,
          windows,
          lateness: seconds(config.lateness),
          logRetention: config.logRetentionDays as logs.RetentionDays,
        })
      : undefined;
    this.sensorsWidget = indexed
      ? new SensorsWidget(this, 'SensorsWidget', {
          table: this.aggregates.table,
          windows,
          // The metric the alert rules watch, else the contract's example metric.
          metric: config.alertRules[0]?.metric ?? 'temperature',
          logRetention: config.logRetentionDays as logs.RetentionDays,
        })
      : undefined;

    // ── observability ───────────────────────────────────────────────────────────────────────────
    // Batch run succeeded ──► reconciliation λ (Athena + DynamoDB) ──► drift metrics, S3 report.
    this.reconciliation = new Reconciliation(this, 'Reconciliation', {
      table: this.aggregates.table,
      bucket: this.lake.bucket,
      catalog: this.catalog,
      workgroup: this.analytics,
      batchJob: this.batchJob.stateMachine,
      stage: config.stage,
      hourlyWindow: findHourlyWindow(windows)?.name,
      aggregateTtl: seconds(config.aggregateTtl),
      lateness: seconds(config.lateness),
      tolerance: config.reconciliation.tolerance,
      maxDifferences: config.reconciliation.maxDifferences,
      logRetention: config.logRetentionDays as logs.RetentionDays,
    });
    // Dashboard and alarms (from the resources' metric methods) ──► this.ops.topic.
    const watched = {
      processor: this.processor,
      deadLetterQueue: this.processor.deadLetterQueue,
      alertProcessor: this.alertProcessor && {
        processor: this.alertProcessor,
        deadLetterQueue: this.alertProcessor.deadLetterQueue,
      },
      table: this.aggregates.table,
      deliveryStream: this.rawLanding.deliveryStream,
      batchJob: this.batchJob.stateMachine,
      reconciliation: this.reconciliation,
    };
    const runbookUrl = config.alarms.runbookUrl || undefined;
    this.alarms = new OpsAlarms(this, 'OpsAlarms', {
      ...watched,
      speedExport: this.speedExport,
      topic: this.ops.topic,
      runbookUrl,
      thresholds: {
        iteratorAge: seconds(config.alarms.iteratorAge),
        processorErrors: config.alarms.processorErrors,
        firehoseDataFreshness: seconds(config.alarms.firehoseDataFreshness),
        dynamoDbThrottles: config.alarms.dynamoDbThrottles,
        invalidEventRatio: config.alarms.invalidEventRatio,
        reconciliationDrift: config.alarms.reconciliationDrift,
      },
    });
    this.dashboard = new OpsDashboard(this, 'OpsDashboard', {
      ...watched,
      stream: this.ingest.stream,
      workGroupName: this.analytics.workGroupName,
      alarms: [...Object.values(this.alarms.alarms), this.batchJob.timedOutAlarm],
      runbookUrl,
      sensors: this.sensorsWidget,
    });

    this.addOutputs();
  }

  /** Names the CLI and operators need to reach a deployed pipeline. */
  private addOutputs(): void {
    new CfnOutput(this, 'StreamName', { value: this.ingest.stream.streamName });
    new CfnOutput(this, 'TableName', { value: this.aggregates.table.tableName });
    new CfnOutput(this, 'AlertsTopicArn', { value: this.alerts.topic.topicArn });
    new CfnOutput(this, 'OpsTopicArn', { value: this.ops.topic.topicArn });
    new CfnOutput(this, 'LakeBucketName', { value: this.lake.bucket.bucketName });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.processor.deadLetterQueue.queueUrl });
    if (this.alertProcessor)
      new CfnOutput(this, 'AlertDeadLetterQueueUrl', { value: this.alertProcessor.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'GlueDatabaseName', { value: this.catalog.database.databaseName });
    new CfnOutput(this, 'AthenaWorkGroupName', { value: this.analytics.workGroupName });
    new CfnOutput(this, 'BatchStateMachineArn', { value: this.batchJob.stateMachine.stateMachineArn });
    new CfnOutput(this, 'SpeedRepairFunctionName', { value: this.speedRepair.function.functionName });
    new CfnOutput(this, 'ReconciliationFunctionName', { value: this.reconciliation.function.functionName });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboard.dashboardName });
  }
}
