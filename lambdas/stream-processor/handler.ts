/**
 * Lambda entry point of the speed layer: a thin shell around `processBatch`. Clients are created
 * once per container from the environment; `createHandler` takes them injected instead, which is
 * how local mode and the tests run this same code against emulators. The same code runs as the
 * aggregate processor and as the alert processor: `SLUICE_PROCESSOR_ROLE` says which.
 */
import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import type {
  Context,
  KinesisStreamBatchResponse,
  KinesisStreamEvent,
  KinesisStreamRecord,
} from 'aws-lambda';
import { processorService, STAGE_ENV, STREAM_PROCESSOR_METRICS } from '../../contract/metric-names';
import {
  isProcessorRole,
  PROCESSOR_ROLE_ENV,
  PROCESSOR_ROLES,
  SPEED_CONFIG_ENV,
  type ProcessorRole,
  type SpeedConfig,
} from '../../core/speed-config';
import { storagePlan } from '../../core/panes';
import { AggregateStore } from '../adapters/aggregate-store';
import { AlertPublisher } from '../adapters/alert-publisher';
import { AlertStore } from '../adapters/alert-store';
import { QuarantineWriter } from '../adapters/quarantine-writer';
import { MissingEnvironmentError, requiredEnv } from '../adapters/environment';
import { pipelineMetrics, publishMetrics } from '../adapters/pipeline-metrics';
import { processBatch, type BatchPorts, type BatchResult } from './process-batch';

export interface StreamProcessorDeps {
  readonly dynamodb: DynamoDBClient;
  readonly sns: SNSClient;
  readonly s3: S3Client;
  readonly tableName: string;
  readonly alertsTopicArn: string;
  /** Where quarantined records go; required unless `role` is `alerts` (which quarantines nothing). */
  readonly lakeBucket?: string;
  readonly config: SpeedConfig;
  /** What the processor does with a batch (core/speed-config.ts). @default 'all' */
  readonly role?: ProcessorRole;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default - a Powertools Logger for the role's service (`processorService`) */
  readonly logger?: Logger;
  /**
   * Where the batch metrics go: `pipelineMetrics(processorService(role), stage)`, so they carry
   * the stage dimension the stage's alarms read (`contract/metric-names.ts`).
   */
  readonly metrics: Metrics;
  /** Called with every batch's result, after metrics are recorded (local mode's accounting). */
  readonly onResult?: (result: BatchResult, event: KinesisStreamEvent) => void;
}

export type StreamProcessorHandler = (
  event: KinesisStreamEvent,
  context?: Context,
) => Promise<KinesisStreamBatchResponse>;

function recordMetrics(metrics: Metrics, result: BatchResult): void {
  const { stats } = result;
  publishMetrics(metrics, STREAM_PROCESSOR_METRICS, {
    EventsReceived: stats.events,
    ValidEvents: stats.valid,
    InvalidEvents: stats.invalid,
    LateEvents: stats.late,
    ItemsWritten: stats.itemsWritten,
    RecordsAlreadyApplied: stats.alreadyApplied,
    ConflictsResolved: stats.conflictsResolved,
    AlertsPublished: stats.alertsPublished,
    FailedRecords: result.failures.size,
    MaxEventTimeLag: stats.maxEventTimeLagMs,
  });
}

/**
 * The partial batch response for failures already known per record (`processBatch` decided them):
 * each failed record by sequence number, so Lambda resumes from the first. When every record
 * failed it throws Powertools' FullBatchFailureError instead, as Powertools' batch processor does,
 * so Lambda bisects the batch rather than retrying it whole.
 */
export function toBatchResponse(
  records: readonly KinesisStreamRecord[],
  failures: ReadonlyMap<string, Error>,
): KinesisStreamBatchResponse {
  if (failures.size === 0) return { batchItemFailures: [] };
  if (failures.size === records.length) {
    throw new FullBatchFailureError([...failures.values()]);
  }
  return {
    batchItemFailures: records
      .filter((record) => failures.has(record.eventID))
      .map((record) => ({ itemIdentifier: record.kinesis.sequenceNumber })),
  };
}

