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
 * Bounded: after `maxConsecutiveFaultyInvocations` faulty invocations on one shard slot, the next
 * invocation there runs clean, so every record is eventually processed without reaching the
 * on-failure destination as long as retryAttempts >= maxConsecutiveFaultyInvocations. Only a
 * forced outage (`setOutage`) and a storm ignore that bound; a storm ends by itself.
 *
 * Parts, in local/chaos/: this module (the injector: per-scope state, counters, the fault log,
 * outages), planner.ts (the seeded decisions), invocation.ts (one invocation's calls), options.ts,
 * types.ts, errors.ts (chaos's errors and the SDK errors it imitates), prng.ts and middleware.ts
 * (`applyChaos`, `removeChaos`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ChaosInvocation, type InvocationHost, type ScopeState } from './invocation';
import { resolveChaosOptions, type ChaosOptions, type ChaosSettings, type ResolvedStorm } from './options';
import { planInvocation, planRedelivery, type RedeliveryHistory } from './planner';
import type { ChaosCounters, ChaosFault, ChaosScope, ChaosService } from './types';

export class Chaos implements InvocationHost {
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
  private readonly options: ChaosSettings;
  private readonly storms: readonly ResolvedStorm[];
  private readonly scopes = new Map<string, ScopeState>();
  private readonly outages = new Set<ChaosService>();
  private readonly log: ChaosFault[] = [];
  /** @internal */
  readonly storage = new AsyncLocalStorage<ChaosInvocation>();

  constructor(options: ChaosOptions) {
    const { settings, storms } = resolveChaosOptions(options);
    this.options = settings;
    this.storms = storms;
    this.seed = settings.seed;
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
    const forcedClean = state.faultyStreak >= this.options.maxConsecutiveFaultyInvocations;
    if (forcedClean) this.counters.cleanInvocationsForced++;
    const plan = planInvocation(this.seed, this.options, this.storms, {
      scope: key,
      number,
      overall,
      forcedClean,
    });
    return new ChaosInvocation(this, key, number, plan, state);
  }

  /**
   * After a successful batch: whether to deliver records again, and which. `historyLength` is how
   * many recent successful records the slot keeps (oldest first), the last `lastBatchLength` of
   * them from the batch that just succeeded. Returns a range of that history, end exclusive,
   * that overlaps the last batch and holds at most `batchSize` records.
   */
  planRedelivery(scope: ChaosScope, history: RedeliveryHistory): { start: number; end: number } | undefined {
    if (history.historyLength === 0 || history.lastBatchLength === 0) return undefined;
    const key = scopeKey(scope);
    const state = this.scopeState(key);
    const decision = state.redeliveryDecisions++;
    const range = planRedelivery(
      this.seed,
      this.options.redeliveryProbability,
      { scope: key, decision },
      history,
    );
    if (!range) return undefined;
    const { start, end } = range;
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
  get settings(): ChaosSettings {
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

function scopeKey(scope: ChaosScope): string {
  const key = `${scope.shardId}#${scope.slot}`;
  return scope.consumer === undefined ? key : `${scope.consumer}/${key}`;
}
