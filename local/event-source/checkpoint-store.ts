/**
 * Where a stream consumer (the local event source runner, the local Firehose) keeps its per-shard
 * checkpoints, so that a consumer started again resumes after the last record it finished instead of
 * at its starting position, as the Lambda event source mapping does on AWS.
 *
 * Two stores: `MemoryCheckpointStore` (checkpoints live as long as the store object; a runner with
 * no store gets a fresh one, so nothing outlives the process) and `FileCheckpointStore` (one JSON
 * document per stream and consumer in a directory, replaced atomically on every save: written to a
 * temporary file, flushed to disk, renamed over the old one; a reader sees the old or the new
 * document, never a torn one).
 *
 * A save replaces every shard's checkpoint at once, so the saved state is always one consistent cut
 * across shards (a child shard's progress is never saved without its parent being finished).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { UserError } from '../../contract/user-error';

/** Which checkpoints: those of one consumer on one stream (by name; the stream's identity is in the document). */
export interface CheckpointKey {
  readonly streamName: string;
  /** The reader: the event source mapping's function name, the delivery stream's name. */
  readonly consumer: string;
}

/** How far one shard is done. An empty checkpoint means "nothing done yet, read from TRIM_HORIZON". */
export interface ShardCheckpoint {
  /** Every record up to and including this sequence number is done (processed or given up on). */
  readonly sequenceNumber?: string;
  /**
   * Nothing is done yet and reading started at this time, in epoch milliseconds (a LATEST or
   * AT_TIMESTAMP starting position): a resumed reader starts AT_TIMESTAMP here, so records put
   * while it was down are not skipped.
   */
  readonly fromTimestamp?: number;
  /** The shard is closed and every record in it is done: its children may start. */
  readonly finished?: boolean;
}

/** The saved checkpoints of one consumer on one stream. */
export interface StreamCheckpoints {
  /** The stream they belong to; checkpoints of a deleted stream do not apply to a new one of the same name. */
  readonly streamArn: string;
  /** The stream's creation time (ISO-8601), which tells two streams of the same ARN apart. */
  readonly streamCreatedAt: string;
  readonly shards: Readonly<Record<string, ShardCheckpoint>>;
}

/** Which stream checkpoints belong to. */
export type StreamIdentity = Pick<StreamCheckpoints, 'streamArn' | 'streamCreatedAt'>;

/** The identity of the stream named `streamName`, as checkpoints record it. */
export async function describeStreamIdentity(
  kinesis: KinesisClient,
  streamName: string,
): Promise<StreamIdentity> {
  const { StreamDescriptionSummary: summary } = await kinesis.send(
    new DescribeStreamSummaryCommand({ StreamName: streamName }),
  );
  return {
    streamArn: summary?.StreamARN as string,
    streamCreatedAt: summary?.StreamCreationTimestamp?.toISOString() ?? '',
  };
}

/** Whether `saved` checkpoints are of `stream`, not of an earlier stream of the same name. */
export function isOfStream(saved: StreamIdentity, stream: StreamIdentity): boolean {
  return saved.streamArn === stream.streamArn && saved.streamCreatedAt === stream.streamCreatedAt;
}

export interface CheckpointStore {
  /** The checkpoints last saved under `key`, or undefined when none were. */
  load(key: CheckpointKey): Promise<StreamCheckpoints | undefined>;
  /** Replaces the checkpoints saved under `key`: all of them or, when it rejects, none. */
  save(key: CheckpointKey, checkpoints: StreamCheckpoints): Promise<void>;
}

/** Raised for a checkpoint document that cannot be read or written; names the file and what to do. */
export class CheckpointStoreError extends UserError {
  public override readonly name = 'CheckpointStoreError';
}

/** Keeps checkpoints in this object: they live exactly as long as it does. */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly saved = new Map<string, StreamCheckpoints>();

  load(key: CheckpointKey): Promise<StreamCheckpoints | undefined> {
    const found = this.saved.get(memoryKey(key));
    return Promise.resolve(found && structuredClone(found));
  }

  save(key: CheckpointKey, checkpoints: StreamCheckpoints): Promise<void> {
    this.saved.set(memoryKey(key), structuredClone(checkpoints));
    return Promise.resolve();
  }
}

const memoryKey = (key: CheckpointKey): string => `${key.streamName}\n${key.consumer}`;

export interface FileCheckpointStoreOptions {
  /** The directory of the documents; created when the first one is saved. */
  readonly dir: string;
  /**
   * Flush each document (and the directory entry of its rename) to the disk before a save resolves.
   * Without it a save survives the process being killed, but not the machine losing power.
   * @default true
   */
  readonly fsync?: boolean;
}

const FORMAT_VERSION = 1;