/** The alert processor's quarantine port: it counts invalid records and never writes them. */
const NO_QUARANTINE: BatchPorts['quarantine'] = {
  write: (records) =>
    records.length === 0
      ? Promise.resolve(undefined)
      : Promise.reject(new Error('the alert processor does not quarantine (it has no lake bucket)')),
};

/** The adapters a batch is processed through (also the speed-layer repair's, lambdas/speed-repair/). */
export function createBatchPorts(
  deps: Pick<
    StreamProcessorDeps,
    'dynamodb' | 'sns' | 's3' | 'tableName' | 'alertsTopicArn' | 'lakeBucket' | 'config'
  >,
  role: ProcessorRole,
): BatchPorts {
  const ttlSeconds = Math.ceil(deps.config.aggregateTtlMs / 1000);
  if (deps.lakeBucket === undefined && role !== 'alerts')
    throw new Error(`a stream processor in role ${role} needs lakeBucket (it quarantines invalid records)`);
  return {
    aggregates: new AggregateStore({
      client: deps.dynamodb,
      tableName: deps.tableName,
      plan: storagePlan(deps.config.windows),
      ttlSeconds,
    }),
    alerts: new AlertStore({ client: deps.dynamodb, tableName: deps.tableName, ttlSeconds }),
    publisher: new AlertPublisher(deps.sns, deps.alertsTopicArn),
    quarantine:
      deps.lakeBucket === undefined ? NO_QUARANTINE : new QuarantineWriter(deps.s3, deps.lakeBucket),
  };
}

export function createHandler(deps: StreamProcessorDeps): StreamProcessorHandler {
  const role = deps.role ?? 'all';
  const logger = deps.logger ?? new Logger({ serviceName: processorService(role) });
  const now = deps.now ?? Date.now;
  const ports = createBatchPorts(deps, role);

  return async (event) => {
    const result = await processBatch(event.Records, ports, deps.config, now(), role);
    recordMetrics(deps.metrics, result);
    if (result.failures.size > 0) {
      const [first] = result.failures.values();
      logger.warn('Some records failed and will be retried', {
        failed: result.failures.size,
        records: event.Records.length,
        error: first,
      });
    }
    deps.onResult?.(result, event);
    return toBatchResponse(event.Records, result.failures);
  };
}

const required = (name: string): string => requiredEnv(name, 'the stream processor');

/** The role in `SLUICE_PROCESSOR_ROLE`; throws naming the value and the roles allowed. */
export function roleFromEnvironment(env: NodeJS.ProcessEnv = process.env): ProcessorRole {
  const value = env[PROCESSOR_ROLE_ENV];
  if (isProcessorRole(value)) return value;
  throw new MissingEnvironmentError(
    `Environment variable ${PROCESSOR_ROLE_ENV} is ${value === undefined ? 'not set' : JSON.stringify(value)}; ` +
      `it must be one of ${PROCESSOR_ROLES.join(', ')}, so the stream processor cannot start`,
  );
}

let deployed: StreamProcessorHandler | undefined;

/** The deployed Lambda handler: clients and config from the environment, created once per container. */
export const handler: StreamProcessorHandler = (event, context) => {
  if (deployed === undefined) {
    const role = roleFromEnvironment();
    deployed = createHandler({
      dynamodb: new DynamoDBClient({}),
      sns: new SNSClient({}),
      s3: new S3Client({}),
      tableName: required('TABLE_NAME'),
      alertsTopicArn: required('ALERTS_TOPIC_ARN'),
      // The alert processor has no bucket (and no S3 grant).
      lakeBucket: role === 'alerts' ? undefined : required('LAKE_BUCKET'),
      config: JSON.parse(required(SPEED_CONFIG_ENV)) as SpeedConfig,
      role,
      metrics: pipelineMetrics(processorService(role), required(STAGE_ENV)),
    });
  }
  return deployed(event, context);
};
