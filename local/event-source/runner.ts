/**
 * A local stand-in for the Lambda Kinesis event source mapping: polls every shard of a stream (in
 * kinesalite or any Kinesis endpoint) and invokes a handler the way Lambda would.
 *
 * Semantics reproduced (see the AWS Lambda developer guide, "Using Lambda with Kinesis"):
 *  - real `KinesisStreamEvent` records and a Lambda `Context`;
 *  - batchSize, maxBatchingWindow, startingPosition (TRIM_HORIZON, LATEST, AT_TIMESTAMP);
 *  - shards run concurrently; within a shard batches run one after the other, or, with a
 *    parallelizationFactor above 1, up to that many at once, records of one partition key always
 *    in the same slot, so never concurrently and never out of order;
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
 * Batching window and drain: a slot holds a batch open until it is full or `maxBatchingWindow` has
 * passed since its first record was read, as Lambda does. While `drain()` waits (`sluice local
 * --once`, `settle()`), a slot whose shard has been read to its tip closes its batch at once: nothing
 * more would join it, and a replay should not wait out a 45 s window per batch. On AWS that last
 * batch would be invoked when its window ends, at most `maxBatchingWindow` later; with the stream
 * still arriving (drain not called) the window is honoured locally as on AWS.
 *
 * Differences a local runtime cannot avoid: a handler that times out is not frozen; the runner
 * waits for it to settle before the slot's next invocation, so invocations of a slot never
 * overlap. stop() lets in-flight invocations finish, then abandons the rest of their batches (not
 * checkpointed), like disabling the event source mapping.
 *
 * Parts, all in local/event-source/: this module (the runner: shard discovery, drain, metrics),
 * types.ts (options, log entries, metrics), settings.ts (defaults, validation, settings from config),
 * errors.ts, shard-poller.ts (one shard: iterator, read-ahead, checkpoint), slot.ts (batches,
 * invocation, error handling, on-failure records) and checkpoint-{store,writer}.ts (durable checkpoints).
 */
import { randomUUID } from 'node:crypto';
import { ListShardsCommand, type Shard } from '@aws-sdk/client-kinesis';
import type { Context } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID } from '../endpoints';
import {
  describeStreamIdentity,
  isOfStream,
  type ShardCheckpoint,
  type StreamCheckpoints,
  type StreamIdentity,
} from './checkpoint-store';
import { CheckpointWriter } from './checkpoint-writer';
import { DrainTimeoutError, RunnerStateError } from './errors';
import type { LogOrigin, RunnerHost } from './host';
import { resolveSettings, type RunnerSettings } from './settings';
import { ShardPoller } from './shard-poller';
import { Signal, sleep } from './signal';
import type {
  EventSourceRunnerOptions,
  RunnerCounters,
  RunnerLogEvent,
  RunnerLogLevel,
  RunnerMetrics,
  StartingPosition,
} from './types';

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
  /** `drain()` calls in progress. */
  private drains = 0;
  private refreshLoop: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  private checkpoints: CheckpointWriter | undefined;
  /** The checkpoints saved by an earlier runner on this stream, when resuming. */
  private resumed: StreamCheckpoints['shards'] | undefined;
  /** @internal */ streamArn = '';
  /** @internal */ region = '';

  constructor(options: EventSourceRunnerOptions) {
    this.settings = resolveSettings(options);
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

  /** @internal */
  get flushing(): boolean {
    return this.drains > 0;
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
   * store, the checkpoints are saved (a failed save is logged as `checkpoint.error`). While it
   * waits, batches close as soon as their shard is read to its tip rather than at the end of the
   * batching window (see the module comment).
   */
  async drain(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    if (this.state !== 'running') throw new RunnerStateError(`drain: the runner is ${this.state}`);
    this.drains++;
    try {
      await this.drainFlushing(options);
    } finally {
      this.drains--;
    }
  }

  private async drainFlushing(options: { readonly timeoutMs?: number }): Promise<void> {
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
    this.settings.onLog?.({ level, event, message, shardId: where?.shardId, slot: where?.slot, details });
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
