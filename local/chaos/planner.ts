/**
 * The fault planner: pure decisions, drawn from the seed and the decision's place (scope, number),
 * so the same seed plans the same faults whatever the timing. What happens to one invocation is
 * decided when it begins; whether a successful batch is delivered again, after it.
 */
import type { ChaosSettings, ResolvedStorm } from './options';
import { hashSeed, mulberry32 } from './prng';

export interface InvocationPlan {
  /** Crash once this many UpdateItem calls have started; undefined = no crash. */
  readonly crashAfterUpdates?: number;
  /** No throttles or crashes in this invocation (outages and storms still apply). */
  readonly clean: boolean;
  /** The storms this invocation falls in, with their indexes in `storms`. */
  readonly storms: ReadonlyArray<readonly [number, ResolvedStorm]>;
}

/**
 * The plan of invocation `number` of `scope`, the `overall`-th invocation of all scopes.
 * `forcedClean`: the scope hit maxConsecutiveFaultyInvocations, so this one runs clean.
 */
export function planInvocation(
  seed: number,
  settings: ChaosSettings,
  storms: readonly ResolvedStorm[],
  at: {
    readonly scope: string;
    readonly number: number;
    readonly overall: number;
    readonly forcedClean: boolean;
  },
): InvocationPlan {
  const { scope, number, overall, forcedClean } = at;
  const stormsNow = storms.flatMap((storm, index) =>
    overall >= storm.fromInvocation && overall < storm.fromInvocation + storm.invocations
      ? [[index, storm] as const]
      : [],
  );
  const random = mulberry32(hashSeed(seed, scope, number, 'plan'));
  const crashes = !forcedClean && random() < settings.crashProbability;
  return {
    clean: forcedClean,
    crashAfterUpdates: crashes ? Math.floor(random() * (settings.maxCrashAfterUpdates + 1)) : undefined,
    storms: stormsNow,
  };
}

/** What a slot remembers of its recent successful records, for a redelivery. */
export interface RedeliveryHistory {
  /** Recent successful records the slot keeps, oldest first. */
  readonly historyLength: number;
  /** How many of the last of them came from the batch that just succeeded. */
  readonly lastBatchLength: number;
  readonly batchSize: number;
}

/**
 * The `decision`-th redelivery decision of `scope`: undefined, or a range of the history, end
 * exclusive, that overlaps the last batch and holds at most `batchSize` records.
 */
export function planRedelivery(
  seed: number,
  redeliveryProbability: number,
  at: { readonly scope: string; readonly decision: number },
  history: RedeliveryHistory,
): { start: number; end: number } | undefined {
  const { historyLength, lastBatchLength, batchSize } = history;
  const random = mulberry32(hashSeed(seed, at.scope, at.decision, 'redeliver'));
  if (random() >= redeliveryProbability) return undefined;
  const last = Math.min(lastBatchLength, historyLength);
  const end = historyLength - Math.floor(random() * last);
  const earliest = Math.max(0, end - batchSize);
  const start = earliest + Math.floor(random() * (end - earliest));
  return { start, end };
}
