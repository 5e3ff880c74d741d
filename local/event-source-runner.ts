/**
 * A local stand-in for the Lambda Kinesis event source mapping: polls every shard of a stream (in
 * kinesalite or any Kinesis endpoint) and invokes a handler the way Lambda would.
 *
 * Semantics reproduced (see the AWS Lambda developer guide, "Using Lambda with Kinesis"):
 *  - real `KinesisStreamEvent` records and a Lambda `Context`;
 *  - batchSize, maxBatchingWindow, startingPosition (TRIM_HORIZON, LATEST, AT_TIMESTAMP);
 *  - shards run concurrently; within a shard batches run one after the other, or, with a
 *    parallelizationFactor above 1, up to that many at once, records of one partition key always
 *    in the same lane, so never concurrently and never out of order;
 *  - ReportBatchItemFailures: the checkpoint moves to just before the lowest failed sequence
 *    number and processing resumes there; a failure entry with an empty, missing or unknown
 *    itemIdentifier fails the whole batch; no failures means the whole batch succeeded;
 *  - on a thrown error, a timeout or a whole-batch failure the batch is retried, split in two
 *    halves first when bisectBatchOnError is on (splitting does not consume retry attempts);
 *  - retryAttempts (-1 = until the records expire), maxRecordAge (-1 = never); records that run
 *    out of either go to the on-failure destination as the JSON document Lambda sends, and the
 *    shard moves on;
 *  - closed shards are read to their end before their children start (resharding).
 *
 * Checkpoints: each shard's checkpoint is the last sequence number up to which every record is done.
 * With a `checkpointStore` they outlive the runner, as the event source mapping's do on AWS: a runner
 * started again on the same stream resumes each shard just after its saved checkpoint (closed shards
 * saved as finished stay finished, so their children start at once; shards that are not in the saved
 * state appeared since and are read from TRIM_HORIZON), whatever its startingPosition. A checkpoint
 * is saved only after the handler succeeded on its records, and saves trail the progress by at most
 * one write, so a runner that is killed re-delivers what it had done since its last save: at least
 * once, never a gap. Checkpoints saved for an earlier stream of the same name (another ARN or
 * creation time) are ignored. Without a store, checkpoints live in memory.
 *
 * Differences a local runtime cannot avoid: a handler that times out is not frozen; the runner
 * waits for it to settle before the lane's next invocation, so invocations of a lane never
 * overlap. stop() lets in-flight invocations finish, then abandons the rest of their batches (not
 * checkpointed), like disabling the event source mapping.
 *
 * Parts: this module (options, shard discovery, drain, metrics), event-source/shard-poller.ts (one
 * shard: iterator, read-ahead, checkpoint), event-source/lane.ts (batches, invocation, error
 * handling, on-failure records) and event-source/checkpoint-{store,writer}.ts (durable checkpoints).
 */
import { randomUUID } from 'node:crypto';
import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { durationMs, type SluiceConfig } from '../contract/config';
import { EVENT_SOURCE_LIMITS as ESM } from '../contract/event-source-limits';
import { UserError } from '../contract/user-error';
import type { Chaos } from './chaos';
import { LOCAL_ACCOUNT_ID } from './endpoints';
import {
  describeStreamIdentity,
  isOfStream,
  type CheckpointStore,
  type ShardCheckpoint,
  type StreamCheckpoints,
  type StreamIdentity,
} from './event-source/checkpoint-store';
import { CheckpointWriter } from './event-source/checkpoint-writer';
import type { LogOrigin, RunnerHost, RunnerSettings } from './event-source/host';
import { ShardPoller } from './event-source/shard-poller';
import { Signal, sleep } from './event-source/signal';

/** The Lambda handler signature for a Kinesis event source. */
export type KinesisHandler = (
  event: KinesisStreamEvent,
  context: Context,
) => Promise<KinesisStreamBatchResponse | void>;

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | { readonly atTimestamp: Date };

/** Where records that run out of retries or age go: an SQS queue, as on AWS. */
export interface OnFailureDestination {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
}

