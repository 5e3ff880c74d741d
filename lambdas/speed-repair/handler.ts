/**
 * Lambda entry point of the speed-layer repair: on a schedule (lib/speed-repair.ts), takes the
 * given-up batches from the stream processors' on-failure queues, repairs the speed layer for them
 * (repair-queues.ts) and deletes each message once its repair is durable. Clients come from the
 * environment once per container; `createSpeedRepair` takes them injected, which is how local mode
 * (`sluice repair --local`) and the tests run the same code against the emulators.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { REPAIR_QUEUES_ENV } from '../../contract/on-failure';
import { SPEED_REPAIR_METRICS, SPEED_REPAIR_SERVICE, STAGE_ENV } from '../../contract/metric-names';
import { storagePlan } from '../../core/panes';
import {
  isProcessorRole,
  SPEED_CONFIG_ENV,
  type ProcessorRole,
  type SpeedConfig,
} from '../../core/speed-config';
import { AggregateStore } from '../adapters/aggregate-store';
import { jsonListEnv, requiredEnv } from '../adapters/environment';
import { OnFailureQueue } from '../adapters/on-failure-queue';
import { pipelineMetrics, publishMetrics } from '../adapters/pipeline-metrics';
import { StreamReader } from '../adapters/stream-reader';
import { createBatchPorts } from '../stream-processor/handler';
import type { GivenUpBatch, RepairPorts } from './repair-batches';
import {
  repairFromQueues,
  repairGivenBatches,
  type QueueRepairOptions,
  type QueueRepairReport,
} from './repair-queues';

export interface RepairQueueSetting {
  readonly url: string;
  /** @default - per message, from the function that gave it up (local mode) */
  readonly role?: ProcessorRole;
}

export interface SpeedRepairDeps {
  readonly dynamodb: DynamoDBClient;
  readonly sns: SNSClient;
  readonly s3: S3Client;
  readonly kinesis: KinesisClient;
  readonly sqs: SQSClient;
  readonly tableName: string;
  readonly alertsTopicArn: string;
  readonly lakeBucket: string;
  readonly streamName: string;
  readonly streamArn: string;
  readonly queues: readonly RepairQueueSetting[];
  readonly config: SpeedConfig;
  /** @default Date.now */
  readonly now?: () => number;
  /** Options of every run (lookback, concurrency, interruption hooks in tests). */
  readonly options?: Omit<QueueRepairOptions, 'config' | 'nowMs'>;
  /** How long a received message stays hidden from the next run. @default 900 */
  readonly visibilityTimeoutSeconds?: number;
  /** @default - a Powertools Logger for service `speed-repair` */
  readonly logger?: Logger;
  /** @default - none published */
  readonly metrics?: Metrics;
}

/** The adapters a repair reads and writes through. */
export function createRepairPorts(
  deps: Pick<
    SpeedRepairDeps,
    | 'dynamodb'
    | 'sns'
    | 's3'
    | 'kinesis'
    | 'tableName'
    | 'alertsTopicArn'
    | 'lakeBucket'
    | 'streamName'
    | 'streamArn'
    | 'config'
  >,
): RepairPorts {
  return {
    stream: new StreamReader({
      client: deps.kinesis,
      streamName: deps.streamName,
      streamArn: deps.streamArn,
    }),
    aggregates: new AggregateStore({
      client: deps.dynamodb,
      tableName: deps.tableName,
      plan: storagePlan(deps.config.windows),
      ttlSeconds: Math.ceil(deps.config.aggregateTtlMs / 1000),
    }),
    // The aggregate processor's ports serve every role: the alert role quarantines and folds nothing.
    batch: createBatchPorts(deps, 'all'),
  };
}

/**
 * What a run is asked: nothing (the scheduled run: the on-failure queues), or batches named by hand
 * (`{"batches": [{"shardId", "startSequenceNumber", "endSequenceNumber"}]}`, e.g. `aws lambda invoke`),
 * repaired in the role of every processor whose queue the function reads.
 */
export interface SpeedRepairEvent {
  readonly batches?: readonly GivenUpBatch[];
}

export type SpeedRepairRun = (event?: SpeedRepairEvent) => Promise<QueueRepairReport>;

