/**
 * Seeded, bounded fault injection for the local runtime.
 *
 * Three kinds of fault, all decided by a deterministic PRNG so that one seed always produces the
 * same faults for the same sequence of invocations and calls:
 *
 *  - crash: an invocation dies after N DynamoDB UpdateItem calls (N drawn per invocation). From the
 *    N+1-th UpdateItem on, every AWS call of that invocation fails, and the event source runner
 *    treats the invocation as failed whatever the handler returns. When the handler makes no
 *    further call, the crash happens after it returns (its writes landed, its response was lost).
 *  - throttle / lost response: a DynamoDB or SNS call fails with the error the SDK would raise for
 *    throttling, either before the request is sent or after it succeeded (the write happened but
 *    the caller sees a timeout).
 *  - redelivery: after a successful batch, the runner re-invokes the handler with the same or an
 *    earlier, overlapping range of records, as a replay from an older checkpoint would.
 *  - storm: for a stretch of invocations (`storms`), (nearly) every call to one service fails:
 *    a DynamoDB throttling storm (ProvisionedThroughputExceeded / Throttling errors, lost
 *    responses, BatchGetItem answered with every key unprocessed) or an SNS outage (throttled,
 *    or HTTP 500s). Then it clears.
 *
 * Crash and throttle faults are SDK v3 middleware (`applyChaos`) on the clients given to the
 * handler, so handler code is unchanged. They only fire inside an invocation the runner started
 * through `Chaos.beginInvocation` (tracked with AsyncLocalStorage), never for other users of the
 * same clients.
 *
 * Bounded: after `maxConsecutiveFaultyInvocations` faulty invocations on one shard lane, the next
 * invocation there runs clean, so every record is eventually processed without reaching the
 * on-failure destination as long as retryAttempts >= maxConsecutiveFaultyInvocations. Only a
 * forced outage (`setOutage`) and a storm ignore that bound; a storm ends by itself.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { InternalErrorException, SNSServiceException, ThrottledException } from '@aws-sdk/client-sns';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import { UserError } from '../contract/user-error';

/** Services whose calls chaos can fail; S3 calls only fail once their invocation has crashed. */
export type ChaosService = 'dynamodb' | 'sns' | 's3';

export interface ChaosOptions {
  /** Seed of every random decision; the same seed gives the same faults. */
  readonly seed: number;
  /**
   * Probability, per invocation, that it crashes after some UpdateItem calls.
   * @default 0.1
   */
  readonly crashProbability?: number;
  /**
   * A crashing invocation dies after 0..maxCrashAfterUpdates UpdateItem calls (uniform).
   * @default 5
   */
  readonly maxCrashAfterUpdates?: number;
  /**
   * Probability, per DynamoDB or SNS call, of a throttling fault.
   * @default 0.05
   */
  readonly throttleProbability?: number;
  /**
   * Share of throttling faults raised after the request succeeded (a lost response) instead of
   * before it was sent.
   * @default 0.3
   */
  readonly lostResponseProbability?: number;
  /**
   * Probability, per successful batch, that the runner delivers an overlapping range again.
   * @default 0.1
   */
  readonly redeliveryProbability?: number;
  /**
   * Faulty invocations in a row on one shard lane before chaos lets one run clean.
   * @default 2
   */
  readonly maxConsecutiveFaultyInvocations?: number;
  /**
   * Stretches of invocations during which (nearly) every call to a service fails.
   * @default - no storms
   */
  readonly storms?: readonly ChaosStorm[];
}

/**
 * A stretch of invocations during which (nearly) every call to one service fails, whatever the
 * lane's fault streak; then it clears. Invocations are counted over every scope, from 0, in the
 * order they begin (`counters.invocations` before the invocation).
 */
