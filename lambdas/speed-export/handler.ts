/**
 * Lambda entry point of the speed export (lambdas/adapters/speed-export.ts): run by an EventBridge
 * Scheduler schedule every `interval`, it copies the hours that can still change of the speed
 * layer's tumbling one-hour window to `speed/hourly/` of the lake. The event is ignored: a run
 * exports what is current at its start, and a repeated or overlapping run writes the same objects.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { WindowSpec } from '../../core/speed-config';
import { AggregateReader } from '../adapters/aggregate-reader';
import { numberEnv, requiredEnv } from '../adapters/environment';
import { S3ObjectSink } from '../adapters/s3-object-sink';
import {
  hoursToExport,
  SpeedExport,
  type ObjectSink,
  type SpeedExportResult,
} from '../adapters/speed-export';
import { windowsEnv } from '../adapters/windows-env';

export interface SpeedExportDeps {
  readonly dynamodb: DynamoDBClient;
  readonly sink: ObjectSink;
  readonly tableName: string;
  readonly windows: readonly WindowSpec[];
  readonly latenessMs: number;
  readonly intervalMs: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default - a Powertools Logger for service `speed-export` */
  readonly logger?: Logger;
}

export type SpeedExportHandler = () => Promise<SpeedExportResult>;

export function createHandler(deps: SpeedExportDeps): SpeedExportHandler {
  const reader = new AggregateReader({
    client: deps.dynamodb,
    tableName: deps.tableName,
    windows: deps.windows,
  });
  const exporter = new SpeedExport(reader, deps.sink);
  const logger = deps.logger ?? new Logger({ serviceName: 'speed-export' });
  return async () => {
    const hours = hoursToExport((deps.now ?? Date.now)(), deps.intervalMs, deps.latenessMs);
    const result = await exporter.exportHours(hours);
    logger.info('speed export', { ...result, from: new Date(hours[0]).toISOString() });
    return result;
  };
}

const WHO = 'the speed export';
let deployed: SpeedExportHandler | undefined;

/** The deployed handler: clients and settings from the environment, created once per container. */
export const handler: SpeedExportHandler = () => {
  deployed ??= createHandler({
    dynamodb: new DynamoDBClient({}),
    sink: new S3ObjectSink(new S3Client({}), requiredEnv('LAKE_BUCKET', WHO)),
    tableName: requiredEnv('TABLE_NAME', WHO),
    windows: windowsEnv(WHO),
    latenessMs: numberEnv('LATENESS_MS', WHO),
    intervalMs: numberEnv('EXPORT_INTERVAL_MS', WHO),
  });
  return deployed();
};