/** The event source mapping settings, named as in the CDK `KinesisEventSource`. */
export interface EventSourceSettings {
  /** Records per invocation, 1–10000. @default 100 */
  readonly batchSize?: number;
  /** Time to gather records before invoking, 0–300000 ms. @default 0 */
  readonly maxBatchingWindowMs?: number;
  /** @default 'TRIM_HORIZON' */
  readonly startingPosition?: StartingPosition;
  /** Concurrent batches per shard, 1–10. @default 1 */
  readonly parallelizationFactor?: number;
  /** Retries of a failing batch, 0–10000, or -1 for "until the records expire". @default -1 */
  readonly retryAttempts?: number;
  /**
   * Records older than this are not processed but sent to the on-failure destination; -1 = never.
   * AWS allows 60 s–7 d; locally any value >= 0 is accepted so tests can use short ages.
   * @default -1
   */
  readonly maxRecordAgeMs?: number;
  /** Split a failed batch in two before retrying. @default false */
  readonly bisectBatchOnError?: boolean;
  /** Honour `batchItemFailures` in the handler's response. @default false (as on AWS) */
  readonly reportBatchItemFailures?: boolean;
  /** An invocation running longer than this fails with a timeout. @default 60000 */
  readonly functionTimeoutMs?: number;
  /** Reported in the Lambda context. @default 1024 */
  readonly memoryLimitInMB?: number;
  /** Reported in the Lambda context and in on-failure records. @default 'stream-processor' */
  readonly functionName?: string;
}

export interface EventSourceRunnerOptions extends EventSourceSettings {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly handler: KinesisHandler;
  /** @default - records that run out of retries or age are dropped (logged and counted) */
  readonly onFailure?: OnFailureDestination;
  /** Fault injection; see local/chaos.ts. @default - no faults */
  readonly chaos?: Chaos;
  /**
   * Where shard checkpoints are saved, under the stream's name and `functionName`; a runner started
   * again with the same store resumes where the last one stopped (see the module comment), e.g.
   * `new FileCheckpointStore({ dir: '.sluice/checkpoints' })`.
   * @default - checkpoints live in memory and are lost when the runner stops
   */
  readonly checkpointStore?: CheckpointStore;
  /** Structured log hook; the runner never writes to the console itself. */
  readonly onLog?: (entry: RunnerLogEntry) => void;
  /** Pause after a GetRecords call that found nothing new. @default 200 */
  readonly pollIntervalMs?: number;
  /** First backoff before retrying a failed batch; doubles per failure in a row. @default 50 */
  readonly retryBackoffMs?: number;
  /** Upper bound of that backoff. @default 1000 */
  readonly maxRetryBackoffMs?: number;
  /** How often to look for new shards (after a split or merge). @default 5000 */
  readonly shardRefreshIntervalMs?: number;
}

export type RunnerLogLevel = 'debug' | 'info' | 'warn' | 'error';

export type RunnerLogEvent =
  | 'runner.started'
  | 'runner.stopped'
  | 'shard.started'
  | 'shard.closed'
  | 'shard.error'
  | 'iterator.refreshed'
  | 'batch.invoked'
  | 'batch.succeeded'
  | 'batch.partial-failure'
  | 'batch.failed'
  | 'batch.bisected'
  | 'batch.redelivered'
  | 'records.expired'
  | 'records.retries-exhausted'
  | 'records.discarded'
  | 'onfailure.sent'
  | 'onfailure.error'
  | 'checkpoint.resumed'
  | 'checkpoint.discarded'
  | 'checkpoint.error';

export interface RunnerLogEntry {
  readonly level: RunnerLogLevel;
  readonly event: RunnerLogEvent;
  readonly message: string;
  readonly shardId?: string;
  readonly lane?: number;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The document Lambda sends to a Kinesis event source's on-failure destination. */
export interface KinesisOnFailureRecord {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
    readonly approximateInvokeCount: number;
  };
  /** Present when the records were invoked at least once: how the last invocation ended. */
  readonly responseContext?: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError?: string;
  };
  readonly version: '1.0';
  readonly timestamp: string;
  readonly KinesisBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
}

