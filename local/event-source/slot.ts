/**
 * One slot of a shard: a sequential stream of batches (a shard has as many slots as its
 * parallelization factor; a partition key always maps to the same slot). A slot forms batches,
 * invokes the handler, and applies Lambda's error handling: partial batch responses, bisection,
 * retries, record age, the on-failure destination, and chaos redeliveries.
 */
import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID } from '../endpoints';
import { InvalidBatchResponseError, InvocationTimeoutError } from './errors';
import type { RunnerHost, SlotOwner, StreamRecord } from './host';
import { Signal } from './signal';
import type { ChaosScope } from '../chaos/types';
import { DEFAULT_FUNCTION_NAME } from './settings';
import type { KinesisOnFailureRecord, RunnerLogEvent, RunnerLogLevel } from './types';

/** A record waiting in a slot, with when it was read (for the batching window). */
export interface Buffered {
  readonly record: StreamRecord;
  readonly readAtMs: number;
}

/** A slice of a batch still to be processed. */
interface Segment {
  records: StreamRecord[];
  /** Retry attempts consumed (bisection consumes none). */
  attempts: number;
  /** Invocations these records have been part of. */
  invocations: number;
  /** How the last invocation of these records ended, for the on-failure record. */
  lastResponse?: KinesisOnFailureRecord['responseContext'];
}

type Outcome =
  | { readonly kind: 'success' }
  | { readonly kind: 'partial'; readonly index: number }
  /** `functionError` is set when the function itself failed (threw, crashed, timed out). */
  | { readonly kind: 'error'; readonly error: unknown; readonly functionError?: 'Unhandled' };

/** One sequential stream of batches within a shard (one per unit of parallelization factor). */
export class Slot {
  private readonly queue: Buffered[] = [];
  private readonly signal = new Signal();
  /** Recently succeeded records, oldest first, for chaos redeliveries. */
  private history: StreamRecord[] = [];
  private failuresInARow = 0;
  busy = false;

  constructor(
    private readonly shard: SlotOwner,
    readonly index: number,
  ) {}

  get buffered(): number {
    return this.queue.length;
  }

  private get runner(): RunnerHost {
    return this.shard.runner;
  }

  push(entry: Buffered): void {
    this.queue.push(entry);
    this.signal.notify();
  }

  wake(): void {
    this.signal.notify();
  }

  async run(): Promise<void> {
    const { batchSize, maxBatchingWindowMs } = this.runner.options;
    while (!this.runner.stopping) {
      if (this.queue.length === 0) {
        if (this.shard.readComplete) return;
        await this.signal.wait(Number.POSITIVE_INFINITY);
        continue;
      }
      const full = this.queue.length >= batchSize;
      const waitMs = full ? 0 : this.queue[0].readAtMs + maxBatchingWindowMs - Date.now();
      // A drain closes the batch once nothing more is coming (the shard's reads are at its tip).
      const nothingMore = this.shard.readComplete || (this.runner.flushing && this.shard.atTip);
      if (waitMs > 0 && !nothingMore) {
        await this.signal.wait(waitMs);
        continue;
      }
      const batch = this.queue.splice(0, batchSize).map((entry) => entry.record);
      this.busy = true;
      try {
        this.runner.counters.batches++;
        const succeeded = await this.process(batch, false);
        await this.maybeRedeliver(succeeded);
      } finally {
        this.busy = false;
      }
    }
  }

  /** Processes `records` to the end (success, on-failure or stop); returns how many succeeded. */
  private async process(records: StreamRecord[], redelivery: boolean): Promise<number> {
    const { retryAttempts, bisectBatchOnError } = this.runner.options;
    const segments: Segment[] = [{ records, attempts: 0, invocations: 0 }];
    let succeeded = 0;
    while (segments.length > 0) {
      if (this.runner.stopping) return succeeded;
      const segment = segments[0];
      await this.sendExpired(segment);
      if (segment.records.length === 0) {
        segments.shift();
        continue;
      }
      const isRetry = segment.lastResponse !== undefined;
      if (isRetry) {
        this.runner.counters.retries++;
        await this.runner.backoff(this.failuresInARow);
        if (this.runner.stopping) return succeeded;
      }
      const outcome = await this.invoke(segment.records, redelivery);
      segment.invocations++;
      if (outcome.kind === 'success') {
        this.done(segment.records, redelivery);
        succeeded += segment.records.length;
        segments.shift();
        continue;
      }
      this.failuresInARow++;
      if (outcome.kind === 'partial') {
        this.runner.counters.partialBatchFailures++;
        const ok = segment.records.slice(0, outcome.index);
        this.done(ok, redelivery);
        succeeded += ok.length;
        const rest = segment.records.slice(outcome.index);
        // Progress resets the count: the retry budget is per record at the head of the batch.
        segment.attempts = (outcome.index > 0 ? 0 : segment.attempts) + 1;
        segment.records = rest;
        segment.lastResponse = { statusCode: 200, executedVersion: '$LATEST' };
        this.log('info', 'batch.partial-failure', `retrying from ${rest[0].sequenceNumber}`, {
          checkpointedRecords: ok.length,
          remainingRecords: rest.length,
          attempts: segment.attempts,
        });
      } else {
        segment.lastResponse = {
          statusCode: 200,
          executedVersion: '$LATEST',
          ...(outcome.functionError ? { functionError: outcome.functionError } : {}),
        };
        if (bisectBatchOnError && segment.records.length > 1) {
          const half = Math.ceil(segment.records.length / 2);
          const halves: Segment[] = [segment.records.slice(0, half), segment.records.slice(half)].map(
            (part) => ({
              records: part,
              attempts: segment.attempts,
              invocations: segment.invocations,
              lastResponse: segment.lastResponse,
            }),
          );
          segments.splice(0, 1, ...halves);
          this.runner.counters.bisections++;
          this.log('info', 'batch.bisected', `split ${segment.records.length} records in two`, {
            error: describe(outcome.error),
          });
          continue;
        }
        segment.attempts++;
      }
      if (retryAttempts >= 0 && segment.attempts > retryAttempts) {
        this.log(
          'warn',
          'records.retries-exhausted',
          `giving up ${segment.records.length} records after ${segment.attempts} attempts`,
        );
        await this.sendToOnFailure(segment, 'RetryAttemptsExhausted');
        segments.shift();
      }
    }
    return succeeded;
  }

