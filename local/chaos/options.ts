/** Chaos options: the fault rates and storms, their defaults, and their validation. */
import { ChaosConfigError } from './errors';
import type { ChaosService } from './types';

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
   * Faulty invocations in a row on one shard slot before chaos lets one run clean.
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
 * slot's fault streak; then it clears. Invocations are counted over every scope, from 0, in the
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

export type ResolvedStorm = Required<ChaosStorm>;

/** The options with every default filled in, storms aside. */
export type ChaosSettings = Required<Omit<ChaosOptions, 'storms'>>;

/** Fills in the defaults and checks every option; throws `ChaosConfigError` naming the first problem. */
export function resolveChaosOptions(options: ChaosOptions): {
  readonly settings: ChaosSettings;
  readonly storms: readonly ResolvedStorm[];
} {
  const { storms = [], ...rest } = options;
  const settings: ChaosSettings = {
    crashProbability: 0.1,
    maxCrashAfterUpdates: 5,
    throttleProbability: 0.05,
    lostResponseProbability: 0.3,
    redeliveryProbability: 0.1,
    maxConsecutiveFaultyInvocations: 2,
    ...rest,
  };
  const o = settings;
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
  return { settings, storms: storms.map(resolveStorm) };
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