export interface RunnerCounters {
  /** Batches formed from records read off the stream (retries, halves and redeliveries excluded). */
  batches: number;
  invocations: number;
  failedInvocations: number;
  /** Invocations of records whose previous invocation failed. */
  retries: number;
  bisections: number;
  partialBatchFailures: number;
  timeouts: number;
  recordsRead: number;
  /** Records checkpointed after the handler succeeded on them. */
  recordsSucceeded: number;
  recordsSentToOnFailure: number;
  onFailureMessages: number;
  /** Records given up with no on-failure destination configured. */
  recordsDiscarded: number;
  /** Chaos redeliveries of already-successful records, and how many records they carried. */
  redeliveries: number;
  redeliveredRecords: number;
  getRecordsCalls: number;
  getRecordsErrors: number;
  iteratorRefreshes: number;
  /** Saves of the shard checkpoints to the checkpoint store, and failed saves. */
  checkpointSaves: number;
  checkpointErrors: number;
}

export interface ShardMetrics {
  readonly shardId: string;
  /** Everything up to and including this sequence number is done (succeeded or sent on). */
  readonly checkpoint?: string;
  readonly lastReadSequenceNumber?: string;
  /** As reported by the last GetRecords call (kinesalite always reports 0). */
  readonly millisBehindLatest: number;
  /** Age of the oldest record read but not yet done, like Lambda's IteratorAge metric; 0 when caught up. */
  readonly iteratorAgeMs: number;
  /** Records read and not yet done. */
  readonly pending: number;
  readonly inFlightBatches: number;
  /** The shard is closed and every record in it is done. */
  readonly finished: boolean;
}

export interface RunnerMetrics {
  readonly counters: Readonly<RunnerCounters>;
  readonly shards: readonly ShardMetrics[];
}

/** Raised for runner options out of range: names the option, the value and what is allowed. */
export class EventSourceRunnerConfigError extends UserError {
  public override readonly name = 'EventSourceRunnerConfigError';
}

/** Raised when the runner is used out of order (started twice, drained when not running). */
export class RunnerStateError extends Error {
  public override readonly name = 'RunnerStateError';
}

/** Raised by `drain` when the stream is not fully processed in time. */
export class DrainTimeoutError extends Error {
  public override readonly name = 'DrainTimeoutError';
}

/** The event source settings the CDK stack derives from `config.processor`. */
export function eventSourceSettingsFromConfig(config: SluiceConfig): EventSourceSettings {
  const p = config.processor;
  return {
    batchSize: p.batchSize,
    maxBatchingWindowMs: durationMs(p.maxBatchingWindow),
    parallelizationFactor: p.parallelizationFactor,
    retryAttempts: p.retryAttempts,
    maxRecordAgeMs: durationMs(p.maxRecordAge),
    bisectBatchOnError: true,
    reportBatchItemFailures: true,
    functionTimeoutMs: durationMs(p.timeout),
    memoryLimitInMB: p.memorySize,
  };
}

