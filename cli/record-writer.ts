/**
 * Puts records into a Kinesis stream with PutRecords: up to 500 records and 5 MiB per call, and when
 * a call partly fails, only the failed entries are sent again (with backoff), never the whole call,
 * so a partial failure does not duplicate the records that were accepted.
 *
 * Works the same against AWS and kinesalite; the client decides which.
 */
import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { OutgoingRecord } from '../contract/stream-record';
import { UserError } from '../contract/user-error';

/** Where Kinesis stored a record. */
export interface PutResult {
  readonly shardId: string;
  readonly sequenceNumber: string;
}

export interface RecordWriterOptions {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  /** Records per PutRecords call, 1–500. @default 500 */
  readonly maxRecordsPerCall?: number;
  /** Bytes (data + partition keys) per call, at most 5 MiB. @default 5 MiB */
  readonly maxBytesPerCall?: number;
  /** Attempts per record (and per call on retryable call errors) before giving up. @default 10 */
  readonly maxAttempts?: number;
  /** First backoff after a failure; doubles per attempt. @default 100 */
  readonly backoffMs?: number;
  /** @default 5000 */
  readonly maxBackoffMs?: number;
  /** @default setTimeout-based */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface RecordWriterStats {
  calls: number;
  /** Records accepted by Kinesis. */
  records: number;
  /** Entries sent again because Kinesis rejected them in a call that otherwise succeeded. */
  retriedEntries: number;
  /** Whole calls that failed and were sent again. */
  retriedCalls: number;
}

/** Kinesis limits for PutRecords. */
export const MAX_RECORDS_PER_CALL = 500;
export const MAX_BYTES_PER_CALL = 5 * 1024 * 1024;
export const MAX_RECORD_BYTES = 1024 * 1024;

/** Raised when records are still rejected after every attempt. */
export class RecordsNotPutError extends Error {
  public override readonly name = 'RecordsNotPutError';
}

/** Raised for a record Kinesis can never accept (too large, bad partition key). */
export class RecordRejectedError extends UserError {
  public override readonly name = 'RecordRejectedError';
}

const RETRYABLE_CALL_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'LimitExceededException',
  'InternalFailure',
  'InternalFailureException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'KMSThrottlingException',
]);

function isRetryableCallError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if ((error as { $retryable?: unknown }).$retryable) return true;
  if (RETRYABLE_CALL_ERRORS.has(error.name)) return true;
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT';
}

function recordBytes(record: OutgoingRecord): number {
  return record.data.byteLength + Buffer.byteLength(record.partitionKey, 'utf8');
}

/** Checks a record against the Kinesis limits; throws `RecordRejectedError` naming the problem. */
export function checkRecord(record: OutgoingRecord, what = 'record'): void {
  const keyLength = [...record.partitionKey].length;
  if (keyLength < 1 || keyLength > 256) {
    throw new RecordRejectedError(`${what}: partition key must be 1–256 characters (got ${keyLength})`);
  }
  if (record.data.byteLength > MAX_RECORD_BYTES) {
    throw new RecordRejectedError(
      `${what}: ${record.data.byteLength} bytes; a Kinesis record holds at most ${MAX_RECORD_BYTES} bytes`,
    );
  }
}

/** Splits records, in order, into PutRecords-sized groups. */
export function splitIntoCalls(
  records: readonly OutgoingRecord[],
  maxRecords = MAX_RECORDS_PER_CALL,
  maxBytes = MAX_BYTES_PER_CALL,
): OutgoingRecord[][] {
  const calls: OutgoingRecord[][] = [];
  let current: OutgoingRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = recordBytes(record);
    if (current.length > 0 && (current.length >= maxRecords || bytes + size > maxBytes)) {
      calls.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) calls.push(current);
  return calls;
}

export class RecordWriter {
  readonly stats: RecordWriterStats = { calls: 0, records: 0, retriedEntries: 0, retriedCalls: 0 };
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: RecordWriterOptions) {
    this.maxRecords = options.maxRecordsPerCall ?? MAX_RECORDS_PER_CALL;
    this.maxBytes = options.maxBytesPerCall ?? MAX_BYTES_PER_CALL;
    this.maxAttempts = options.maxAttempts ?? 10;
    if (!Number.isInteger(this.maxRecords) || this.maxRecords < 1 || this.maxRecords > MAX_RECORDS_PER_CALL) {
      throw new RangeError(`maxRecordsPerCall: got ${this.maxRecords}; must be an integer between 1 and 500`);
    }
    if (!(this.maxBytes >= 1 && this.maxBytes <= MAX_BYTES_PER_CALL)) {
      throw new RangeError(
        `maxBytesPerCall: got ${this.maxBytes}; must be between 1 and ${MAX_BYTES_PER_CALL}`,
      );
    }
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Puts every record, one call after the other (so the stream keeps their order); results align with `records`. */
  async putAll(records: readonly OutgoingRecord[], onProgress?: (put: number) => void): Promise<PutResult[]> {
    const results: PutResult[] = [];
    for (const call of splitIntoCalls(records, this.maxRecords, this.maxBytes)) {
      results.push(...(await this.putCall(call)));
      onProgress?.(results.length);
    }
    return results;
  }

  /**
   * Puts at most one call's worth of records (see `splitIntoCalls`): sends them, then sends again
   * only the entries Kinesis rejected, until all are in or `maxAttempts` is reached.
   */
  async putCall(records: readonly OutgoingRecord[]): Promise<PutResult[]> {
    records.forEach((record, i) => checkRecord(record, `record ${i + 1} of the call`));
    const results = new Array<PutResult | undefined>(records.length);
    let pending = records.map((_, i) => i);
    let lastError = '';
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > this.maxAttempts) {
        throw new RecordsNotPutError(
          `${pending.length} records were still rejected by Kinesis after ${this.maxAttempts} attempts (last error: ${lastError})`,
        );
      }
      if (attempt > 1) await this.sleep(this.backoff(attempt - 1));
      const entries: PutRecordsRequestEntry[] = pending.map((i) => ({
        Data: records[i].data,
        PartitionKey: records[i].partitionKey,
        ...(records[i].explicitHashKey === undefined ? {} : { ExplicitHashKey: records[i].explicitHashKey }),
      }));
      this.stats.calls++;
      let response;
      try {
        response = await this.options.kinesis.send(
          new PutRecordsCommand({ StreamName: this.options.streamName, Records: entries }),
        );
      } catch (error) {
        if (!isRetryableCallError(error)) throw error;
        this.stats.retriedCalls++;
        lastError = `${(error as Error).name}: ${(error as Error).message}`;
        continue;
      }
      const answers = response.Records ?? [];
      const failed: number[] = [];
      pending.forEach((index, position) => {
        const answer = answers[position];
        if (answer?.SequenceNumber && answer.ShardId && !answer.ErrorCode) {
          results[index] = { shardId: answer.ShardId, sequenceNumber: answer.SequenceNumber };
        } else {
          failed.push(index);
          lastError = `${answer?.ErrorCode ?? 'no result'}: ${answer?.ErrorMessage ?? 'missing from the response'}`;
        }
      });
      this.stats.records += pending.length - failed.length;
      this.stats.retriedEntries += failed.length;
      pending = failed;
    }
    // The loop above leaves a result for every record or throws.
    return results as PutResult[];
  }

  private backoff(failures: number): number {
    const base = this.options.backoffMs ?? 100;
    const max = this.options.maxBackoffMs ?? 5_000;
    return Math.min(max, base * 2 ** (failures - 1));
  }
}
