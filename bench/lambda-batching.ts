/**
 * How a Kinesis event source mapping cuts a stream into Lambda batches, on a virtual clock: the
 * model the cost benchmark (`bench/cost.bench.ts`) feeds the real handler with.
 *
 * - A record goes to the shard whose hash-key range holds the MD5 of its partition key, read as a
 *   128-bit unsigned integer; the stream's shards split the range evenly (as CreateStream and
 *   on-demand streams create them).
 * - Lambda reads each shard once per poll (GetRecords, about once a second for a standard
 *   consumer). What a poll reads joins the shard's open batch; the batch's window opens at the poll
 *   that read its first record.
 * - A batch closes at a poll when it holds `batchSize` records (several full batches at once if the
 *   poll read that many; the rest stays open), or when its batching window has passed; with a window
 *   of 0 that is the poll itself.
 *
 * Not modelled: the 6 MB payload limit (a 10,000-record batch of 200-byte events is about 3 MB),
 * and back-pressure: batches close as if every invocation ended before the shard's next one was due
 * (the benchmark checks that separately, as `keepsUp`).
 */
import { createHash } from 'node:crypto';

const HASH_SPACE = 2n ** 128n;

/** The shard (0 … shardCount − 1) that `partitionKey` lands on. */
export function shardOf(partitionKey: string, shardCount: number): number {
  const hash = BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
  return Number((hash * BigInt(shardCount)) / HASH_SPACE);
}

export interface BatchingOptions {
  readonly shardCount: number;
  /** The event source mapping's `BatchSize`, 1–10000. */
  readonly batchSize: number;
  /** `MaximumBatchingWindowInSeconds`, in ms; 0 invokes at the poll that read the records. */
  readonly batchingWindowMs: number;
  /** Time between two polls of a shard. @default 1000 */
  readonly pollIntervalMs?: number;
  /** The virtual time of the first poll of shard 0. @default 0 */
  readonly startMs?: number;
}

export interface FormedBatch<T> {
  readonly shard: number;
  /** The virtual time Lambda invokes the function with this batch. */
  readonly closedAtMs: number;
  /** In the shard's order (arrival order). */
  readonly records: readonly T[];
}

interface ShardState<T> {
  /** Arrived records not yet read by a poll. */
  readonly arrived: { readonly arrivalMs: number; readonly record: T }[];
  /** Read, waiting in the open batch. */
  open: T[];
  openedAtMs: number;
  nextPollMs: number;
}

/**
 * Feed it the stream's records in arrival order (`add`), and collect the batches that have closed
 * by a virtual time (`closeUntil`). Records must be added before any `closeUntil` past their arrival.
 */
export class LambdaBatcher<T> {
  private readonly shards: ShardState<T>[];
  private readonly pollIntervalMs: number;
  private lastArrivalMs = -Infinity;
  private closedUntilMs = -Infinity;

  constructor(private readonly options: BatchingOptions) {
    if (!Number.isInteger(options.shardCount) || options.shardCount < 1)
      throw new RangeError(`shardCount must be a positive integer (given ${options.shardCount})`);
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > 10_000)
      throw new RangeError(`batchSize must be between 1 and 10000 (given ${options.batchSize})`);
    if (!(options.batchingWindowMs >= 0))
      throw new RangeError(`batchingWindowMs must be 0 or more (given ${options.batchingWindowMs})`);
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    const start = options.startMs ?? 0;
    // Shards are polled independently: spread their polls over the interval.
    this.shards = Array.from({ length: options.shardCount }, (_, shard) => ({
      arrived: [],
      open: [],
      openedAtMs: 0,
      nextPollMs: start + Math.floor((shard * this.pollIntervalMs) / options.shardCount),
    }));
  }

  /** A record reaching `shard` at `arrivalMs`. */
  add(shard: number, arrivalMs: number, record: T): void {
    if (arrivalMs < this.lastArrivalMs)
      throw new RangeError(
        `records must be added in arrival order (${arrivalMs} after ${this.lastArrivalMs})`,
      );
    if (arrivalMs <= this.closedUntilMs)
      throw new RangeError(
        `record arrives at ${arrivalMs}, before batches were closed until ${this.closedUntilMs}`,
      );
    const state = this.shards[shard];
    if (state === undefined) throw new RangeError(`no shard ${shard} in ${this.options.shardCount}`);
    this.lastArrivalMs = arrivalMs;
    state.arrived.push({ arrivalMs, record });
  }

  /** Every batch that closes at or before `nowMs`, by close time, then shard. */
  closeUntil(nowMs: number): FormedBatch<T>[] {
    const closed: FormedBatch<T>[] = [];
    this.shards.forEach((state, shard) => {
      while (state.nextPollMs <= nowMs) {
        this.poll(shard, state, state.nextPollMs, closed);
        state.nextPollMs += this.pollIntervalMs;
      }
    });
    this.closedUntilMs = Math.max(this.closedUntilMs, nowMs);
    return closed.sort((a, b) => a.closedAtMs - b.closedAtMs || a.shard - b.shard);
  }

  private poll(shard: number, state: ShardState<T>, pollMs: number, closed: FormedBatch<T>[]): void {
    let read = 0;
    while (read < state.arrived.length && state.arrived[read].arrivalMs <= pollMs) read++;
    if (read > 0) {
      if (state.open.length === 0) state.openedAtMs = pollMs;
      for (const { record } of state.arrived.splice(0, read)) state.open.push(record);
    }
    const { batchSize, batchingWindowMs } = this.options;
    while (state.open.length >= batchSize) {
      closed.push({ shard, closedAtMs: pollMs, records: state.open.splice(0, batchSize) });
      state.openedAtMs = pollMs;
    }
    if (state.open.length > 0 && pollMs - state.openedAtMs >= batchingWindowMs) {
      closed.push({ shard, closedAtMs: pollMs, records: state.open });
      state.open = [];
    }
  }
}