function validate(options: EventSourceRunnerOptions): RunnerSettings {
  const settings: RunnerSettings = {
    batchSize: 100,
    maxBatchingWindowMs: 0,
    startingPosition: 'TRIM_HORIZON',
    parallelizationFactor: 1,
    retryAttempts: -1,
    maxRecordAgeMs: -1,
    bisectBatchOnError: false,
    reportBatchItemFailures: false,
    functionTimeoutMs: 60_000,
    memoryLimitInMB: 1024,
    functionName: 'stream-processor',
    pollIntervalMs: 200,
    retryBackoffMs: 50,
    maxRetryBackoffMs: 1_000,
    shardRefreshIntervalMs: 5_000,
    ...withoutUndefined(options),
    kinesis: options.kinesis,
    streamName: options.streamName,
    handler: options.handler,
  };
  const issues: string[] = [];
  const integer = (field: keyof RunnerSettings & string, min: number, max: number, extra = ''): void => {
    const value = settings[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      issues.push(
        `${field}: got ${String(value)}; must be an integer between ${min} and ${max} inclusive${extra}`,
      );
    }
  };
  integer('batchSize', ESM.batchSize.min, ESM.batchSize.max);
  integer(
    'maxBatchingWindowMs',
    ESM.maxBatchingWindowSeconds.min * 1_000,
    ESM.maxBatchingWindowSeconds.max * 1_000,
  );
  integer('parallelizationFactor', ESM.parallelizationFactor.min, ESM.parallelizationFactor.max);
  integer('retryAttempts', -1, ESM.retryAttempts.max, ' (-1 = retry until the records expire)');
  integer('maxRecordAgeMs', -1, ESM.maxRecordAgeSeconds.max * 1_000, ' (-1 = records never expire)');
  integer('functionTimeoutMs', 1, ESM.timeoutSeconds.max * 1_000);
  integer('memoryLimitInMB', ESM.memorySizeMiB.min, ESM.memorySizeMiB.max);
  integer('pollIntervalMs', 1, 60_000);
  integer('retryBackoffMs', 0, 60_000);
  integer('maxRetryBackoffMs', 0, 600_000);
  integer('shardRefreshIntervalMs', 10, 3_600_000);
  const position = settings.startingPosition;
  if (position !== 'TRIM_HORIZON' && position !== 'LATEST' && !(position?.atTimestamp instanceof Date)) {
    issues.push(
      `startingPosition: got ${JSON.stringify(position)}; must be "TRIM_HORIZON", "LATEST" or {atTimestamp: Date}`,
    );
  }
  if (!settings.streamName)
    issues.push(`streamName: got ${JSON.stringify(settings.streamName)}; must be a stream name`);
  if (typeof settings.handler !== 'function')
    issues.push('handler: must be a function (event, context) => Promise');
  if (issues.length > 0)
    throw new EventSourceRunnerConfigError(
      `Invalid event source runner options:\n  - ${issues.join('\n  - ')}`,
    );
  return settings;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export class EventSourceRunner implements RunnerHost {
  private readonly settings: RunnerSettings;
  private readonly counterValues: RunnerCounters = {
    batches: 0,
    invocations: 0,
    failedInvocations: 0,
    retries: 0,
    bisections: 0,
    partialBatchFailures: 0,
    timeouts: 0,
    recordsRead: 0,
    recordsSucceeded: 0,
    recordsSentToOnFailure: 0,
    onFailureMessages: 0,
    recordsDiscarded: 0,
    redeliveries: 0,
    redeliveredRecords: 0,
    getRecordsCalls: 0,
    getRecordsErrors: 0,
    iteratorRefreshes: 0,
    checkpointSaves: 0,
    checkpointErrors: 0,
  };
  private readonly pollers = new Map<string, ShardPoller>();
  private readonly running: Array<Promise<void>> = [];
  private readonly refreshSignal = new Signal();
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private refreshLoop: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  private checkpoints: CheckpointWriter | undefined;
  /** The checkpoints saved by an earlier runner on this stream, when resuming. */
  private resumed: StreamCheckpoints['shards'] | undefined;
  /** @internal */ streamArn = '';
  /** @internal */ region = '';

  constructor(options: EventSourceRunnerOptions) {
    this.settings = validate(options);
  }

  /** @internal */
  get options(): RunnerSettings {
    return this.settings;
  }

  /** @internal */
  get counters(): RunnerCounters {
    return this.counterValues;
  }

  /** @internal */
  get stopping(): boolean {
    return this.state !== 'running';
  }

  /**
   * Lists the shards, takes an iterator on each at the starting position and starts polling.
   * Resolves once the position is fixed, so with LATEST every record put afterwards is delivered.
   */
  async start(): Promise<void> {
    if (this.state !== 'new')
      throw new RunnerStateError(`start: the runner is ${this.state}; a runner starts once`);
    this.state = 'running';
    try {
      const stream = await describeStreamIdentity(this.settings.kinesis, this.settings.streamName);
      this.streamArn = stream.streamArn;
      this.region = this.streamArn.split(':')[3];
      await this.loadCheckpoints(stream);
      await this.refreshShards(true);
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.refreshLoop = this.refreshShardsPeriodically();
    this.log(
      'info',
      'runner.started',
      `polling ${this.pollers.size} shards of ${this.settings.streamName}`,
      undefined,
      {
        streamArn: this.streamArn,
      },
    );
  }

  /** Stops polling; every in-flight invocation finishes first. Records not yet done stay unprocessed. */
  stop(): Promise<void> {
    if (this.stopped) return this.stopped;
    this.state = 'stopping';
    this.refreshSignal.notify();
    for (const poller of this.pollers.values()) poller.wake();
    this.stopped = (async () => {
      await this.refreshLoop;
      // Pollers may be added while earlier ones finish; wait until the list stops growing.
      for (let seen = 0; seen < this.running.length;) {
        const batch = this.running.slice(seen);
        seen = this.running.length;
        await Promise.all(batch);
      }
      await this.checkpoints?.flush();
      this.checkpoints?.close();
      this.state = 'stopped';
      this.log('info', 'runner.stopped', 'stopped', undefined, { ...this.counterValues });
    })();
    return this.stopped;
  }

  /**
   * Resolves once every record that was in the stream when it was called (up to the tip of every
   * shard) has been checkpointed or sent to the on-failure destination, and, with a checkpoint
   * store, the checkpoints are saved (a failed save is logged as `checkpoint.error`).
   */
  async drain(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    if (this.state !== 'running') throw new RunnerStateError(`drain: the runner is ${this.state}`);
    // Marks first, synchronously: reads started after them see every record put before this call.
    const marks = new Map([...this.pollers].map(([shardId, poller]) => [shardId, poller.readMark()]));
    const deadline = Date.now() + (options.timeoutMs ?? Number.POSITIVE_INFINITY);
    await this.refreshShards(false);
    const idle = (poller: ShardPoller): boolean => poller.idleSince(marks.get(poller.shardId) ?? 0);
    for (const poller of this.pollers.values()) poller.wake();
    for (;;) {
      if ([...this.pollers.values()].every(idle)) {
        await this.checkpoints?.flush();
        return;
      }
      if (this.state !== 'running') throw new RunnerStateError('drain: the runner was stopped');
      if (Date.now() > deadline) {
        const busy = [...this.pollers.values()].filter((p) => !idle(p)).map((p) => p.metrics());
        throw new DrainTimeoutError(
          `stream ${this.settings.streamName} not drained within ${options.timeoutMs} ms; busy shards: ${JSON.stringify(busy)}`,
        );
      }
      await sleep(10);
    }
  }

  /** Same as `drain`. */
  waitUntilIdle(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    return this.drain(options);
  }

  metrics(): RunnerMetrics {
    return {
      counters: { ...this.counterValues },
      shards: [...this.pollers.values()].map((poller) => poller.metrics()),
    };
  }

  /** @internal */
  log(
    level: RunnerLogLevel,
    event: RunnerLogEvent,
    message: string,
    where?: LogOrigin,
    details?: Record<string, unknown>,
  ): void {
    this.settings.onLog?.({ level, event, message, shardId: where?.shardId, lane: where?.lane, details });
  }

  /** @internal */
  functionArn(): string {
    return `arn:aws:lambda:${this.region}:${LOCAL_ACCOUNT_ID}:function:${this.settings.functionName}`;
  }

  /** @internal */
  checkpointed(shardId: string, checkpoint: ShardCheckpoint): void {
    this.checkpoints?.set(shardId, checkpoint);
  }

  /** @internal */
  backoff(failuresInARow: number): Promise<void> {
    const { retryBackoffMs, maxRetryBackoffMs } = this.settings;
    const ms = Math.min(maxRetryBackoffMs, retryBackoffMs * 2 ** Math.max(0, failuresInARow - 1));
    return sleep(ms);
  }

  /** @internal */
  createContext(): Context {
    const { functionName, functionTimeoutMs, memoryLimitInMB } = this.settings;
    const deadline = Date.now() + functionTimeoutMs;
    const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
    const unsupported = (name: string) => (): never => {
      throw new Error(`context.${name}() is not supported: return a promise from the handler`);
    };
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: this.functionArn(),
      memoryLimitInMB: String(memoryLimitInMB),
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: `${day}/[$LATEST]${randomUUID().replace(/-/g, '')}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: unsupported('done'),
      fail: unsupported('fail'),
      succeed: unsupported('succeed'),
    };
  }

  /** Reads the checkpoints an earlier runner saved for this stream, and starts saving ours. */
  private async loadCheckpoints(stream: StreamIdentity): Promise<void> {
    const store = this.settings.checkpointStore;
    if (!store) return;
    const key = { streamName: this.settings.streamName, consumer: this.settings.functionName };
    const saved = await store.load(key);
    if (saved && isOfStream(saved, stream)) {
      this.resumed = saved.shards;
      this.log(
        'info',
        'checkpoint.resumed',
        `resuming ${Object.keys(saved.shards).length} shards from their saved checkpoints`,
        undefined,
        { shards: saved.shards },
      );
    } else if (saved) {
      this.log(
        'warn',
        'checkpoint.discarded',
        `the saved checkpoints are of another stream named ${this.settings.streamName} (${saved.streamArn} created ${saved.streamCreatedAt}, this one was created ${stream.streamCreatedAt}); starting at the starting position`,
      );
    }
    this.checkpoints = new CheckpointWriter({
      store,
      key,
      stream,
      onSaved: () => this.counterValues.checkpointSaves++,
      onError: (error, failuresInARow) => {
        this.counterValues.checkpointErrors++;
        this.log(
          'warn',
          'checkpoint.error',
          `saving checkpoints failed (${failuresInARow} in a row); a restart would re-deliver more: ${(error as Error).message}`,
        );
      },
    });
  }

  private async refreshShardsPeriodically(): Promise<void> {
    while (this.state === 'running') {
      await this.refreshSignal.wait(this.settings.shardRefreshIntervalMs);
      if (this.state !== 'running') return;
      try {
        await this.refreshShards(false);
      } catch (error) {
        this.log('warn', 'shard.error', `listing shards failed: ${(error as Error).message}`);
      }
    }
  }

  private async listShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.settings.kinesis.send(
        new ListShardsCommand(
          nextToken ? { NextToken: nextToken } : { StreamName: this.settings.streamName },
        ),
      );
      shards.push(...(page.Shards ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    return shards;
  }

  private async refreshShards(initial: boolean): Promise<void> {
    const shards = await this.listShards();
    const added: ShardPoller[] = [];
    for (const shard of shards) {
      const shardId = shard.ShardId as string;
      if (this.pollers.has(shardId) || this.state !== 'running') continue;
      const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      const saved = this.resumed?.[shardId];
      // The starting position applies to a first start only. Shards that appear later are children
      // of a split or merge, and shards missing from saved checkpoints appeared since: from their start.
      const fresh = initial && !this.resumed;
      const position: StartingPosition =
        saved?.fromTimestamp !== undefined && saved.sequenceNumber === undefined
          ? { atTimestamp: new Date(saved.fromTimestamp) }
          : fresh
            ? this.settings.startingPosition
            : 'TRIM_HORIZON';
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId]
        .map((id) => (id ? this.pollers.get(id) : undefined))
        .filter((p): p is ShardPoller => p !== undefined);
      const poller = new ShardPoller(
        this,
        shardId,
        position,
        parents,
        fresh && position === 'LATEST' && closed,
        saved,
      );
      this.pollers.set(shardId, poller);
      added.push(poller);
    }
    // Fix LATEST / AT_TIMESTAMP positions before start() resolves.
    await Promise.all(added.map((poller) => poller.openIterator()));
    for (const poller of added) this.running.push(poller.run());
  }
}

/** Starts a runner: `new EventSourceRunner(options)` then `start()`. */
export async function startEventSourceRunner(options: EventSourceRunnerOptions): Promise<EventSourceRunner> {
  const runner = new EventSourceRunner(options);
  await runner.start();
  return runner;
}
