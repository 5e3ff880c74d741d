/**
 * Reads records back from the Kinesis stream for the speed-layer repair: a given-up range (from its
 * first to its last sequence number), and a shard from an instant up to a sequence number, as Lambda
 * would have delivered them (`KinesisStreamRecord`, base64 data, `shardId:sequence` event ids).
 *
 * Cost: GetRecords returns up to `pageSize` records (and 10 MB) a call, and a shard allows 5 calls a
 * second; the SDK retries a throttled call. Records are handed on page by page, never all kept here.
 */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamRecord } from 'aws-lambda';
import { compareSequences } from '../../core/sequence';

export interface StreamReaderOptions {
  readonly client: KinesisClient;
  readonly streamName: string;
  readonly streamArn: string;
  /** Records per GetRecords call, 1–10000. @default 10,000 */
  readonly pageSize?: number;
}

/** A shard being read forward from an instant (`StreamReader.scanFrom`). */
export interface ShardScan {
  readonly shardId: string;
  /** Reads on until a record at or above `sequenceNumber` has been read, or the shard's end. */
  readThrough(sequenceNumber: string): Promise<void>;
}

export class StreamReader {
  private readonly pageSize: number;
  private readonly region: string;

  constructor(private readonly options: StreamReaderOptions) {
    this.pageSize = options.pageSize ?? 10_000;
    this.region = options.streamArn.split(':')[3] ?? '';
  }

  /** The records of `shardId` from `first` to `last` (sequence numbers, inclusive), in order. */
  async readRange(shardId: string, first: string, last: string): Promise<KinesisStreamRecord[]> {
    const records: KinesisStreamRecord[] = [];
    let iterator = await this.iterator({
      ShardId: shardId,
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      StartingSequenceNumber: first,
    });
    while (iterator) {
      const page = await this.options.client.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: this.pageSize }),
      );
      const all = page.Records ?? [];
      for (const r of all) {
        if (compareSequences(r.SequenceNumber as string, last) > 0) return records;
        records.push(this.toLambdaRecord(shardId, r));
      }
      if (all.length === 0 && (page.MillisBehindLatest ?? 0) === 0) return records;
      iterator = page.NextShardIterator;
    }
    return records;
  }

  /**
   * A scan of `shardId` from the first record that arrived at or after `fromMs` (the oldest in the
   * stream if that is older), handing each record read to `onRecord` in order.
   */
  scanFrom(shardId: string, fromMs: number, onRecord: (record: KinesisStreamRecord) => void): ShardScan {
    let iterator: Promise<string | undefined> | undefined;
    let lastRead: string | undefined;
    let ended = false;
    const readThrough = async (sequenceNumber: string): Promise<void> => {
      iterator ??= this.iterator({
        ShardId: shardId,
        ShardIteratorType: 'AT_TIMESTAMP',
        Timestamp: new Date(Math.max(0, fromMs)),
      });
      let current = await iterator;
      while (!ended && (lastRead === undefined || compareSequences(lastRead, sequenceNumber) < 0)) {
        if (!current) {
          ended = true;
          break;
        }
        const page = await this.options.client.send(
          new GetRecordsCommand({ ShardIterator: current, Limit: this.pageSize }),
        );
        const all = page.Records ?? [];
        for (const r of all) {
          lastRead = r.SequenceNumber as string;
          onRecord(this.toLambdaRecord(shardId, r));
        }
        current = page.NextShardIterator;
        // At the tip: nothing more to read now (a live record above the target cannot be missing).
        if (all.length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
      }
      iterator = Promise.resolve(current);
    };
    return { shardId, readThrough };
  }

  private async iterator(
    input: Omit<GetShardIteratorCommandInput, 'StreamName' | 'StreamARN'>,
  ): Promise<string | undefined> {
    const result = await this.options.client.send(
      new GetShardIteratorCommand({ ...input, StreamName: this.options.streamName }),
    );
    return result.ShardIterator;
  }

  private toLambdaRecord(shardId: string, r: _Record): KinesisStreamRecord {
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: r.PartitionKey as string,
        sequenceNumber: r.SequenceNumber as string,
        data: Buffer.from(r.Data as Uint8Array).toString('base64'),
        approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp as Date).getTime() / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${r.SequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/sluice-speed-repair',
      awsRegion: this.region,
      eventSourceARN: this.options.streamArn,
    };
  }
}
