/**
 * How long a step of the local benchmark's max-sustained series runs, and how its backlog is read,
 * for a given rate and batching: pure arithmetic, so the judgement can be tested without a pipeline.
 *
 * The backlog (records put but not yet applied) is a sawtooth: it drops by a batch when an
 * invocation ends. A batch closes when its batching window ends or it holds `batchSize` records of
 * its shard, whichever is first; with no window, about every poll. Growth is judged on the lowest
 * backlog of each span ("trough bucket") long enough for a batch to end in it, after a ramp in which
 * the backlog fills up to its steady level, over at least `MIN_BUCKETS` such spans.
 */
import type { TimedValue } from './stats';

/** With no batching window, a batch ends about every poll: this span holds several. */
const MIN_TROUGH_BUCKET_MS = 2_000;
/** Beyond the batch period, room for the invocation that ends it. */
const INVOCATION_ALLOWANCE_MS = 2_000;
const MIN_RAMP_MS = 10_000;
/** Judged time at the least, as the series always had (30 s steps, 10 s ramp). */
const MIN_JUDGED_MS = 20_000;
const MIN_BUCKETS = 3;

export interface StepBatching {
  /** Produce rate, records/s over the whole stream. */
  readonly rate: number;
  readonly shards: number;
  /** Records per batch (per shard: each shard's batches are its own). */
  readonly batchSize: number;
  readonly maxBatchingWindowMs: number;
}

export interface StepTiming {
  /** How often a shard's batch closes at this rate, ms (0: at every poll). */
  readonly batchPeriodMs: number;
  readonly troughBucketMs: number;
  /** The start of the step that is not judged. */
  readonly rampMs: number;
  /** The whole step, ramp included. */
  readonly stepMs: number;
}

export function stepTiming({ rate, shards, batchSize, maxBatchingWindowMs }: StepBatching): StepTiming {
  const untilFullMs = (batchSize / (rate / shards)) * 1000;
  const batchPeriodMs = Math.min(maxBatchingWindowMs, untilFullMs);
  const troughBucketMs =
    batchPeriodMs === 0 ? MIN_TROUGH_BUCKET_MS : Math.ceil(batchPeriodMs + INVOCATION_ALLOWANCE_MS);
  const rampMs = Math.max(MIN_RAMP_MS, troughBucketMs);
  return {
    batchPeriodMs,
    troughBucketMs,
    rampMs,
    stepMs: rampMs + Math.max(MIN_JUDGED_MS, MIN_BUCKETS * troughBucketMs),
  };
}

/** The lowest sample of each `bucketMs` span, at that span's start. */
export function troughs(samples: readonly TimedValue[], bucketMs: number): TimedValue[] {
  const lowest = new Map<number, number>();
  for (const sample of samples) {
    const bucket = Math.floor((sample.minute * 60_000) / bucketMs);
    lowest.set(bucket, Math.min(lowest.get(bucket) ?? Number.POSITIVE_INFINITY, sample.value));
  }
  return [...lowest].map(([bucket, value]) => ({ minute: (bucket * bucketMs) / 60_000, value }));
}
