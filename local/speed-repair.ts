/**
 * The speed-layer repair as local mode runs it: the deployed module (`createSpeedRepair`) wired to
 * the emulators' resources. Local mode's stream processors share one on-failure queue, so each
 * message's role comes from the function that gave it up (the local runner names its function after
 * the processor's service). `sluice repair --local`, the dashboard's action and the tests build it here.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { toSpeedConfig, type SluiceConfig } from '../contract/config';
import { ALERT_PROCESSOR_SERVICE, SPEED_REPAIR_SERVICE } from '../contract/metric-names';
import { speedProcessors } from '../contract/speed-processors';
import type { ProcessorRole } from '../core/speed-config';
import { OnFailureQueue, type OnFailureMessage } from '../lambdas/adapters/on-failure-queue';
import type { RepairPorts } from '../lambdas/speed-repair/repair-batches';
import {
  createRepairPorts,
  createSpeedRepair,
  type SpeedRepairDeps,
  type SpeedRepairRun,
} from '../lambdas/speed-repair/handler';
import type { QueueRepairReport } from '../lambdas/speed-repair/repair-queues';
import type { LocalClients } from './endpoints';
import type { LocalResources } from './resources';

export interface LocalSpeedRepairOptions {
  readonly clients: LocalClients;
  readonly resources: Pick<
    LocalResources,
    'tableName' | 'alertsTopicArn' | 'lakeBucketName' | 'streamName' | 'streamArn' | 'onFailureQueueUrl'
  >;
  readonly config: SluiceConfig;
  /** @default Date.now */
  readonly now?: () => number;
  readonly options?: SpeedRepairDeps['options'];
  /** @default 900 */
  readonly visibilityTimeoutSeconds?: number;
}

/** The role of the local processor whose function is `functionArn` (local/pipeline.ts names them). */
export function localRoleOf(config: SluiceConfig): (functionArn: string | undefined) => ProcessorRole {
  const [aggregate, ...alerts] = speedProcessors(config);
  return (functionArn) =>
    alerts.length > 0 && functionArn?.endsWith(`:function:${ALERT_PROCESSOR_SERVICE}`)
      ? alerts[0].role
      : aggregate.role;
}

/** The deployed repair's resources and clients, as local mode has them. */
function localDeps(options: Pick<LocalSpeedRepairOptions, 'clients' | 'resources' | 'config'>) {
  const { clients, resources } = options;
  return {
    ...clients,
    tableName: resources.tableName,
    alertsTopicArn: resources.alertsTopicArn,
    lakeBucket: resources.lakeBucketName,
    streamName: resources.streamName,
    streamArn: resources.streamArn,
    config: toSpeedConfig(options.config),
  };
}

/** The adapters a local repair reads and writes through (for tests that interrupt a repair). */
export function createLocalRepairPorts(
  options: Pick<LocalSpeedRepairOptions, 'clients' | 'resources' | 'config'>,
): RepairPorts {
  return createRepairPorts(localDeps(options));
}

export function createLocalSpeedRepair(options: LocalSpeedRepairOptions): SpeedRepairRun {
  return createSpeedRepair({
    ...localDeps(options),
    queues: [{ url: options.resources.onFailureQueueUrl }],
    now: options.now,
    options: { roleOfFunction: localRoleOf(options.config), ...options.options },
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
    logger: new Logger({ serviceName: SPEED_REPAIR_SERVICE, logLevel: 'SILENT' }),
  });
}

/** The given-up batches the local on-failure queue holds, without taking them. */
export function listGivenUp(
  clients: Pick<LocalClients, 'sqs'>,
  resources: Pick<LocalResources, 'onFailureQueueUrl'>,
  max = 100,
): Promise<OnFailureMessage[]> {
  return new OnFailureQueue({ client: clients.sqs, queueUrl: resources.onFailureQueueUrl }).peek(max);
}

/** A given-up batch as listed (the dashboard action and `sluice repair --list`). */
export interface ListedBatch {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly batchSize: number;
  /** The function that gave it up (its name), when the message says. */
  readonly processor?: string;
}

/** The listing of on-failure messages: their batches (a message that is none is left out). */
export function listedBatches(messages: readonly OnFailureMessage[]): ListedBatch[] {
  return messages.flatMap(({ batch, functionArn }) =>
    batch
      ? [
          {
            shardId: batch.shardId,
            startSequenceNumber: batch.startSequenceNumber,
            endSequenceNumber: batch.endSequenceNumber,
            batchSize: batch.batchSize,
            ...(functionArn ? { processor: functionArn.slice(functionArn.lastIndexOf(':') + 1) } : {}),
          },
        ]
      : [],
  );
}

/** A repair's report as JSON can carry it (the first error as its message). */
export type RepairSummary = Omit<QueueRepairReport, 'firstError'> & { readonly firstError?: string };

export function repairSummary(report: QueueRepairReport): RepairSummary {
  const { firstError, ...rest } = report;
  return { ...rest, ...(firstError ? { firstError: `${firstError.name}: ${firstError.message}` } : {}) };
}
