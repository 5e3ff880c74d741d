/**
 * What AWS allows for the Lambda Kinesis event source mapping and the function it invokes
 * (Lambda developer guide, "Using Lambda with Kinesis"; quotas). One home for the ranges that the
 * config validation (`contract/config.ts`), the CDK construct (`lib/stream-processor.ts`) and the
 * local event source runner all check.
 */

/** An inclusive range. */
export interface Range {
  readonly min: number;
  readonly max: number;
}

export const EVENT_SOURCE_LIMITS = {
  /** Records per invocation. */
  batchSize: { min: 1, max: 10_000 },
  /** Seconds Lambda gathers records before invoking. */
  maxBatchingWindowSeconds: { min: 0, max: 300 },
  /** Concurrent batches per shard. */
  parallelizationFactor: { min: 1, max: 10 },
  /** Retries of a failing batch. */
  retryAttempts: { min: 0, max: 10_000 },
  /** Seconds a record may wait before it goes to the on-failure destination unprocessed. */
  maxRecordAgeSeconds: { min: 60, max: 604_800 },
  /** Function memory, MiB. */
  memorySizeMiB: { min: 128, max: 10_240 },
  /** Function timeout, seconds. */
  timeoutSeconds: { min: 1, max: 900 },
} as const satisfies Record<string, Range>;
