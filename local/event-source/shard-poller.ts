/**
 * Reads one shard of the stream for the event source runner: keeps an iterator (re-opening it when
 * it expires), reads ahead into the shard's slots, tracks which records are done, and reports the
 * shard's checkpoint (to the runner, which saves it) and lag. A shard resumed from a saved
 * checkpoint reads from just after it.
 */
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ResourceNotFoundException,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import { fnv1a32Value } from '../../core/sequence';
import type { ShardCheckpoint } from './checkpoint-store';
import type { RunnerHost, SlotOwner, StreamRecord } from './host';
import { Slot } from './slot';
import { Signal } from './signal';
import type { RunnerLogEvent, RunnerLogLevel, ShardMetrics, StartingPosition } from './types';

/** Reads one shard and feeds its slots. */
export class ShardPoller implements SlotOwner {
  readonly slots: Slot[];
  private iterator: string | undefined;
  private lastReadSequenceNumber: string | undefined;
  private latestFrom: Date | undefined;
  private ended = false;
  private finishedFlag = false;
  /** GetRecords calls started so far, and the number of the last one that found the shard's tip. */
  private readsStarted = 0;
  private lastCaughtUpRead = 0;
  private millisBehindLatest = 0;
  /** The last read found nothing new. */
  private tip = false;
  private checkpoint: string | undefined;
  /** The saved checkpoint this shard resumed from: reading starts after it. */
  private readonly resumeAfter: string | undefined;
  /** Records read and not yet done, oldest first; `done` marks completion out of order. */
  private readonly outstanding: Array<{ readonly record: StreamRecord; done: boolean }> = [];
  private readonly bySequence = new Map<string, { readonly record: StreamRecord; done: boolean }>();
  private readonly wakeSignal = new Signal();
  private readonly spaceSignal = new Signal();
  private finishedResolve!: () => void;
  readonly finished = new Promise<void>((resolve) => (this.finishedResolve = resolve));

  constructor(
    readonly runner: RunnerHost,
    readonly shardId: string,
    private readonly position: StartingPosition,
    private readonly parents: readonly ShardPoller[],
    /** A closed shard met with LATEST: there is nothing to read. */
    skip: boolean,
    /** The checkpoint saved by an earlier run, if any. */
    resume?: ShardCheckpoint,
  ) {
    const slots = runner.options.parallelizationFactor;
    this.slots = Array.from({ length: slots }, (_, index) => new Slot(this, index));
    this.checkpoint = resume?.sequenceNumber;
    this.resumeAfter = resume?.sequenceNumber;
    if (skip || resume?.finished) this.finish();
    // Where reading starts is known now, except for LATEST (saved once the iterator is taken).
    else if (position !== 'LATEST' || this.checkpoint) this.saveCheckpoint();
  }

  get isFinished(): boolean {
    return this.finishedFlag;
  }

  wake(): void {
    this.wakeSignal.notify();
    this.spaceSignal.notify();
    for (const slot of this.slots) slot.wake();
  }

  /** A mark for `idleSince`: reads started after it see everything put before it. */
  readMark(): number {
    return this.readsStarted;
  }

  /** True when nothing is pending and a read started after `mark` found the shard's tip. */
  idleSince(mark: number): boolean {
    if (this.finishedFlag) return true;
    if (this.outstanding.length > 0 || this.slots.some((slot) => slot.busy)) return false;
    return this.ended || this.lastCaughtUpRead > mark;
  }

  metrics(): ShardMetrics {
    const oldest = this.outstanding.find((entry) => !entry.done);
    return {
      shardId: this.shardId,
      checkpoint: this.checkpoint,
      lastReadSequenceNumber: this.lastReadSequenceNumber,
      millisBehindLatest: this.millisBehindLatest,
      iteratorAgeMs: oldest ? Math.max(0, Date.now() - oldest.record.arrivalMs) : 0,
      pending: this.outstanding.filter((entry) => !entry.done).length,
      inFlightBatches: this.slots.filter((slot) => slot.busy).length,
      finished: this.finishedFlag,
    };
  }

  async openIterator(): Promise<void> {
    if (this.finishedFlag || this.iterator) return;
    const fixedStart = this.position === 'TRIM_HORIZON' || this.resumeAfter !== undefined;
    if (this.parents.some((parent) => !parent.isFinished) && fixedStart) return;
    this.iterator = await this.getIterator();
  }

