/**
 * Writes a batch's invalid records to S3 under `quarantine/`, one NDJSON object per batch.
 * The key is derived from the records (shard and sequence range), so re-processing the same batch
 * overwrites rather than duplicates; a different split of a retried batch may write a record again,
 * which readers remove by (shardId, sequenceNumber, subRecordIndex).
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { dayPartition, LAKE_PREFIXES } from '../../contract/lake-layout';
import type { InvalidReason } from '../../core/event';

export interface QuarantinedRecord {
  readonly reason: InvalidReason;
  /**
   * The invalid event's own bytes (the whole record for a single event or a record quarantined
   * whole, one line or user record of a packed one): UTF-8 text, or base64 when the bytes are not
   * UTF-8 (`dataEncoding`).
   */
  readonly data: string;
  readonly dataEncoding: 'utf8' | 'base64';
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  /** ISO-8601 UTC arrival time in the stream. */
  readonly arrivalTime: string;
  /** The sensor named by the record, when one could be read. */
  readonly sensorId?: string;
  /** How the record packs events (contract v1.1); absent for a record of one event. */
  readonly packing?: 'ndjson' | 'kpl';
  /**
   * The event's index in its packed record (from 0, in the order of its lines or user records);
   * absent for a single event and for a record quarantined whole (`bad_aggregate`, `too_many_lines`).
   */
  readonly subRecordIndex?: number;
}

export function quarantineKey(records: readonly QuarantinedRecord[], nowMs: number): string {
  const day = new Date(nowMs).toISOString().slice(0, 10);
  const first = records[0];
  const last = records[records.length - 1];
  return `${LAKE_PREFIXES.quarantine}${dayPartition(day)}${first.shardId}-${first.sequenceNumber}-${last.sequenceNumber}.ndjson`;
}

export class QuarantineWriter {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async write(records: readonly QuarantinedRecord[], nowMs: number): Promise<string | undefined> {
    if (records.length === 0) return undefined;
    const key = quarantineKey(records, nowMs);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: records.map((r) => JSON.stringify(r)).join('\n') + '\n',
        ContentType: 'application/x-ndjson',
      }),
    );
    return key;
  }
}
