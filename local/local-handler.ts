/**
 * The stream processor as local mode runs it: the deployed handler module (`createHandler`), wired
 * to the emulators' resources, with Powertools' logs and EMF metrics silenced (on a terminal they
 * would drown everything else). Local mode and the integration tests both build it here.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import { processorService } from '../contract/metric-names';
import type { ProcessorRole, SpeedConfig } from '../core/speed-config';
import { pipelineMetrics } from '../lambdas/adapters/pipeline-metrics';
import {
  createHandler,
  type StreamProcessorDeps,
  type StreamProcessorHandler,
} from '../lambdas/stream-processor/handler';
import type { LocalResources } from './resources';

export interface LocalStreamProcessorOptions {
  /** The handler's clients (local mode may have added chaos to them). */
  readonly clients: { readonly dynamodb: DynamoDBClient; readonly sns: SNSClient; readonly s3: S3Client };
  readonly resources: Pick<LocalResources, 'tableName' | 'alertsTopicArn' | 'lakeBucketName'>;
  readonly config: SpeedConfig;
  /** @default 'all' */
  readonly role?: ProcessorRole;
  /** @default Date.now */
  readonly now?: () => number;
  readonly onResult?: StreamProcessorDeps['onResult'];
}

/** The stage local mode's (silenced) metrics would carry. */
const LOCAL_STAGE = 'local';

export function createLocalStreamProcessor(options: LocalStreamProcessorOptions): StreamProcessorHandler {
  // Powertools Metrics reads this when constructed; it has no constructor option for it.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const role = options.role ?? 'all';
  return createHandler({
    dynamodb: options.clients.dynamodb,
    sns: options.clients.sns,
    s3: options.clients.s3,
    tableName: options.resources.tableName,
    alertsTopicArn: options.resources.alertsTopicArn,
    // As deployed: the alert processor has no bucket (lib/stream-processor.ts grants it none).
    lakeBucket: role === 'alerts' ? undefined : options.resources.lakeBucketName,
    config: options.config,
    role,
    now: options.now,
    logger: new Logger({ serviceName: processorService(role), logLevel: 'SILENT' }),
    metrics: pipelineMetrics(processorService(role), LOCAL_STAGE),
    onResult: options.onResult,
  });
}
