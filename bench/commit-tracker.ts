/** The local benchmark's and the soak's books on what the speed layer applied, and how fast. */
import type { KinesisStreamEvent } from 'aws-lambda';
import { compareSequences } from '../core/sequence';
import type { BatchResult } from '../lambdas/stream-processor/process-batch';
import type { RunnerLogEntry } from '../local/event-source/types';
import type { PipelineLogEntry } from '../local/pipeline';

const MAX_TRACKED_INVOCATIONS = 10_000;

/**
 * Books on the records the speed layer applied, kept from the stream processor's results. A
 * record is applied by the first invocation that returns it as not failed (its DynamoDB update, or
 * its quarantine object, is then written); later deliveries of it (retries, chaos redeliveries) are
 * not counted again. Records of one partition key reach the handler in sequence order, so "first"
 * is "above the highest sequence number applied for that shard and key": memory per key, not per
 * record.
 */
export class CommitTracker {
  private readonly highest = new Map<string, string>();
  private appliedCount = 0;
  private itemsWrittenCount = 0;
  private validCount = 0;
  private maxEventTimeLag = 0;
  private latencies: number[] | undefined;
  private waits: number[] | undefined;
  private handlerTimes: number[] | undefined;
  /** When the runner invoked the handler, by `shardId\nfirst sequence number` of the batch. */
  private readonly invokedAt = new Map<string, number>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** The pipeline's `onLog` hook: notes when the runner invokes the handler. */
  noteLog = (entry: PipelineLogEntry): void => {
    if (entry.component !== 'runner') return;
    const runnerEntry = entry.details as RunnerLogEntry | undefined;
    if (runnerEntry?.event !== 'batch.invoked') return;
    const first = runnerEntry.details?.first;
    if (typeof first !== 'string') return;
    // Invocations whose result never comes (the handler threw) leave an entry; keep the map small.
    if (this.invokedAt.size >= MAX_TRACKED_INVOCATIONS) this.invokedAt.clear();
    this.invokedAt.set(`${runnerEntry.shardId}\n${first}`, this.now());
  };

  /** The pipeline's `onBatchResult` hook. */
  observe = (result: BatchResult, event: KinesisStreamEvent): void => {
    const nowMs = this.now();
    this.maxEventTimeLag = Math.max(this.maxEventTimeLag, result.stats.maxEventTimeLagMs);
    this.itemsWrittenCount += result.stats.itemsWritten;
    const records = event.Records;
    if (records.length === 0) return;
    const firstId = records[0].eventID;
    const invocationKey = `${firstId.slice(0, firstId.lastIndexOf(':'))}\n${records[0].kinesis.sequenceNumber}`;
    const invokedAt = this.invokedAt.get(invocationKey);
    this.invokedAt.delete(invocationKey);
    if (invokedAt !== undefined) this.handlerTimes?.push(nowMs - invokedAt);
    for (let index = 0; index < records.length; index++) {
      const record = records[index];
      if (result.failures.has(record.eventID)) continue;
      const key = `${record.eventID.slice(0, record.eventID.lastIndexOf(':'))}\n${record.kinesis.partitionKey}`;
      const sequence = record.kinesis.sequenceNumber;
      const seen = this.highest.get(key);
      if (seen !== undefined && compareSequences(sequence, seen) <= 0) continue;
      this.highest.set(key, sequence);
      this.appliedCount++;
      if (result.outcomes[index] !== 'valid') continue;
      this.validCount++;
      // approximateArrivalTimestamp is kinesalite's arrival time in seconds, with milliseconds.
      const arrivalMs = record.kinesis.approximateArrivalTimestamp * 1000;
      this.latencies?.push(nowMs - arrivalMs);
      if (invokedAt !== undefined) this.waits?.push(invokedAt - arrivalMs);
    }
  };

  /** Records applied (valid, invalid or late), each once. */
  get applied(): number {
    return this.appliedCount;
  }

  /** Aggregate items the handler wrote (one DynamoDB update each), over every invocation. */
  get itemsWritten(): number {
    return this.itemsWrittenCount;
  }

  /** Valid records applied (their aggregates updated), each once. */
  get valid(): number {
    return this.validCount;
  }

  /** The largest event-time lag of a batch since the last call (processing time minus oldest event time). */
  takeMaxEventTimeLag(): number {
    const lag = this.maxEventTimeLag;
    this.maxEventTimeLag = 0;
    return lag;
  }

  /** Starts keeping the latencies of every valid record applied from now on. */
  startRecording(): void {
    this.latencies = [];
    this.waits = [];
    this.handlerTimes = [];
  }

  /** Stops keeping latencies and returns them, each sorted ascending (ms). */
  stopRecording(): RecordedLatencies {
    const sorted = (values: number[] | undefined): Float64Array => Float64Array.from(values ?? []).sort();
    const recorded = {
      endToEnd: sorted(this.latencies),
      waitBeforeInvoke: sorted(this.waits),
      invocation: sorted(this.handlerTimes),
    };
    this.latencies = this.waits = this.handlerTimes = undefined;
    return recorded;
  }
}

/** Latencies kept between `startRecording` and `stopRecording`, each sorted ascending, ms. */
export interface RecordedLatencies {
  /** Per valid record: arrival in the stream to the end of the invocation that applied it. */
  readonly endToEnd: Float64Array;
  /** Per valid record: arrival in the stream to the start of that invocation (polling, read-ahead, batching window). */
  readonly waitBeforeInvoke: Float64Array;
  /** Per invocation: how long the handler ran (start to result). */
  readonly invocation: Float64Array;
}
