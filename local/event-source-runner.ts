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
 * Differences a local runtime cannot avoid: a handler that times out is not frozen; the runner
 * waits for it to settle before the lane's next invocation, so invocations of a lane never
 * overlap. Checkpoints live in memory.
 */
import { randomUUID } from 'node:crypto';
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  DescribeStreamSummaryCommand,
  ResourceNotFoundException,
  type KinesisClient,
  type Shard,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type {
  Context,
  KinesisStreamBatchResponse,
  KinesisStreamEvent,
  KinesisStreamRecord,
} from 'aws-lambda';
import { durationMs, type SluiceConfig } from '../lib/config';
import type { Chaos } from './chaos';
import { LOCAL_ACCOUNT_ID } from './endpoints';

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
  | 'onfailure.error';

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
export class EventSourceRunnerConfigError extends Error {
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

/** What an invocation that ran past `functionTimeoutMs` fails with. */
export class InvocationTimeoutError extends Error {
  public override readonly name = 'Sandbox.Timedout';
}

/** A handler response that fails the whole batch (bad `batchItemFailures`). */
export class InvalidBatchResponseError extends Error {
  public override readonly name = 'InvalidBatchResponseError';
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

interface StreamRecord {
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** ApproximateArrivalTimestamp in epoch milliseconds. */
  readonly arrivalMs: number;
}

interface Buffered {
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
  | { readonly kind: 'error'; readonly error: unknown; readonly functionError: string };

type Settings = Required<Omit<EventSourceRunnerOptions, 'onFailure' | 'chaos' | 'onLog'>> &
  Pick<EventSourceRunnerOptions, 'onFailure' | 'chaos' | 'onLog'>;

/** Wakes sleepers; `wait` resolves on `notify` or after `ms`, whichever comes first. */
class Signal {
  private waiters: Array<() => void> = [];

  wait(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      if (Number.isFinite(ms)) timer = setTimeout(() => this.release(done), ms);
      this.waiters.push(done);
    });
  }

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private release(waiter: () => void): void {
    this.waiters = this.waiters.filter((w) => w !== waiter);
    waiter();
  }
}

function validate(options: EventSourceRunnerOptions): Settings {
  const settings: Settings = {
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
  const integer = (field: keyof Settings, min: number, max: number, extra = ''): void => {
    const value = settings[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      issues.push(
        `${field}: got ${String(value)}; must be an integer between ${min} and ${max} inclusive${extra}`,
      );
    }
  };
  integer('batchSize', 1, 10_000);
  integer('maxBatchingWindowMs', 0, 300_000);
  integer('parallelizationFactor', 1, 10);
  integer('retryAttempts', -1, 10_000, ' (-1 = retry until the records expire)');
  integer('maxRecordAgeMs', -1, 7 * 86_400_000, ' (-1 = records never expire)');
  integer('functionTimeoutMs', 1, 900_000);
  integer('memoryLimitInMB', 128, 10_240);
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

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Stable lane of a partition key: records of one key always share a lane. */
function laneOf(partitionKey: string, lanes: number): number {
  if (lanes === 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < partitionKey.length; i++) {
    hash ^= partitionKey.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % lanes;
}

export class EventSourceRunner {
  private readonly settings: Settings;
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
  };
  private readonly pollers = new Map<string, ShardPoller>();
  private readonly running: Array<Promise<void>> = [];
  private readonly refreshSignal = new Signal();
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private refreshLoop: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  /** @internal */ streamArn = '';
  /** @internal */ region = '';

  constructor(options: EventSourceRunnerOptions) {
    this.settings = validate(options);
  }

  /** @internal */
  get options(): Settings {
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
      const { StreamDescriptionSummary: summary } = await this.settings.kinesis.send(
        new DescribeStreamSummaryCommand({ StreamName: this.settings.streamName }),
      );
      this.streamArn = summary?.StreamARN as string;
      this.region = this.streamArn.split(':')[3];
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
      this.state = 'stopped';
      this.log('info', 'runner.stopped', 'stopped', undefined, { ...this.counterValues });
    })();
    return this.stopped;
  }

  /**
   * Resolves once every record that was in the stream when it was called (up to the tip of every
   * shard) has been checkpointed or sent to the on-failure destination.
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
      if ([...this.pollers.values()].every(idle)) return;
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
    where?: { readonly shardId?: string; readonly lane?: number },
    details?: Record<string, unknown>,
  ): void {
    this.settings.onLog?.({ level, event, message, shardId: where?.shardId, lane: where?.lane, details });
  }

  /** @internal */
  functionArn(): string {
    return `arn:aws:lambda:${this.region}:${LOCAL_ACCOUNT_ID}:function:${this.settings.functionName}`;
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
      // Shards that appear later are children of a split or merge: read from their start.
      const position: StartingPosition = initial ? this.settings.startingPosition : 'TRIM_HORIZON';
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId]
        .map((id) => (id ? this.pollers.get(id) : undefined))
        .filter((p): p is ShardPoller => p !== undefined);
      const poller = new ShardPoller(
        this,
        shardId,
        position,
        parents,
        initial && position === 'LATEST' && closed,
      );
      this.pollers.set(shardId, poller);
      added.push(poller);
    }
    // Fix LATEST / AT_TIMESTAMP positions before start() resolves.
    await Promise.all(added.map((poller) => poller.openIterator()));
    for (const poller of added) this.running.push(poller.run());
  }
}

