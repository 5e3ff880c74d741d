/**
 * What the parts of the event source runner (runner.ts) share: the record type and the view of the runner that shard pollers and slots use.
 */
import type { Context } from 'aws-lambda';
import type { ShardCheckpoint } from './checkpoint-store';
import type { RunnerSettings } from './settings';
import type { RunnerCounters, RunnerLogEvent, RunnerLogLevel } from './types';

/** A Kinesis record as read from a shard. */
export interface StreamRecord {
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** ApproximateArrivalTimestamp in epoch milliseconds. */
  readonly arrivalMs: number;
}

/** Where a log entry comes from. */
export interface LogOrigin {
  readonly shardId?: string;
  readonly slot?: number;
}

/** The runner as its shard pollers and slots see it. */
export interface RunnerHost {
  readonly options: RunnerSettings;
  readonly counters: RunnerCounters;
  /** True once stop() was called (or before start()). */
  readonly stopping: boolean;
  /**
   * True while `drain()` waits: a slot closes its open batch as soon as its shard's reads have
   * reached the tip, instead of waiting out the batching window (see runner.ts).
   */
  readonly flushing: boolean;
  readonly streamArn: string;
  readonly region: string;
  log(
    level: RunnerLogLevel,
    event: RunnerLogEvent,
    message: string,
    where?: LogOrigin,
    details?: Record<string, unknown>,
  ): void;
  functionArn(): string;
  /** Waits before a retry: doubling from retryBackoffMs per failure in a row, up to maxRetryBackoffMs. */
  backoff(failuresInARow: number): Promise<void>;
  /** A fresh Lambda context for one invocation. */
  createContext(): Context;
  /** A shard's checkpoint moved (records done, reading started, shard finished): save it. */
  checkpointed(shardId: string, checkpoint: ShardCheckpoint): void;
}

/** The shard poller as its slots see it. */
export interface SlotOwner {
  readonly runner: RunnerHost;
  readonly shardId: string;
  /** True once the shard is read to its end; slots then stop when empty. */
  readonly readComplete: boolean;
  /** True when the shard's last read found nothing new: every record put so far has been read. */
  readonly atTip: boolean;
  /** Marks records done (succeeded or sent on) and advances the shard's checkpoint. */
  complete(records: readonly StreamRecord[]): void;
}