  async run(): Promise<void> {
    if (this.finishedFlag) return;
    // A child shard starts once its parents are read to their end, as on AWS.
    await Promise.race([Promise.all(this.parents.map((parent) => parent.finished)), this.untilStopping()]);
    if (this.runner.stopping) return;
    try {
      this.iterator ??= await this.getIterator();
    } catch (error) {
      this.log('error', 'shard.error', `cannot open an iterator: ${(error as Error).message}`);
      return;
    }
    this.log('debug', 'shard.started', `polling ${this.shardId}`);
    const slots = this.slots.map((slot) => slot.run());
    await this.readLoop();
    for (const slot of this.slots) slot.wake();
    await Promise.all(slots);
    if (this.ended && this.outstanding.length === 0) {
      this.log('info', 'shard.closed', `${this.shardId} is closed and fully processed`);
      this.finish();
    }
  }

  /** Marks records done (succeeded or sent on) and advances the checkpoint past every done record. */
  complete(records: readonly StreamRecord[]): void {
    for (const record of records) {
      const entry = this.bySequence.get(record.sequenceNumber);
      if (entry) entry.done = true;
    }
    // The done prefix leaves in one splice: shifting a read-ahead of up to 20,000 records one at a
    // time showed in local mode's profile.
    let done = 0;
    while (done < this.outstanding.length && this.outstanding[done].done) {
      this.bySequence.delete(this.outstanding[done].record.sequenceNumber);
      done++;
    }
    if (done > 0) {
      this.checkpoint = this.outstanding[done - 1].record.sequenceNumber;
      this.outstanding.splice(0, done);
      this.saveCheckpoint();
    }
    this.spaceSignal.notify();
  }

  private log(level: RunnerLogLevel, event: RunnerLogEvent, message: string): void {
    this.runner.log(level, event, message, { shardId: this.shardId });
  }

  /** True once the shard is read to its end; slots then stop when empty. */
  get readComplete(): boolean {
    return this.ended;
  }

  get atTip(): boolean {
    return this.tip;
  }

  private finish(): void {
    this.finishedFlag = true;
    this.finishedResolve();
    this.saveCheckpoint();
  }

  /** Hands the shard's checkpoint to the runner, which saves it (see checkpoint-writer.ts). */
  private saveCheckpoint(): void {
    const finished = this.finishedFlag ? { finished: true } : {};
    if (this.checkpoint !== undefined) {
      this.runner.checkpointed(this.shardId, { sequenceNumber: this.checkpoint, ...finished });
      return;
    }
    const from = typeof this.position === 'object' ? this.position.atTimestamp : this.latestFrom;
    this.runner.checkpointed(this.shardId, {
      ...(from ? { fromTimestamp: from.getTime() } : {}),
      ...finished,
    });
  }

  private untilStopping(): Promise<void> {
    return (async () => {
      while (!this.runner.stopping) await this.wakeSignal.wait(1_000);
    })();
  }

  private buffered(): number {
    return this.slots.reduce((sum, slot) => sum + slot.buffered, 0);
  }

  private async getIterator(): Promise<string> {
    const base = { StreamName: this.runner.options.streamName, ShardId: this.shardId };
    let input: ConstructorParameters<typeof GetShardIteratorCommand>[0];
    const after = this.lastReadSequenceNumber ?? this.resumeAfter;
    if (after) {
      input = { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after };
    } else if (this.position === 'TRIM_HORIZON') {
      input = { ...base, ShardIteratorType: 'TRIM_HORIZON' };
    } else if (this.position === 'LATEST') {
      // Re-opening LATEST later would skip what arrived in between; resume from when it was first taken.
      input = this.latestFrom
        ? { ...base, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: this.latestFrom }
        : { ...base, ShardIteratorType: 'LATEST' };
    } else {
      input = { ...base, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: this.position.atTimestamp };
    }
    const takenAt = new Date();
    const { ShardIterator } = await this.runner.options.kinesis.send(new GetShardIteratorCommand(input));
    if (this.position === 'LATEST' && !this.latestFrom) {
      // A restarted runner resumes from here rather than at a later LATEST.
      this.latestFrom = takenAt;
      if (!this.checkpoint) this.saveCheckpoint();
    }
    return ShardIterator as string;
  }

