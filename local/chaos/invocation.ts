/**
 * One invocation under chaos: its calls, counted in the order the handler starts them, fail as its
 * plan, the storms and any outage say; a crash fails every call after it and the invocation itself.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import { lostResponseError, SimulatedCrashError, throttleError, unavailableError } from './errors';
import type { ChaosSettings } from './options';
import type { InvocationPlan } from './planner';
import { hashSeed, mulberry32 } from './prng';
import type { ChaosCounters, ChaosFault, ChaosService } from './types';

/** What chaos keeps per scope (one slot of one shard). */
export interface ScopeState {
  invocations: number;
  faultyStreak: number;
  redeliveryDecisions: number;
}

/** What an invocation needs of the `Chaos` that began it. */
export interface InvocationHost {
  readonly seed: number;
  readonly counters: ChaosCounters;
  readonly settings: ChaosSettings;
  /** Tells the middleware which invocation a call belongs to. */
  readonly storage: AsyncLocalStorage<ChaosInvocation>;
  isOutage(service: ChaosService): boolean;
  record(fault: ChaosFault): void;
}

/** One invocation under chaos; created by `Chaos.beginInvocation`. */
export class ChaosInvocation {
  private calls = 0;
  private updatesStarted = 0;
  private faulted = false;
  private crash: SimulatedCrashError | undefined;
  private settled = false;

  constructor(
    private readonly chaos: InvocationHost,
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
   * Ends the invocation: applies a crash planned for after the last call, updates the slot's
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