/** Reads one shard and feeds its lanes. */
class ShardPoller {
  readonly lanes: Lane[];
  private iterator: string | undefined;
  private lastReadSequenceNumber: string | undefined;
  private latestFrom: Date | undefined;
  private ended = false;
  private finishedFlag = false;
  /** GetRecords calls started so far, and the number of the last one that found the shard's tip. */
  private readsStarted = 0;
  private lastCaughtUpRead = 0;
  private millisBehindLatest = 0;
  private checkpoint: string | undefined;
  /** Records read and not yet done, oldest first; `done` marks completion out of order. */
  private readonly outstanding: Array<{ readonly record: StreamRecord; done: boolean }> = [];
  private readonly bySequence = new Map<string, { readonly record: StreamRecord; done: boolean }>();
  private readonly wakeSignal = new Signal();
  private readonly spaceSignal = new Signal();
  private finishedResolve!: () => void;
  readonly finished = new Promise<void>((resolve) => (this.finishedResolve = resolve));

  constructor(
    readonly runner: EventSourceRunner,
    readonly shardId: string,
    private readonly position: StartingPosition,
    private readonly parents: readonly ShardPoller[],
    /** A closed shard met with LATEST: there is nothing to read. */
    skip: boolean,
  ) {
    const lanes = runner.options.parallelizationFactor;
    this.lanes = Array.from({ length: lanes }, (_, index) => new Lane(this, index));
    if (skip) this.finish();
  }

  get isFinished(): boolean {
    return this.finishedFlag;
  }

  wake(): void {
    this.wakeSignal.notify();
    this.spaceSignal.notify();
    for (const lane of this.lanes) lane.wake();
  }

  /** A mark for `idleSince`: reads started after it see everything put before it. */
  readMark(): number {
    return this.readsStarted;
  }

