/**
 * Local stand-in for the Firehose delivery stream of `lib/raw-landing.ts`: reads the ingest stream
 * (kinesalite, through the AWS SDK) with its own shard iterators and lands the records in the local
 * lake exactly as Firehose lands them in S3, so the local batch job reads what AWS would hold:
 *
 * - each record followed by `\n` (Firehose's AppendDelimiterToRecord), gzip-compressed; a KPL
 *   aggregated record is de-aggregated first, each user record followed by `\n` (Firehose does this
 *   for a Kinesis stream source by itself), so every event is one line whatever the packing (an
 *   NDJSON record keeps its lines; one ending in `\n` leaves an empty line, which holds no event);
 *   an aggregate that does not decode (wrong MD5, broken protobuf) lands as it is;
 * - one buffer, delivered when it reaches the size limit or has been open for the buffer interval;
 * - an object's key comes from the arrival time (ApproximateArrivalTimestamp) of its oldest record:
 *   `raw/dt=YYYY-MM-DD/hour=HH/<delivery stream>-1-YYYY-MM-DD-HH-MM-SS-<id>.gz` (UTC).
 *
 * Objects are written to a hidden temporary file and renamed, so readers never see half an object.
 * `flush()` lands everything that is in the stream when it is called; `stop()` flushes and stops.
 * With a `checkpointStore`, the last record landed from each shard is saved after every delivery,
 * and a Firehose started again on the same stream continues after it (at least once, as Firehose:
 * a crash between a delivery and its save lands those records again).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type _Record as KinesisRecord,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { DEFAULT_CONFIG, durationMs } from '../contract/config';
import { isKplRecord, kplUserRecords, ndjsonLines } from '../core/record-packing';
import { dayPartition, hourPartition, LAKE_PREFIXES } from '../contract/lake-layout';
import {
  describeStreamIdentity,
  isOfStream,
  type CheckpointStore,
  type ShardCheckpoint,
  type StreamCheckpoints,
  type StreamIdentity,
} from './event-source/checkpoint-store';

const gzip = promisify(zlib.gzip);
const MIB = 1024 * 1024;
const NEWLINE = Buffer.from('\n');

export interface LocalFirehoseOptions {
  /** Client for the stream's emulator (see `createLocalClients` in `local/endpoints.ts`). */
  readonly kinesis: KinesisClient;
  /** The ingest stream to read. */
  readonly streamName: string;
  /** The local lake directory; objects go under its `raw/`. */
  readonly lakeDir: string;
  /**
   * Name at the start of every object name, as Firehose uses its delivery stream's name.
   * @default `${streamName}-raw`
   */
  readonly deliveryStreamName?: string;
  /**
   * Deliver once this many bytes (records plus delimiters) are buffered (config `firehose.bufferSizeMiB`).
   * @default 64 MiB
   */
  readonly bufferSizeBytes?: number;
  /**
   * Deliver once the oldest buffered record has waited this long (config `firehose.bufferInterval`).
   * @default 60000
   */
  readonly bufferIntervalMs?: number;
  /**
   * Pause between polls of the shards while running.
   * @default 250
   */
  readonly pollIntervalMs?: number;
  /**
   * Where reading starts in shards that exist at the first poll. Shards that appear later (after a
   * reshard) are always read from their start.
   * @default 'TRIM_HORIZON'
   */
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  /**
   * Told about errors of the background poll, which then carries on at the next poll.
   * `flush()` and `stop()` reject instead.
   * @default - errors are written to stderr
   */
  readonly onError?: (error: unknown) => void;
  /** Wall clock for the buffer interval; tests may replace it. @default Date.now */
  readonly clock?: () => number;
  /**
   * Where the last record landed from each shard is saved (after every delivery), under the stream's
   * name and the delivery stream's name. A Firehose started with saved positions of this stream reads
   * each shard after its saved record, and shards it has none for from TRIM_HORIZON.
   * @default - positions live in memory; a new Firehose starts at `startingPosition`
   */
  readonly checkpointStore?: CheckpointStore;
}