export interface ChaosStorm {
  readonly service: Exclude<ChaosService, 's3'>;
  /** The first invocation of the storm. @default 0 */
  readonly fromInvocation?: number;
  /** How many invocations the storm lasts, >= 1. */
  readonly invocations: number;
  /** Probability that a call made during the storm fails, 0–1. @default 1 */
  readonly probability?: number;
  /**
   * Share of the failed calls whose request went through and only the response was lost (the
   * caller sees a socket timeout), 0–1.
   * @default 0
   */
  readonly lostResponseShare?: number;
  /**
   * What the failed calls raise: `'throttling'` (DynamoDB ProvisionedThroughputExceededException
   * or ThrottlingException, SNS ThrottledException) or `'unavailable'` (HTTP 500: DynamoDB
   * InternalServerError, SNS InternalErrorException).
   * @default 'throttling'
   */
  readonly error?: 'throttling' | 'unavailable';
  /**
   * DynamoDB only: share of the failed BatchGetItem calls answered with every key unprocessed (how
   * DynamoDB throttles batch reads) instead of an error, 0–1.
   * @default 0
   */
  readonly unprocessedKeysShare?: number;
}

type ResolvedStorm = Required<ChaosStorm>;

/** Where an invocation runs: one shard, and one lane of it when the parallelization factor is > 1. */
export interface ChaosScope {
  readonly shardId: string;
  readonly lane: number;
}

export type ChaosFaultKind = 'crash' | 'throttle' | 'lost-response' | 'outage' | 'storm' | 'redelivery';

/** One injected fault. `scope`, `invocation` and `call` locate it independently of timing. */
export interface ChaosFault {
  readonly kind: ChaosFaultKind;
  /** `<shardId>#<lane>` */
  readonly scope: string;
  /** Invocation number within the scope, from 0. */
  readonly invocation: number;
  /** Call number within the invocation, from 0, in the order the handler started them. */
  readonly call?: number;
  readonly service?: ChaosService;
  readonly command?: string;
  readonly errorName?: string;
  /** For crashes: UpdateItem calls started before the crash. */
  readonly afterUpdates?: number;
  /** For redeliveries: the replayed range of the lane's recent records, end exclusive. */
  readonly range?: { readonly start: number; readonly end: number };
  /** For storms: the storm's index in `storms`, and how the call failed. */
  readonly storm?: number;
  readonly stormFault?: 'error' | 'lost-response' | 'unprocessed-keys';
}

export interface ChaosCounters {
  invocations: number;
  faultyInvocations: number;
  /** Invocations that ran clean because their lane hit maxConsecutiveFaultyInvocations. */
  cleanInvocationsForced: number;
  crashes: number;
  throttles: number;
  lostResponses: number;
  outageFaults: number;
  /** Calls failed by a storm (errors, lost responses and unprocessed-keys answers). */
  stormFaults: number;
  redeliveries: number;
  redeliveredRecords: number;
}

/** The error an invocation sees once chaos has crashed it. */
export class SimulatedCrashError extends Error {
  public override readonly name = 'SimulatedCrashError';
}

/** A response lost after the request succeeded; shaped like the SDK's socket timeout. */
export class SimulatedLostResponseError extends Error {
  public override readonly name = 'TimeoutError';
  public readonly code = 'ETIMEDOUT';
  public readonly $metadata = { attempts: 1, totalRetryDelay: 0 };
}