  /** True when nothing is pending and a read started after `mark` found the shard's tip. */
  idleSince(mark: number): boolean {
    if (this.finishedFlag) return true;
    if (this.outstanding.length > 0 || this.lanes.some((lane) => lane.busy)) return false;
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
      inFlightBatches: this.lanes.filter((lane) => lane.busy).length,
      finished: this.finishedFlag,
    };
  }

  async openIterator(): Promise<void> {
    if (this.finishedFlag || this.iterator) return;
    if (this.parents.some((parent) => !parent.isFinished) && this.position === 'TRIM_HORIZON') return;
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
      this.runner.log(
        'error',
        'shard.error',
        `cannot open an iterator: ${(error as Error).message}`,
        this.where(),
      );
      return;
    }
    this.runner.log('debug', 'shard.started', `polling ${this.shardId}`, this.where());
    const lanes = this.lanes.map((lane) => lane.run());
    await this.readLoop();
    for (const lane of this.lanes) lane.wake();
    await Promise.all(lanes);
    if (this.ended && this.outstanding.length === 0) {
      this.runner.log('info', 'shard.closed', `${this.shardId} is closed and fully processed`, this.where());
      this.finish();
    }
  }

  /** Marks records done (succeeded or sent on) and advances the checkpoint past every done record. */
  complete(records: readonly StreamRecord[]): void {
    for (const record of records) {
      const entry = this.bySequence.get(record.sequenceNumber);
      if (entry) entry.done = true;
    }
    while (this.outstanding.length > 0 && this.outstanding[0].done) {
      const entry = this.outstanding.shift() as { readonly record: StreamRecord; done: boolean };
      this.bySequence.delete(entry.record.sequenceNumber);
      this.checkpoint = entry.record.sequenceNumber;
    }
    this.spaceSignal.notify();
  }

  where(lane?: number): { shardId: string; lane?: number } {
    return { shardId: this.shardId, lane };
  }

  /** True once the shard is read to its end; lanes then stop when empty. */
  get readComplete(): boolean {
    return this.ended;
  }

  private finish(): void {
    this.finishedFlag = true;
    this.finishedResolve();
  }

  private untilStopping(): Promise<void> {
    return (async () => {
      while (!this.runner.stopping) await this.wakeSignal.wait(1_000);
    })();
  }

  private buffered(): number {
    return this.lanes.reduce((sum, lane) => sum + lane.buffered, 0);
  }

  private async getIterator(): Promise<string> {
    const base = { StreamName: this.runner.options.streamName, ShardId: this.shardId };
    let input: ConstructorParameters<typeof GetShardIteratorCommand>[0];
    if (this.lastReadSequenceNumber) {
      input = {
        ...base,
        ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
        StartingSequenceNumber: this.lastReadSequenceNumber,
      };
    } else if (this.position === 'TRIM_HORIZON') {
      input = { ...base, ShardIteratorType: 'TRIM_HORIZON' };
    } else if (this.position === 'LATEST') {
      // Re-opening LATEST later would skip what arrived in between; resume from when it was first taken.
      input = this.latestFrom
        ? { ...base, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: this.latestFrom }
        : { ...base, ShardIteratorType: 'LATEST' };
      this.latestFrom ??= new Date();
    } else {
      input = { ...base, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: this.position.atTimestamp };
    }
    const { ShardIterator } = await this.runner.options.kinesis.send(new GetShardIteratorCommand(input));
    return ShardIterator as string;
  }

  private async readLoop(): Promise<void> {
    const { batchSize, parallelizationFactor, pollIntervalMs, kinesis } = this.runner.options;
    // Read ahead at least two batches per lane (as Lambda's poller does), and whole GetRecords pages
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
        this.lanes[laneOf(record.partitionKey, parallelizationFactor)].push({ record, readAtMs: Date.now() });
        this.lastReadSequenceNumber = record.sequenceNumber;
      }
      this.runner.counters.recordsRead += records.length;
      this.iterator = output.NextShardIterator;
      if (this.iterator === undefined) {
        this.ended = true;
        break;
      }
      if (records.length === 0 && this.millisBehindLatest === 0) {
        this.lastCaughtUpRead = read;
        await this.wakeSignal.wait(pollIntervalMs);
      }
    }
  }

  /** Returns false when the shard cannot be read any more. */
  private async recoverFromReadError(error: unknown, errorsInARow: number): Promise<boolean> {
    const message = (error as Error).message;
    if (error instanceof ResourceNotFoundException) {
      this.runner.log('error', 'shard.error', `stream or shard is gone: ${message}`, this.where());
      return false;
    }
    const expired =
      error instanceof ExpiredIteratorException ||
      ((error as Error).name === 'InvalidArgumentException' && /ShardIterator/i.test(message));
    if (!expired) {
      this.runner.log(
        'warn',
        'shard.error',
        `GetRecords failed (${errorsInARow} in a row): ${message}`,
        this.where(),
      );
      await this.wakeSignal.wait(
        Math.min(5_000, this.runner.options.pollIntervalMs * 2 ** Math.min(errorsInARow, 5)),
      );
      return true;
    }
    try {
      this.iterator = await this.getIterator();
      this.runner.counters.iteratorRefreshes++;
      this.runner.log(
        'info',
        'iterator.refreshed',
        `shard iterator expired; resumed after ${this.lastReadSequenceNumber ?? 'the start position'}`,
        this.where(),
      );
    } catch (refreshError) {
      this.runner.log(
        'warn',
        'shard.error',
        `cannot refresh the iterator: ${(refreshError as Error).message}`,
        this.where(),
      );
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

/** One sequential stream of batches within a shard (one per unit of parallelization factor). */
class Lane {
  private readonly queue: Buffered[] = [];
  private readonly signal = new Signal();
  /** Recently succeeded records, oldest first, for chaos redeliveries. */
  private history: StreamRecord[] = [];
  private failuresInARow = 0;
  busy = false;

  constructor(
    private readonly shard: ShardPoller,
    readonly index: number,
  ) {}

  get buffered(): number {
    return this.queue.length;
  }

  private get runner(): EventSourceRunner {
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
      if (waitMs > 0 && !this.shard.readComplete) {
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
        this.runner.log(
          'info',
          'batch.partial-failure',
          `retrying from ${rest[0].sequenceNumber}`,
          this.where(),
          {
            checkpointedRecords: ok.length,
            remainingRecords: rest.length,
            attempts: segment.attempts,
          },
        );
      } else {
        segment.lastResponse = {
          statusCode: 200,
          executedVersion: '$LATEST',
          functionError: outcome.functionError,
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
          this.runner.log(
            'info',
            'batch.bisected',
            `split ${segment.records.length} records in two`,
            this.where(),
            {
              error: describe(outcome.error),
            },
          );
          continue;
        }
        segment.attempts++;
      }
      if (retryAttempts >= 0 && segment.attempts > retryAttempts) {
        this.runner.log(
          'warn',
          'records.retries-exhausted',
          `giving up ${segment.records.length} records after ${segment.attempts} attempts`,
          this.where(),
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
    this.runner.log(
      'info',
      'batch.redelivered',
      `chaos: delivering ${records.length} records again`,
      this.where(),
      {
        from: records[0].sequenceNumber,
        to: records[records.length - 1].sequenceNumber,
      },
    );
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
    this.runner.log('debug', 'batch.invoked', `invoking with ${records.length} records`, this.where(), {
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
      this.runner.log(
        'info',
        'batch.failed',
        `invocation failed: ${describe(outcome.kind === 'error' ? outcome.error : 'partial batch failure')}`,
        this.where(),
        {
          requestId: context.awsRequestId,
          records: records.length,
        },
      );
    } else {
      this.runner.log('debug', 'batch.succeeded', `${records.length} records done`, this.where(), {
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
      error: new InvalidBatchResponseError(`batchItemFailures ${why}: the whole batch failed`),
      functionError: 'Unhandled',
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
    this.runner.log(
      'warn',
      'records.expired',
      `${count} records older than ${maxRecordAgeMs} ms`,
      this.where(),
    );
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
      this.runner.log(
        'warn',
        'records.discarded',
        `no on-failure destination: dropped ${records.length} records`,
        this.where(),
        {
          ...document.KinesisBatchInfo,
        },
      );
    } else {
      // Like the event source mapping, keep trying: the records must not be lost silently.
      for (let attempt = 1; ; attempt++) {
        try {
          await onFailure.sqs.send(
            new SendMessageCommand({ QueueUrl: onFailure.queueUrl, MessageBody: JSON.stringify(document) }),
          );
          break;
        } catch (error) {
          this.runner.log(
            'error',
            'onfailure.error',
            `sending to the on-failure queue failed: ${(error as Error).message}`,
            this.where(),
          );
          if (this.runner.stopping && attempt >= 3) return;
          await this.runner.backoff(attempt);
        }
      }
      this.runner.counters.onFailureMessages++;
      this.runner.counters.recordsSentToOnFailure += records.length;
      this.runner.log(
        'warn',
        'onfailure.sent',
        `${records.length} records sent to the on-failure queue (${condition})`,
        this.where(),
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

  private scope(): { shardId: string; lane: number } {
    return { shardId: this.shard.shardId, lane: this.index };
  }

  private where(): { shardId: string; lane: number } {
    return { shardId: this.shard.shardId, lane: this.index };
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Starts a runner: `new EventSourceRunner(options)` then `start()`. */
export async function startEventSourceRunner(options: EventSourceRunnerOptions): Promise<EventSourceRunner> {
  const runner = new EventSourceRunner(options);
  await runner.start();
  return runner;
}
