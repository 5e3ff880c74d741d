/**
 * The event source runner's public types: its options (the event source mapping settings, named as
 * in the CDK `KinesisEventSource`), its log entries, metrics, and the on-failure document.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { Chaos } from '../chaos/chaos';
import type { CheckpointStore } from './checkpoint-store';

/** The Lambda handler signature for a Kinesis event source. */
export type KinesisHandler = (
  event: KinesisStreamEvent,
  context: Context,
) => Promise<KinesisStreamBatchResponse | void>;

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | { readonly atTimestamp: Date };

/** Where records that run out of retries or age go: an SQS queue, as on AWS. */
export interface OnFailureDestination {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
}

/** The event source mapping settings, named as in the CDK `KinesisEventSource`. */
export interface EventSourceSettings {
  /** Records per invocation, 1–10000. @default 100 */
  readonly batchSize?: number;
  /** Time to gather records before invoking, 0–300000 ms. @default 0 */
  readonly maxBatchingWindowMs?: number;
  /** @default 'TRIM_HORIZON' */
  readonly startingPosition?: StartingPosition;
  /** Concurrent batches per shard, 1–10. @default 1 */
  readonly parallelizationFactor?: number;
  /** Retries of a failing batch, 0–10000, or -1 for "until the records expire". @default -1 */
  readonly retryAttempts?: number;
  /**
   * Records older than this are not processed but sent to the on-failure destination; -1 = never.
   * AWS allows 60 s–7 d; locally any value >= 0 is accepted so tests can use short ages.
   * @default -1
   */
  readonly maxRecordAgeMs?: number;
  /** Split a failed batch in two before retrying. @default false */
  readonly bisectBatchOnError?: boolean;
  /** Honour `batchItemFailures` in the handler's response. @default false (as on AWS) */
  readonly reportBatchItemFailures?: boolean;
  /** An invocation running longer than this fails with a timeout. @default 60000 */
  readonly functionTimeoutMs?: number;
  /** Reported in the Lambda context. @default 1024 */
  readonly memoryLimitInMB?: number;
  /** Reported in the Lambda context and in on-failure records. @default 'stream-processor' */
  readonly functionName?: string;
}

export interface EventSourceRunnerOptions extends EventSourceSettings {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly handler: KinesisHandler;
  /** @default - records that run out of retries or age are dropped (logged and counted) */
  readonly onFailure?: OnFailureDestination;
  /** Fault injection; see local/chaos/. @default - no faults */
  readonly chaos?: Chaos;
  /**
   * Where shard checkpoints are saved, under the stream's name and `functionName`; a runner started
   * again with the same store resumes where the last one stopped (see the module comment), e.g.
   * `new FileCheckpointStore({ dir: '.sluice/checkpoints' })`.
   * @default - checkpoints live in memory and are lost when the runner stops
   */
  readonly checkpointStore?: CheckpointStore;
  /** Structured log hook; the runner never writes to the console itself. */
  readonly onLog?: (entry: RunnerLogEntry) => void;
  /** Pause after a GetRecords call that found nothing new. @default 200 */
  readonly pollIntervalMs?: number;
  /** First backoff before retrying a failed batch; doubles per failure in a row. @default 50 */
  readonly retryBackoffMs?: number;
  /** Upper bound of that backoff. @default 1000 */
  readonly maxRetryBackoffMs?: number;
  /** How often to look for new shards (after a split or merge). @default 5000 */
  readonly shardRefreshIntervalMs?: number;
}

export type RunnerLogLevel = 'debug' | 'info' | 'warn' | 'error';

export type RunnerLogEvent =
  | 'runner.started'
  | 'runner.stopped'
  | 'shard.started'
  | 'shard.closed'
  | 'shard.error'
  | 'iterator.refreshed'
  | 'batch.invoked'
  | 'batch.succeeded'
  | 'batch.partial-failure'
  | 'batch.failed'
  | 'batch.bisected'
  | 'batch.redelivered'
  | 'records.expired'
  | 'records.retries-exhausted'
  | 'records.discarded'
  | 'onfailure.sent'
  | 'onfailure.error'
  | 'checkpoint.resumed'
  | 'checkpoint.discarded'
  | 'checkpoint.error';

export interface RunnerLogEntry {
  readonly level: RunnerLogLevel;
  readonly event: RunnerLogEvent;
  readonly message: string;
  readonly shardId?: string;
  readonly slot?: number;
  readonly details?: Readonly<Record<string, unknown>>;
}

export type { KinesisOnFailureRecord } from '../../contract/on-failure';

export interface RunnerCounters {
  /** Batches formed from records read off the stream (retries, halves and redeliveries excluded). */
  batches: number;
  invocations: number;
  failedInvocations: number;
  /** Invocations of records whose previous invocation failed. */
  retries: number;
  bisections: number;
  partialBatchFailures: number;
  timeouts: number;
  recordsRead: number;
  /** Records checkpointed after the handler succeeded on them. */
  recordsSucceeded: number;
  recordsSentToOnFailure: number;
  onFailureMessages: number;
  /** Records given up with no on-failure destination configured. */
  recordsDiscarded: number;
  /** Chaos redeliveries of already-successful records, and how many records they carried. */
  redeliveries: number;
  redeliveredRecords: number;
  getRecordsCalls: number;
  getRecordsErrors: number;
  iteratorRefreshes: number;
  /** Saves of the shard checkpoints to the checkpoint store, and failed saves. */
  checkpointSaves: number;
  checkpointErrors: number;
}

export interface ShardMetrics {
  readonly shardId: string;
  /** Everything up to and including this sequence number is done (succeeded or sent on). */
  readonly checkpoint?: string;
  readonly lastReadSequenceNumber?: string;
  /** As reported by the last GetRecords call (kinesalite always reports 0). */
  readonly millisBehindLatest: number;
  /** Age of the oldest record read but not yet done, like Lambda's IteratorAge metric; 0 when caught up. */
  readonly iteratorAgeMs: number;
  /** Records read and not yet done. */
  readonly pending: number;
  readonly inFlightBatches: number;
  /** The shard is closed and every record in it is done. */
  readonly finished: boolean;
}

export interface RunnerMetrics {
  readonly counters: Readonly<RunnerCounters>;
  readonly shards: readonly ShardMetrics[];
}