  private async maybeRedeliver(lastBatchLength: number): Promise<void> {
    const chaos = this.runner.options.chaos;
    if (!chaos || lastBatchLength === 0 || this.runner.stopping) return;
    const range = chaos.planRedelivery(this.scope(), {
      historyLength: this.history.length,
      lastBatchLength,
      batchSize: this.runner.options.batchSize,
    });
    if (!range) return;
    const records = this.history.slice(range.start, range.end);
    this.runner.counters.redeliveries++;
    this.runner.counters.redeliveredRecords += records.length;
    this.log('info', 'batch.redelivered', `chaos: delivering ${records.length} records again`, {
      from: records[0].sequenceNumber,
      to: records[records.length - 1].sequenceNumber,
    });
    await this.process(records, true);
  }

  private done(records: readonly StreamRecord[], redelivery: boolean): void {
    if (records.length === 0) return;
    this.failuresInARow = 0;
    if (redelivery) return;
    this.runner.counters.recordsSucceeded += records.length;
    this.shard.complete(records);
    const { batchSize } = this.runner.options;
    this.history.push(...records);
    if (this.history.length > 2 * batchSize) this.history = this.history.slice(-2 * batchSize);
  }

  private async invoke(records: StreamRecord[], redelivery: boolean): Promise<Outcome> {
    const { functionTimeoutMs, chaos } = this.runner.options;
    const event: KinesisStreamEvent = { Records: records.map((record) => this.toEventRecord(record)) };
    const context = this.runner.createContext();
    this.runner.counters.invocations++;
    this.log('debug', 'batch.invoked', `invoking with ${records.length} records`, {
      requestId: context.awsRequestId,
      first: records[0].sequenceNumber,
      last: records[records.length - 1].sequenceNumber,
      redelivery,
    });
    const faults = chaos?.beginInvocation(this.scope());
    const call = (): Promise<KinesisStreamBatchResponse | void> =>
      Promise.resolve().then(() => this.runner.options.handler(event, context));
    const pending = faults ? faults.run(call) : call();
    let outcome: Outcome;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), functionTimeoutMs);
    });
    const settled = pending.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    const first = await Promise.race([settled, timeout]);
    clearTimeout(timer);
    if (first === 'timeout') {
      this.runner.counters.timeouts++;
      // A local process cannot freeze the handler: wait for it so invocations never overlap.
      await settled;
      const seconds = (functionTimeoutMs / 1000).toFixed(2);
      outcome = {
        kind: 'error',
        error: new InvocationTimeoutError(`Task timed out after ${seconds} seconds`),
        functionError: 'Unhandled',
      };
    } else if ('error' in first) {
      outcome = { kind: 'error', error: first.error, functionError: 'Unhandled' };
    } else {
      outcome = this.interpret(first.value, records);
    }
    const crash = faults?.settle();
    if (crash) outcome = { kind: 'error', error: crash, functionError: 'Unhandled' };
    if (outcome.kind !== 'success') {
      this.runner.counters.failedInvocations++;
      this.log(
        'info',
        'batch.failed',
        `invocation failed: ${describe(outcome.kind === 'error' ? outcome.error : 'partial batch failure')}`,
        {
          requestId: context.awsRequestId,
          records: records.length,
        },
      );
    } else {
      this.log('debug', 'batch.succeeded', `${records.length} records done`, {
        requestId: context.awsRequestId,
      });
    }
    return outcome;
  }

  /** Reads a handler response with ReportBatchItemFailures semantics. */
  private interpret(response: unknown, records: readonly StreamRecord[]): Outcome {
    if (!this.runner.options.reportBatchItemFailures) return { kind: 'success' };
    if (response === undefined || response === null || typeof response !== 'object')
      return { kind: 'success' };
    const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
    if (failures === undefined || failures === null) return { kind: 'success' };
    const invalid = (why: string): Outcome => ({
      kind: 'error',
      // The function returned normally; only its answer fails the batch.
      error: new InvalidBatchResponseError(`batchItemFailures ${why}: the whole batch failed`),
    });
    if (!Array.isArray(failures)) return invalid('is not a list');
    if (failures.length === 0) return { kind: 'success' };
    const index = new Map(records.map((record, i) => [record.sequenceNumber, i]));
    let lowest = Number.POSITIVE_INFINITY;
    for (const failure of failures as unknown[]) {
      const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      if (typeof id !== 'string' || id === '') return invalid(`has an empty or missing itemIdentifier`);
      const position = index.get(id);
      if (position === undefined) return invalid(`names ${JSON.stringify(id)}, which is not in the batch`);
      lowest = Math.min(lowest, position);
    }
    return { kind: 'partial', index: lowest };
  }

  /** Sends records older than maxRecordAge at the head of the segment to the on-failure destination. */
  private async sendExpired(segment: Segment): Promise<void> {
    const { maxRecordAgeMs } = this.runner.options;
    if (maxRecordAgeMs < 0) return;
    const cutoff = Date.now() - maxRecordAgeMs;
    let count = 0;
    while (count < segment.records.length && segment.records[count].arrivalMs < cutoff) count++;
    if (count === 0) return;
    const expired: Segment = { ...segment, records: segment.records.slice(0, count) };
    segment.records = segment.records.slice(count);
    this.log('warn', 'records.expired', `${count} records older than ${maxRecordAgeMs} ms`);
    await this.sendToOnFailure(expired, 'RecordAgeExceeded');
  }

  private async sendToOnFailure(
    segment: Segment,
    condition: KinesisOnFailureRecord['requestContext']['condition'],
  ): Promise<void> {
    const { onFailure } = this.runner.options;
    const records = segment.records;
    const first = records[0];
    const last = records[records.length - 1];
    const document: KinesisOnFailureRecord = {
      requestContext: {
        requestId: randomUUID(),
        functionArn: this.runner.functionArn(),
        condition,
        approximateInvokeCount: segment.invocations,
      },
      ...(segment.lastResponse ? { responseContext: segment.lastResponse } : {}),
      version: '1.0',
      timestamp: new Date().toISOString(),
      KinesisBatchInfo: {
        shardId: this.shard.shardId,
        startSequenceNumber: first.sequenceNumber,
        endSequenceNumber: last.sequenceNumber,
        approximateArrivalOfFirstRecord: new Date(first.arrivalMs).toISOString(),
        approximateArrivalOfLastRecord: new Date(last.arrivalMs).toISOString(),
        batchSize: records.length,
        streamArn: this.runner.streamArn,
      },
    };
    if (!onFailure) {
      this.runner.counters.recordsDiscarded += records.length;
      this.log('warn', 'records.discarded', `no on-failure destination: dropped ${records.length} records`, {
        ...document.KinesisBatchInfo,
      });
    } else {
      // Like the event source mapping, keep trying: the records must not be lost silently.
      for (let attempt = 1; ; attempt++) {
        try {
          await onFailure.sqs.send(
            new SendMessageCommand({ QueueUrl: onFailure.queueUrl, MessageBody: JSON.stringify(document) }),
          );
          break;
        } catch (error) {
          this.log(
            'error',
            'onfailure.error',
            `sending to the on-failure queue failed: ${(error as Error).message}`,
          );
          if (this.runner.stopping && attempt >= 3) return;
          await this.runner.backoff(attempt);
        }
      }
      this.runner.counters.onFailureMessages++;
      this.runner.counters.recordsSentToOnFailure += records.length;
      this.log(
        'warn',
        'onfailure.sent',
        `${records.length} records sent to the on-failure queue (${condition})`,
        {
          ...document.KinesisBatchInfo,
        },
      );
    }
    // The records are given up on; the checkpoint moves past them.
    this.shard.complete(records);
  }

  private toEventRecord(record: StreamRecord): KinesisStreamRecord {
    const { functionName } = this.runner.options;
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: record.partitionKey,
        sequenceNumber: record.sequenceNumber,
        data: Buffer.from(record.data).toString('base64'),
        approximateArrivalTimestamp: record.arrivalMs / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${this.shard.shardId}:${record.sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${functionName}-role`,
      awsRegion: this.runner.region,
      eventSourceARN: this.runner.streamArn,
    };
  }

  /** Where chaos draws this slot's faults: per consumer when the runner is not the default one. */
  private scope(): ChaosScope {
    const { functionName } = this.runner.options;
    const consumer = functionName === DEFAULT_FUNCTION_NAME ? {} : { consumer: functionName };
    return { shardId: this.shard.shardId, slot: this.index, ...consumer };
  }

  private log(
    level: RunnerLogLevel,
    event: RunnerLogEvent,
    message: string,
    details?: Record<string, unknown>,
  ): void {
    this.runner.log(level, event, message, { shardId: this.shard.shardId, slot: this.index }, details);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