/** The batches of a run's event; throws naming what is wrong with them. */
export function batchesOf(event: SpeedRepairEvent | undefined): GivenUpBatch[] | undefined {
  if (event?.batches === undefined) return undefined;
  const digits = /^\d{1,130}$/;
  if (!Array.isArray(event.batches) || event.batches.length === 0)
    throw new RangeError(
      'batches must be a non-empty list of {shardId, startSequenceNumber, endSequenceNumber}',
    );
  for (const b of event.batches)
    if (
      typeof b?.shardId !== 'string' ||
      !digits.test(String(b.startSequenceNumber)) ||
      !digits.test(String(b.endSequenceNumber))
    )
      throw new RangeError(
        `not a batch: ${JSON.stringify(b)}; each needs shardId and decimal startSequenceNumber and endSequenceNumber`,
      );
  return event.batches.map(({ shardId, startSequenceNumber, endSequenceNumber }) => ({
    shardId,
    startSequenceNumber,
    endSequenceNumber,
  }));
}

export function createSpeedRepair(deps: SpeedRepairDeps): SpeedRepairRun {
  const logger = deps.logger ?? new Logger({ serviceName: SPEED_REPAIR_SERVICE });
  const now = deps.now ?? Date.now;
  const ports = createRepairPorts(deps);
  const queues = deps.queues.map(({ url, role }) => ({
    queue: new OnFailureQueue({
      client: deps.sqs,
      queueUrl: url,
      visibilityTimeoutSeconds: deps.visibilityTimeoutSeconds,
    }),
    role,
  }));
  const roles = [...new Set(deps.queues.map((q) => q.role ?? 'all'))];
  return async (event) => {
    const options = { ...deps.options, config: deps.config, nowMs: now() };
    const given = batchesOf(event);
    const report = given
      ? await repairGivenBatches(given, roles, ports, options)
      : await repairFromQueues(queues, ports, options);
    if (deps.metrics)
      publishMetrics(deps.metrics, SPEED_REPAIR_METRICS, {
        RepairedBatches: report.repaired,
        RepairedRecords: report.records,
        RepairItemsWritten: report.itemsWritten,
        RepairRecordsRestored: report.recordsRestored,
        RepairFailedBatches: report.failed,
        RepairExpiredBatches: report.expired,
        RepairUnreadableMessages: report.unreadable,
        RepairUndecidableItems: report.undecidable.length,
      });
    if (report.failed > 0 || report.expired > 0 || report.unreadable > 0 || report.undecidable.length > 0)
      logger.warn('Speed repair left work for the operator or the next run', {
        failed: report.failed,
        expired: report.expired,
        unreadable: report.unreadable,
        undecidable: report.undecidable.slice(0, 20),
        error: report.firstError,
      });
    else if (report.received > 0) logger.info('Speed repair done', { ...report, firstError: undefined });
    return report;
  };
}

/** The queues in `SLUICE_REPAIR_QUEUES`; throws naming the value when it is not a list of queues. */
export function queuesFromEnvironment(env: NodeJS.ProcessEnv = process.env): RepairQueueSetting[] {
  return jsonListEnv<RepairQueueSetting>(
    REPAIR_QUEUES_ENV,
    'the speed repair',
    'a JSON list of {"url", "role"} with role one of all, aggregates, alerts',
    (item) => {
      const q = item as { url?: unknown; role?: unknown } | null;
      return typeof q?.url === 'string' && (q.role === undefined || isProcessorRole(q.role));
    },
    env,
  );
}

const required = (name: string): string => requiredEnv(name, 'the speed repair');

let deployed: SpeedRepairRun | undefined;

/** The deployed handler: a scheduled event (the queues), or `{"batches": [...]}`. */
export const handler = async (event?: SpeedRepairEvent): Promise<QueueRepairReport> => {
  deployed ??= createSpeedRepair({
    dynamodb: new DynamoDBClient({}),
    sns: new SNSClient({}),
    s3: new S3Client({}),
    kinesis: new KinesisClient({}),
    sqs: new SQSClient({}),
    tableName: required('TABLE_NAME'),
    alertsTopicArn: required('ALERTS_TOPIC_ARN'),
    lakeBucket: required('LAKE_BUCKET'),
    streamName: required('STREAM_NAME'),
    streamArn: required('STREAM_ARN'),
    queues: queuesFromEnvironment(),
    config: JSON.parse(required(SPEED_CONFIG_ENV)) as SpeedConfig,
    metrics: pipelineMetrics(SPEED_REPAIR_SERVICE, required(STAGE_ENV)),
  });
  return deployed(event);
};