/** The document on disk: the checkpoints, what they are of, and when they were saved. */
interface CheckpointDocument extends StreamCheckpoints {
  readonly version: typeof FORMAT_VERSION;
  readonly streamName: string;
  readonly consumer: string;
  readonly savedAt: string;
}

/**
 * One JSON document per stream and consumer: `<dir>/<streamName>/<consumer>.json`, readable by
 * people (`cat .sluice/checkpoints/*\/*.json`); delete it to make the consumer start over.
 */
export class FileCheckpointStore implements CheckpointStore {
  private readonly dir: string;
  private readonly fsync: boolean;
  private saves = 0;

  constructor(options: FileCheckpointStoreOptions) {
    this.dir = path.resolve(options.dir);
    this.fsync = options.fsync ?? true;
  }

  /** The file that holds the checkpoints of `key`. */
  fileOf(key: CheckpointKey): string {
    return path.join(this.dir, safeName(key.streamName), `${safeName(key.consumer)}.json`);
  }

  async load(key: CheckpointKey): Promise<StreamCheckpoints | undefined> {
    const file = this.fileOf(key);
    let text: string;
    try {
      text = await fs.promises.readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CheckpointStoreError(`cannot read checkpoints ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw unreadable(file, `not JSON (${(error as Error).message})`);
    }
    return parseDocument(file, document);
  }

  async save(key: CheckpointKey, checkpoints: StreamCheckpoints): Promise<void> {
    const file = this.fileOf(key);
    const document: CheckpointDocument = {
      version: FORMAT_VERSION,
      streamName: key.streamName,
      consumer: key.consumer,
      streamArn: checkpoints.streamArn,
      streamCreatedAt: checkpoints.streamCreatedAt,
      savedAt: new Date().toISOString(),
      shards: checkpoints.shards,
    };
    const directory = path.dirname(file);
    const temporary = path.join(directory, `.${path.basename(file)}.${process.pid}.${++this.saves}.tmp`);
    try {
      await fs.promises.mkdir(directory, { recursive: true });
      const handle = await fs.promises.open(temporary, 'w');
      try {
        await handle.writeFile(`${JSON.stringify(document, null, 2)}\n`);
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.promises.rename(temporary, file);
      if (this.fsync) await syncDirectory(directory);
    } catch (error) {
      await fs.promises.rm(temporary, { force: true }).catch(() => undefined);
      throw new CheckpointStoreError(`cannot save checkpoints ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}

/** Makes a rename durable: the directory entry is data of the directory. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await fs.promises.open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Stream and function names are [A-Za-z0-9_.-]; anything else (and a leading dot) is replaced. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\./, '_') || '_';
}

function unreadable(file: string, why: string): CheckpointStoreError {
  return new CheckpointStoreError(
    `checkpoints ${file} cannot be used: ${why}. Delete the file to start from the starting position again.`,
  );
}

function parseDocument(file: string, document: unknown): StreamCheckpoints {
  const d = document as Partial<CheckpointDocument> | null;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw unreadable(file, 'not a JSON object');
  if (d.version !== FORMAT_VERSION)
    throw unreadable(file, `version ${JSON.stringify(d.version)}, expected ${FORMAT_VERSION}`);
  if (typeof d.streamArn !== 'string' || typeof d.streamCreatedAt !== 'string')
    throw unreadable(file, 'streamArn and streamCreatedAt must be strings');
  if (typeof d.shards !== 'object' || d.shards === null || Array.isArray(d.shards))
    throw unreadable(file, 'shards must be an object of shard id to checkpoint');
  const shards: Record<string, ShardCheckpoint> = {};
  for (const [shardId, value] of Object.entries(d.shards as Record<string, unknown>)) {
    const c = value as Record<string, unknown> | null;
    const where = `shards[${JSON.stringify(shardId)}]`;
    if (typeof c !== 'object' || c === null || Array.isArray(c))
      throw unreadable(file, `${where} is not an object`);
    if (
      c.sequenceNumber !== undefined &&
      !(typeof c.sequenceNumber === 'string' && /^\d+$/.test(c.sequenceNumber))
    )
      throw unreadable(file, `${where}.sequenceNumber must be a string of digits`);
    if (c.fromTimestamp !== undefined && !Number.isFinite(c.fromTimestamp))
      throw unreadable(file, `${where}.fromTimestamp must be epoch milliseconds`);
    if (c.finished !== undefined && typeof c.finished !== 'boolean')
      throw unreadable(file, `${where}.finished must be true or false`);
    shards[shardId] = {
      ...(c.sequenceNumber !== undefined ? { sequenceNumber: c.sequenceNumber as string } : {}),
      ...(c.fromTimestamp !== undefined ? { fromTimestamp: c.fromTimestamp as number } : {}),
      ...(c.finished !== undefined ? { finished: c.finished as boolean } : {}),
    };
  }
  return { streamArn: d.streamArn, streamCreatedAt: d.streamCreatedAt, shards };
}