/** Raised for chaos options out of range. */
export class ChaosConfigError extends UserError {
  public override readonly name = 'ChaosConfigError';
}

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** FNV-1a over the parts: a stable 32-bit seed for one decision. */
export function hashSeed(...parts: ReadonlyArray<string | number>): number {
  let hash = 0x811c9dc5;
  for (const char of parts.join('\u0000')) {
    hash ^= char.codePointAt(0) as number;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

interface ScopeState {
  invocations: number;
  faultyStreak: number;
  redeliveryDecisions: number;
}

interface InvocationPlan {
  /** Crash once this many UpdateItem calls have started; undefined = no crash. */
  readonly crashAfterUpdates?: number;
  /** No throttles or crashes in this invocation (outages and storms still apply). */
  readonly clean: boolean;
  /** The storms this invocation falls in, with their indexes in `storms`. */
  readonly storms: ReadonlyArray<readonly [number, ResolvedStorm]>;
}

const MIDDLEWARE_NAME = 'sluiceChaos';

export class Chaos {
  readonly seed: number;
  readonly counters: ChaosCounters = {
    invocations: 0,
    faultyInvocations: 0,
    cleanInvocationsForced: 0,
    crashes: 0,
    throttles: 0,
    lostResponses: 0,
    outageFaults: 0,
    stormFaults: 0,
    redeliveries: 0,
    redeliveredRecords: 0,
  };
  private readonly options: Required<Omit<ChaosOptions, 'storms'>>;
  private readonly storms: readonly ResolvedStorm[];
  private readonly scopes = new Map<string, ScopeState>();
  private readonly outages = new Set<ChaosService>();
  private readonly log: ChaosFault[] = [];
  /** @internal */
  readonly storage = new AsyncLocalStorage<ChaosInvocation>();

  constructor(options: ChaosOptions) {
    const { storms = [], ...rest } = options;
    this.options = {
      crashProbability: 0.1,
      maxCrashAfterUpdates: 5,
      throttleProbability: 0.05,
      lostResponseProbability: 0.3,
      redeliveryProbability: 0.1,
      maxConsecutiveFaultyInvocations: 2,
      ...rest,
    };
    const o = this.options;
    if (!Number.isInteger(o.seed)) throw new ChaosConfigError(`seed: got ${o.seed}; must be an integer`);
    for (const key of [
      'crashProbability',
      'throttleProbability',
      'lostResponseProbability',
      'redeliveryProbability',
    ] as const) {
      if (!(o[key] >= 0 && o[key] <= 1))
        throw new ChaosConfigError(`${key}: got ${o[key]}; must be between 0 and 1`);
    }
    for (const key of ['maxCrashAfterUpdates', 'maxConsecutiveFaultyInvocations'] as const) {
      if (!Number.isInteger(o[key]) || o[key] < 0) {
        throw new ChaosConfigError(`${key}: got ${o[key]}; must be an integer >= 0`);
      }
    }
    this.storms = storms.map(resolveStorm);
    this.seed = o.seed;
  }

  /** Every fault injected so far, in the order they happened. */
  get faults(): readonly ChaosFault[] {
    return this.log;
  }

  /** While active, every call to `service` inside an invocation fails with a throttling error, unbounded. */
  setOutage(service: Exclude<ChaosService, 's3'>, active: boolean): void {
    if (active) this.outages.add(service);
    else this.outages.delete(service);
  }

  /** Starts an invocation in `scope`: decides its faults. Run the handler with `run`, then call `settle`. */
  beginInvocation(scope: ChaosScope): ChaosInvocation {
    const key = scopeKey(scope);
    const state = this.scopeState(key);
    const number = state.invocations++;
    const overall = this.counters.invocations++;
    const storms = this.storms.flatMap((storm, index) =>
      overall >= storm.fromInvocation && overall < storm.fromInvocation + storm.invocations
        ? [[index, storm] as const]
        : [],
    );
    const random = mulberry32(hashSeed(this.seed, key, number, 'plan'));
    const forcedClean = state.faultyStreak >= this.options.maxConsecutiveFaultyInvocations;
    if (forcedClean) this.counters.cleanInvocationsForced++;
    const crashes = !forcedClean && random() < this.options.crashProbability;
    const plan: InvocationPlan = {
      clean: forcedClean,
      crashAfterUpdates: crashes ? Math.floor(random() * (this.options.maxCrashAfterUpdates + 1)) : undefined,
      storms,
    };
    return new ChaosInvocation(this, key, number, plan, state);
  }

  /**
   * After a successful batch: whether to deliver records again, and which. `historyLength` is how
   * many recent successful records the lane keeps (oldest first), the last `lastBatchLength` of
   * them from the batch that just succeeded. Returns a range of that history, end exclusive,
   * that overlaps the last batch and holds at most `batchSize` records.
   */
  planRedelivery(
    scope: ChaosScope,
    history: { readonly historyLength: number; readonly lastBatchLength: number; readonly batchSize: number },
  ): { start: number; end: number } | undefined {
    const { historyLength, lastBatchLength, batchSize } = history;
    if (historyLength === 0 || lastBatchLength === 0) return undefined;
    const key = scopeKey(scope);
    const state = this.scopeState(key);
    const random = mulberry32(hashSeed(this.seed, key, state.redeliveryDecisions++, 'redeliver'));
    if (random() >= this.options.redeliveryProbability) return undefined;
    const last = Math.min(lastBatchLength, historyLength);
    const end = historyLength - Math.floor(random() * last);
    const earliest = Math.max(0, end - batchSize);
    const start = earliest + Math.floor(random() * (end - earliest));
    this.counters.redeliveries++;
    this.counters.redeliveredRecords += end - start;
    this.record({ kind: 'redelivery', scope: key, invocation: state.invocations, range: { start, end } });
    return { start, end };
  }

  /**
   * @internal Called by the middleware for every call made through a client with chaos applied.
   * `unprocessed` answers a BatchGetItem call with every key unprocessed, without sending it.
   */
  intercept<T>(
    service: ChaosService,
    command: string,
    send: () => Promise<T>,
    unprocessed?: () => T,
  ): Promise<T> {
    const invocation = this.storage.getStore();
    return invocation ? invocation.intercept(service, command, send, unprocessed) : send();
  }

  /** @internal */
  isOutage(service: ChaosService): boolean {
    return this.outages.has(service);
  }

  /** @internal */
  get settings(): Required<Omit<ChaosOptions, 'storms'>> {
    return this.options;
  }

  /** @internal */
  record(fault: ChaosFault): void {
    this.log.push(fault);
  }

  private scopeState(key: string): ScopeState {
    let state = this.scopes.get(key);
    if (!state) {
      state = { invocations: 0, faultyStreak: 0, redeliveryDecisions: 0 };
      this.scopes.set(key, state);
    }
    return state;
  }
}

/** One invocation under chaos; created by `Chaos.beginInvocation`. */
export class ChaosInvocation {
  private calls = 0;
  private updatesStarted = 0;
  private faulted = false;
  private crash: SimulatedCrashError | undefined;
  private settled = false;

  constructor(
    private readonly chaos: Chaos,
    readonly scope: string,
    readonly number: number,
    private readonly plan: InvocationPlan,
    private readonly state: ScopeState,
  ) {}

  /** Runs the handler so that calls it makes through chaos-wrapped clients belong to this invocation. */
  run<T>(handler: () => Promise<T>): Promise<T> {
    return this.chaos.storage.run(this, handler);
  }

  /** True once the invocation has crashed. */
  get crashed(): boolean {
    return this.crash !== undefined;
  }

  /**
   * Ends the invocation: applies a crash planned for after the last call, updates the lane's
   * fault streak, and returns the crash if the invocation crashed (the runner must then treat it
   * as failed whatever the handler returned).
   */
  settle(): SimulatedCrashError | undefined {
    if (this.settled) return this.crash;
    this.settled = true;
    const after = this.plan.crashAfterUpdates;
    if (!this.crash && after !== undefined && this.updatesStarted >= after) this.fireCrash();
    if (this.faulted) {
      this.chaos.counters.faultyInvocations++;
      this.state.faultyStreak++;
    } else {
      this.state.faultyStreak = 0;
    }
    return this.crash;
  }

  /** @internal */
  async intercept<T>(
    service: ChaosService,
    command: string,
    send: () => Promise<T>,
    unprocessed?: () => T,
  ): Promise<T> {
    const call = this.calls++;
    if (this.crash) throw this.crash;
    const after = this.plan.crashAfterUpdates;
    if (after !== undefined && this.updatesStarted >= after) throw this.fireCrash();
    if (command === 'UpdateItemCommand') this.updatesStarted++;
    if (service !== 's3' && this.chaos.isOutage(service)) {
      const error = throttleError(service, this.scope, this.number, call, 0);
      this.fault({ kind: 'outage', call, service, command, errorName: error.name });
      this.chaos.counters.outageFaults++;
      throw error;
    }
    for (const [index, storm] of this.plan.storms) {
      if (storm.service !== service) continue;
      const random = mulberry32(hashSeed(this.chaos.seed, this.scope, this.number, 'storm', index, call));
      if (random() >= storm.probability) continue;
      const fault = { kind: 'storm' as const, call, service, command, storm: index };
      this.chaos.counters.stormFaults++;
      if (random() < storm.lostResponseShare) {
        await send();
        const error = lostResponseError(command);
        this.fault({ ...fault, errorName: error.name, stormFault: 'lost-response' });
        throw error;
      }
      if (unprocessed && command === 'BatchGetItemCommand' && random() < storm.unprocessedKeysShare) {
        this.fault({ ...fault, errorName: 'UnprocessedKeys', stormFault: 'unprocessed-keys' });
        return unprocessed();
      }
      const error =
        storm.error === 'unavailable'
          ? unavailableError(service, this.scope, this.number, call)
          : throttleError(service, this.scope, this.number, call, random());
      this.fault({ ...fault, errorName: error.name, stormFault: 'error' });
      throw error;
    }
    let lostResponse = false;
    if (!this.plan.clean && service !== 's3') {
      const random = mulberry32(hashSeed(this.chaos.seed, this.scope, this.number, 'call', call));
      if (random() < this.chaos.settings.throttleProbability) {
        if (random() < this.chaos.settings.lostResponseProbability) {
          lostResponse = true;
        } else {
          const error = throttleError(service, this.scope, this.number, call, random());
          this.fault({ kind: 'throttle', call, service, command, errorName: error.name });
          this.chaos.counters.throttles++;
          throw error;
        }
      }
    }
    const result = await send();
    if (lostResponse) {
      const error = lostResponseError(command);
      this.fault({ kind: 'lost-response', call, service, command, errorName: error.name });
      this.chaos.counters.lostResponses++;
      throw error;
    }
    return result;
  }

  private fireCrash(): SimulatedCrashError {
    this.crash = new SimulatedCrashError(
      `chaos: invocation ${this.number} of ${this.scope} crashed after ${this.updatesStarted} UpdateItem calls`,
    );
    this.fault({ kind: 'crash', afterUpdates: this.updatesStarted });
    this.chaos.counters.crashes++;
    return this.crash;
  }

  private fault(fault: Omit<ChaosFault, 'scope' | 'invocation'>): void {
    this.faulted = true;
    this.chaos.record({ scope: this.scope, invocation: this.number, ...fault });
  }
}

function scopeKey(scope: ChaosScope): string {
  return `${scope.shardId}#${scope.lane}`;
}

function resolveStorm(storm: ChaosStorm, index: number): ResolvedStorm {
  const resolved: ResolvedStorm = {
    fromInvocation: 0,
    probability: 1,
    lostResponseShare: 0,
    error: 'throttling',
    unprocessedKeysShare: 0,
    ...storm,
  };
  const where = `storms[${index}]`;
  if (resolved.service !== 'dynamodb' && resolved.service !== 'sns')
    throw new ChaosConfigError(
      `${where}.service: got ${JSON.stringify(resolved.service)}; must be "dynamodb" or "sns"`,
    );
  for (const key of ['fromInvocation', 'invocations'] as const) {
    const min = key === 'invocations' ? 1 : 0;
    if (!Number.isInteger(resolved[key]) || resolved[key] < min)
      throw new ChaosConfigError(`${where}.${key}: got ${resolved[key]}; must be an integer >= ${min}`);
  }
  for (const key of ['probability', 'lostResponseShare', 'unprocessedKeysShare'] as const) {
    if (!(resolved[key] >= 0 && resolved[key] <= 1))
      throw new ChaosConfigError(`${where}.${key}: got ${resolved[key]}; must be between 0 and 1`);
  }
  if (resolved.error !== 'throttling' && resolved.error !== 'unavailable')
    throw new ChaosConfigError(
      `${where}.error: got ${JSON.stringify(resolved.error)}; must be "throttling" or "unavailable"`,
    );
  return resolved;
}

function lostResponseError(command: string): SimulatedLostResponseError {
  return new SimulatedLostResponseError(
    `chaos: lost the response to ${command} (the request succeeded); socket timed out`,
  );
}

/** The response metadata of a simulated service error; the request id is stable per call. */
function errorMetadata(httpStatusCode: number, scope: string, invocation: number, call: number) {
  return {
    httpStatusCode,
    requestId: `chaos-${hashSeed(scope, invocation, call).toString(16)}`,
    attempts: 1,
    totalRetryDelay: 0,
  };
}

/** The error the SDK raises for an HTTP 500 from the service. */
function unavailableError(
  service: Exclude<ChaosService, 's3'>,
  scope: string,
  invocation: number,
  call: number,
): DynamoDBServiceException | SNSServiceException {
  const $metadata = errorMetadata(500, scope, invocation, call);
  const error =
    service === 'sns'
      ? new InternalErrorException({ $metadata, message: 'Internal Error' })
      : new InternalServerError({ $metadata, message: 'Internal server error' });
  error.$retryable = {};
  return error;
}

/** The error the SDK raises when the service throttles a call, with its metadata and retry hints. */
function throttleError(
  service: Exclude<ChaosService, 's3'>,
  scope: string,
  invocation: number,
  call: number,
  pick: number,
): DynamoDBServiceException | SNSServiceException {
  const $metadata = errorMetadata(400, scope, invocation, call);
  let error: DynamoDBServiceException | SNSServiceException;
  if (service === 'sns') {
    error = new ThrottledException({ $metadata, message: 'Rate exceeded' });
  } else if (pick < 0.5) {
    error = new ProvisionedThroughputExceededException({
      $metadata,
      message:
        'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
    });
  } else {
    error = new ThrottlingException({
      $metadata,
      message: 'Rate of requests exceeds the allowed throughput.',
    });
  }
  error.$retryable = { throttling: true };
  return error;
}

/** Clients whose calls chaos may fail. S3 is optional: it only fails after a crash. */
export interface ChaosTargets {
  readonly dynamodb: DynamoDBClient;
  readonly sns: SNSClient;
  readonly s3?: S3Client;
}

/**
 * Adds the chaos middleware to the clients' middleware stacks (at the initialize step, above the
 * SDK's retry layer, so a fault reaches the handler as if the SDK's own retries were exhausted).
 * Applying it again replaces the previous chaos on those clients.
 */
export function applyChaos(clients: ChaosTargets, chaos: Chaos): void {
  const targets: Array<[ChaosService, ChaosClient | undefined]> = [
    ['dynamodb', clients.dynamodb as unknown as ChaosClient],
    ['sns', clients.sns as unknown as ChaosClient],
    ['s3', clients.s3 as unknown as ChaosClient | undefined],
  ];
  for (const [service, client] of targets) {
    client?.middlewareStack.add(
      (next, context) => (args) =>
        chaos.intercept(
          service,
          context.commandName ?? 'unknown',
          () => next(args),
          () => unprocessedKeysAnswer(args),
        ),
      { step: 'initialize', name: MIDDLEWARE_NAME, priority: 'high', override: true },
    );
  }
}

/** A BatchGetItem answer that reads nothing and leaves every requested key unprocessed. */
function unprocessedKeysAnswer(args: unknown): unknown {
  const requestItems =
    (args as { input?: { RequestItems?: Record<string, unknown> } }).input?.RequestItems ?? {};
  return {
    output: {
      $metadata: { httpStatusCode: 200, attempts: 1, totalRetryDelay: 0 },
      Responses: Object.fromEntries(Object.keys(requestItems).map((table) => [table, []])),
      UnprocessedKeys: requestItems,
    },
    response: {},
  };
}

/** Removes chaos from clients it was applied to. */
export function removeChaos(clients: ChaosTargets): void {
  for (const client of [clients.dynamodb, clients.sns, clients.s3] as Array<ChaosClient | undefined>) {
    client?.middlewareStack.remove(MIDDLEWARE_NAME);
  }
}

/**
 * The slice of a client's middleware stack chaos needs, typed loosely: the three clients have
 * different input and output types, and the middleware passes both through untouched.
 */
interface ChaosClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name: string; priority: 'high'; override: boolean },
    ): void;
    remove(name: string): boolean;
  };
}