/** What a `flush()` delivered. */
export interface FlushResult {
  /** Records read from the stream during this flush. */
  readonly recordsRead: number;
  /** Objects written during this flush. */
  readonly objectsWritten: number;
}

interface ShardCursor {
  readonly shardId: string;
  iterator?: string;
  lastSequenceNumber?: string;
  closed: boolean;
  readonly position: 'TRIM_HORIZON' | 'LATEST';
}

let idCounter = 0;

/**
 * A UUID-shaped id whose first 48 bits are `ms` (like UUIDv7), then a per-process counter: ids sort
 * in write order, so object names of one second still sort by arrival.
 */
export function timeOrderedId(ms: number): string {
  const time = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12);
  idCounter = (idCounter + 1) % 0x1000;
  const counter = idCounter.toString(16).padStart(3, '0');
  const random = randomBytes(8).toString('hex');
  const variant = ((parseInt(random.slice(0, 1), 16) & 0x3) | 0x8).toString(16);
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${counter}-${variant}${random.slice(1, 4)}-${random.slice(4, 16)}`;
}

/** The key (relative to the lake) of an object whose oldest record arrived at `arrivalMs`. */
export function rawObjectKey(
  deliveryStreamName: string,
  arrivalMs: number,
  id = timeOrderedId(arrivalMs),
): string {
  const iso = new Date(arrivalMs).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const day = iso.slice(0, 10);
  const hour = iso.slice(11, 13);
  const stamp = `${day}-${hour}-${iso.slice(14, 16)}-${iso.slice(17, 19)}`;
  return `${LAKE_PREFIXES.raw}${dayPartition(day)}${hourPartition(hour)}${deliveryStreamName}-1-${stamp}-${id}.gz`;
}

/**
 * Writes one raw object: every record followed by `\n`, gzip-compressed, at the key for `arrivalMs`.
 * Returns the object's path. Used by the local Firehose and by anything that needs a lake with known
 * arrival times (benchmarks, tests).
 */
export async function writeRawObject(
  lakeDir: string,
  deliveryStreamName: string,
  records: readonly Uint8Array[],
  arrivalMs: number,
): Promise<string> {
  const parts: Uint8Array[] = [];
  for (const record of records) parts.push(record, NEWLINE);
  const body = await gzip(Buffer.concat(parts));
  const file = path.join(lakeDir, rawObjectKey(deliveryStreamName, arrivalMs));
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  await fs.promises.writeFile(temporary, body);
  await fs.promises.rename(temporary, file);
  return file;
}

/** Reads a Kinesis stream and lands it in a local lake the way Firehose does. */
export class LocalFirehose {
  private readonly deliveryStreamName: string;
  private readonly bufferSizeBytes: number;
  private readonly bufferIntervalMs: number;
  private readonly pollIntervalMs: number;
  private readonly clock: () => number;
  private readonly shards = new Map<string, ShardCursor>();
  private buffer: Uint8Array[] = [];
  private bufferedBytes = 0;
  private oldestArrivalMs = 0;
  private bufferOpenedAt = 0;
  private polledOnce = false;
  /** Per shard: the last record landed, and the last one buffered (landed by the next delivery). */
  private readonly landed = new Map<string, ShardCheckpoint>();
  private readonly bufferedThrough = new Map<string, string>();
  private checkpointStream: StreamIdentity | undefined;
  private resumed: StreamCheckpoints['shards'] | undefined;
  private running = false;
  private timer?: NodeJS.Timeout;
  /** Serialises polls, flushes and deliveries: only one touches the shards or the buffer at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private counters = { recordsRead: 0, recordsLanded: 0, objectsWritten: 0, bytesLanded: 0 };
  /** Events (non-empty lines) of the buffered pieces. */
  private bufferedEvents = 0;

  constructor(private readonly options: LocalFirehoseOptions) {
    this.deliveryStreamName = options.deliveryStreamName ?? `${options.streamName}-raw`;
    this.bufferSizeBytes = options.bufferSizeBytes ?? DEFAULT_CONFIG.firehose.bufferSizeMiB * MIB;
    this.bufferIntervalMs = options.bufferIntervalMs ?? durationMs(DEFAULT_CONFIG.firehose.bufferInterval);
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.clock = options.clock ?? Date.now;
    if (!(this.bufferSizeBytes > 0))
      throw new RangeError(`bufferSizeBytes must be positive (given ${this.bufferSizeBytes})`);
    if (!(this.bufferIntervalMs >= 0))
      throw new RangeError(`bufferIntervalMs must not be negative (given ${this.bufferIntervalMs})`);
  }

  /** Records read from the stream so far. */
  get recordsRead(): number {
    return this.counters.recordsRead;
  }

  /** Events written to the lake so far: its non-empty lines (packed records land one line per event). */
  get recordsLanded(): number {
    return this.counters.recordsLanded;
  }

  /** Objects written to the lake so far. */
  get objectsWritten(): number {
    return this.counters.objectsWritten;
  }

  /** Uncompressed bytes (records plus delimiters) written so far. */
  get bytesLanded(): number {
    return this.counters.bytesLanded;
  }

  /** Events (lines) read but not yet delivered. */
  get recordsBuffered(): number {
    return this.bufferedEvents;
  }

  /** Starts polling the stream in the background; deliveries follow the buffer hints. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  /**
   * Reads every shard up to the records present now and delivers the buffer, whatever its size or
   * age. When it resolves, every record put before the call is in the lake.
   */
  flush(): Promise<FlushResult> {
    return this.exclusive(async () => {
      const before = { ...this.counters };
      while ((await this.pollShards()) > 0) {
        // keep reading until a full pass over the shards finds nothing new
      }
      await this.deliver();
      return {
        recordsRead: this.counters.recordsRead - before.recordsRead,
        objectsWritten: this.counters.objectsWritten - before.objectsWritten,
      };
    });
  }

  /** Stops polling, then lands everything in the stream (like `flush()`). */
  async stop(): Promise<FlushResult> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return this.flush();
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.exclusive(async () => {
        await this.pollShards();
        if (this.buffer.length > 0 && this.clock() - this.bufferOpenedAt >= this.bufferIntervalMs)
          await this.deliver();
      })
        .catch((error: unknown) => this.report(error))
        .finally(() => this.schedule());
    }, this.pollIntervalMs);
  }

  private report(error: unknown): void {
    if (this.options.onError) this.options.onError(error);
    else process.stderr.write(`local firehose: ${error instanceof Error ? error.message : String(error)}\n`);
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** One pass over every open shard; returns the number of records read. */
  private async pollShards(): Promise<number> {
    await this.refreshShards();
    let read = 0;
    for (const cursor of this.shards.values()) {
      if (!cursor.closed) read += await this.pollShard(cursor);
    }
    return read;
  }

  private async refreshShards(): Promise<void> {
    const found: Shard[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.options.kinesis.send(
        new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: this.options.streamName }),
      );
      found.push(...(page.Shards ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    if (!this.polledOnce) await this.loadCheckpoints();
    const firstPosition = this.resumed ? 'TRIM_HORIZON' : (this.options.startingPosition ?? 'TRIM_HORIZON');
    for (const shard of found) {
      const shardId = shard.ShardId as string;
      if (!this.shards.has(shardId)) {
        const saved = this.polledOnce ? undefined : this.resumed?.[shardId];
        if (saved) this.landed.set(shardId, saved);
        this.shards.set(shardId, {
          shardId,
          closed: saved?.finished === true,
          lastSequenceNumber: saved?.sequenceNumber,
          position: this.polledOnce ? 'TRIM_HORIZON' : firstPosition,
        });
      }
    }
    this.polledOnce = true;
  }

  /** Reads the positions saved for this stream (not for an earlier stream of the same name). */
  private async loadCheckpoints(): Promise<void> {
    const store = this.options.checkpointStore;
    if (!store) return;
    this.checkpointStream = await describeStreamIdentity(this.options.kinesis, this.options.streamName);
    const saved = await store.load(this.checkpointKey());
    if (saved && isOfStream(saved, this.checkpointStream)) this.resumed = saved.shards;
  }

  private checkpointKey(): { streamName: string; consumer: string } {
    return { streamName: this.options.streamName, consumer: this.deliveryStreamName };
  }

  /** Saves what the delivery just landed; a failed save only means those records land again after a restart. */
  private async saveCheckpoints(): Promise<void> {
    const store = this.options.checkpointStore;
    if (!store || !this.checkpointStream) return;
    for (const [shardId, sequenceNumber] of this.bufferedThrough)
      this.landed.set(shardId, { sequenceNumber });
    this.bufferedThrough.clear();
    for (const cursor of this.shards.values()) {
      const landed = this.landed.get(cursor.shardId);
      if (cursor.closed && !landed?.finished) this.landed.set(cursor.shardId, { ...landed, finished: true });
    }
    try {
      await store.save(this.checkpointKey(), {
        ...this.checkpointStream,
        shards: Object.fromEntries(this.landed),
      });
    } catch (error) {
      this.report(error);
    }
  }

  private async pollShard(cursor: ShardCursor): Promise<number> {
    if (cursor.iterator === undefined) {
      const { ShardIterator } = await this.options.kinesis.send(
        new GetShardIteratorCommand({
          StreamName: this.options.streamName,
          ShardId: cursor.shardId,
          ...(cursor.lastSequenceNumber
            ? {
                ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
                StartingSequenceNumber: cursor.lastSequenceNumber,
              }
            : { ShardIteratorType: cursor.position }),
        }),
      );
      cursor.iterator = ShardIterator;
      if (cursor.iterator === undefined) {
        cursor.closed = true;
        return 0;
      }
    }
    let response;
    try {
      response = await this.options.kinesis.send(
        new GetRecordsCommand({ ShardIterator: cursor.iterator, Limit: 10_000 }),
      );
    } catch (error) {
      if (error instanceof ExpiredIteratorException) {
        cursor.iterator = undefined; // picked up again after the last sequence number next time
        return 0;
      }
      throw error;
    }
    const records = response.Records ?? [];
    for (const record of records) await this.add(record, cursor.shardId);
    if (records.length > 0) cursor.lastSequenceNumber = records[records.length - 1].SequenceNumber;
    cursor.iterator = response.NextShardIterator;
    if (cursor.iterator === undefined) cursor.closed = true;
    return records.length;
  }

  private async add(record: KinesisRecord, shardId: string): Promise<void> {
    const data = record.Data ?? new Uint8Array();
    const arrivalMs = record.ApproximateArrivalTimestamp?.getTime() ?? this.clock();
    if (this.buffer.length === 0) {
      this.oldestArrivalMs = arrivalMs;
      this.bufferOpenedAt = this.clock();
    } else {
      this.oldestArrivalMs = Math.min(this.oldestArrivalMs, arrivalMs);
    }
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const pieces = (isKplRecord(bytes) ? kplUserRecords(bytes)?.map((r) => r.data) : undefined) ?? [bytes];
    for (const piece of pieces) {
      this.buffer.push(piece);
      this.bufferedBytes += piece.byteLength + NEWLINE.byteLength;
      this.bufferedEvents += ndjsonLines(piece).length;
    }
    this.bufferedThrough.set(shardId, record.SequenceNumber as string);
    this.counters.recordsRead += 1;
    if (this.bufferedBytes >= this.bufferSizeBytes) await this.deliver();
  }

  private async deliver(): Promise<void> {
    if (this.buffer.length === 0) return;
    const records = this.buffer;
    const bytes = this.bufferedBytes;
    const events = this.bufferedEvents;
    await writeRawObject(this.options.lakeDir, this.deliveryStreamName, records, this.oldestArrivalMs);
    this.buffer = [];
    this.bufferedBytes = 0;
    this.bufferedEvents = 0;
    this.counters.recordsLanded += events;
    this.counters.objectsWritten += 1;
    this.counters.bytesLanded += bytes;
    await this.saveCheckpoints();
  }
}