  private async readLoop(): Promise<void> {
    const { batchSize, parallelizationFactor, pollIntervalMs, kinesis } = this.runner.options;
    // Read ahead at least two batches per slot (as Lambda's poller does), and whole GetRecords pages
    // when batches are small, so batch boundaries do not depend on how fast reads come back.
    const highWater = Math.max(batchSize * parallelizationFactor * 2, 1_000);
    let errorsInARow = 0;
    while (!this.runner.stopping && !this.ended) {
      const room = highWater - this.buffered();
      if (room <= 0) {
        await this.spaceSignal.wait(pollIntervalMs);
        continue;
      }
      const read = ++this.readsStarted;
      let output;
      try {
        this.runner.counters.getRecordsCalls++;
        output = await kinesis.send(
          new GetRecordsCommand({ ShardIterator: this.iterator, Limit: Math.min(10_000, room) }),
        );
        errorsInARow = 0;
      } catch (error) {
        this.runner.counters.getRecordsErrors++;
        errorsInARow++;
        if (await this.recoverFromReadError(error, errorsInARow)) continue;
        return;
      }
      this.millisBehindLatest = output.MillisBehindLatest ?? 0;
      const records = (output.Records ?? []).map(toStreamRecord);
      for (const record of records) {
        const entry = { record, done: false };
        this.outstanding.push(entry);
        this.bySequence.set(record.sequenceNumber, entry);
        this.slots[slotOf(record.partitionKey, parallelizationFactor)].push({ record, readAtMs: Date.now() });
        this.lastReadSequenceNumber = record.sequenceNumber;
      }
      this.runner.counters.recordsRead += records.length;
      this.iterator = output.NextShardIterator;
      if (this.iterator === undefined) {
        this.ended = true;
        break;
      }
      this.tip = records.length === 0 && this.millisBehindLatest === 0;
      if (this.tip) {
        this.lastCaughtUpRead = read;
        // A drain waits for slots holding a batch open for its window: nothing more is coming.
        if (this.runner.flushing) for (const slot of this.slots) slot.wake();
        await this.wakeSignal.wait(pollIntervalMs);
      }
    }
  }

  /** Returns false when the shard cannot be read any more. */
  private async recoverFromReadError(error: unknown, errorsInARow: number): Promise<boolean> {
    const message = (error as Error).message;
    if (error instanceof ResourceNotFoundException) {
      this.log('error', 'shard.error', `stream or shard is gone: ${message}`);
      return false;
    }
    const expired =
      error instanceof ExpiredIteratorException ||
      ((error as Error).name === 'InvalidArgumentException' && /ShardIterator/i.test(message));
    if (!expired) {
      this.log('warn', 'shard.error', `GetRecords failed (${errorsInARow} in a row): ${message}`);
      await this.wakeSignal.wait(
        Math.min(5_000, this.runner.options.pollIntervalMs * 2 ** Math.min(errorsInARow, 5)),
      );
      return true;
    }
    try {
      this.iterator = await this.getIterator();
      this.runner.counters.iteratorRefreshes++;
      this.log(
        'info',
        'iterator.refreshed',
        `shard iterator expired; resumed after ${this.lastReadSequenceNumber ?? 'the start position'}`,
      );
    } catch (refreshError) {
      this.log('warn', 'shard.error', `cannot refresh the iterator: ${(refreshError as Error).message}`);
      await this.wakeSignal.wait(this.runner.options.pollIntervalMs);
    }
    return true;
  }
}

function toStreamRecord(record: KinesisRecord): StreamRecord {
  return {
    sequenceNumber: record.SequenceNumber as string,
    partitionKey: record.PartitionKey as string,
    data: record.Data ?? new Uint8Array(),
    arrivalMs: record.ApproximateArrivalTimestamp?.getTime() ?? Date.now(),
  };
}

/** Stable slot of a partition key: records of one key always share a slot. */
function slotOf(partitionKey: string, slots: number): number {
  if (slots === 1) return 0;
  return fnv1a32Value(partitionKey) % slots;
}
