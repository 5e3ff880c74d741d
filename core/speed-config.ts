/**
 * The speed layer's resolved settings: what the stream processor needs at run time, with every
 * duration already in milliseconds. Built from the user's config by `contract/config.ts`
 * (`toSpeedConfig`) and handed to the Lambda as the `SLUICE_SPEED_CONFIG` environment variable.
 */

/** An event-time window aligned to the Unix epoch. Tumbling when `hopMs === sizeMs`. */
export interface WindowSpec {
  readonly name: string;
  readonly sizeMs: number;
  readonly hopMs: number;
}

export type AlertOperator = '>' | '>=' | '<' | '<=';
export type AlertAggregate = 'value' | 'avg' | 'min' | 'max' | 'sum' | 'count';

export interface AlertRule {
  readonly id: string;
  /** Only events of this metric are evaluated. */
  readonly metric: string;
  /** `'value'` evaluates each event; otherwise the name of a window whose aggregate is evaluated. */
  readonly source: string;
  /** `'value'` when `source` is `'value'`; otherwise the aggregate of the window to compare. */
  readonly aggregate: AlertAggregate;
  readonly op: AlertOperator;
  readonly threshold: number;
  /** Minimum event-time distance between two alerts of one (sensor, rule). */
  readonly cooldownMs: number;
  readonly severity: string;
}

export interface SpeedConfig {
  readonly windows: readonly WindowSpec[];
  readonly alertRules: readonly AlertRule[];
  /** Valid events older than this (relative to processing time) are counted as late and skipped. */
  readonly latenessMs: number;
  /** Events further than this in the future (relative to processing time) are invalid. */
  readonly maxClockSkewMs: number;
  /** How long an aggregate item lives after its window ends (DynamoDB TTL). */
  readonly aggregateTtlMs: number;
  /**
   * The event source's parallelization factor (see `laneId`): at 1 a shard's records arrive strictly
   * in order and exactly-once marks are kept per shard; above 1, per shard and partition key. It
   * must be the event source mapping's own setting: each function gets its own mapping's factor
   * (`processor.parallelizationFactor` or `alertProcessor.parallelizationFactor`).
   */
  readonly parallelizationFactor: number;
}

export const SPEED_CONFIG_ENV = 'SLUICE_SPEED_CONFIG';

/** The environment variable that hands the configured windows (JSON `WindowSpec[]`) to a reader of the aggregates table. */
export const WINDOWS_ENV = 'SLUICE_WINDOWS';

/**
 * What one stream processor does with a batch. `all`: everything (validate and quarantine,
 * aggregate, every alert rule). `alerts`: only the per-event (`source: "value"`) rules, no
 * aggregates, no quarantine, so it can run with a batching window of 0 s. `aggregates`: everything
 * but the per-event rules, so it can run with a long batching window. `alerts` and `aggregates` run
 * side by side on the same stream; `all` runs alone.
 */
export const PROCESSOR_ROLES = ['all', 'aggregates', 'alerts'] as const;
export type ProcessorRole = (typeof PROCESSOR_ROLES)[number];

/** The function environment variable that tells the stream processor its role. */
export const PROCESSOR_ROLE_ENV = 'SLUICE_PROCESSOR_ROLE';

export function isProcessorRole(value: unknown): value is ProcessorRole {
  return (PROCESSOR_ROLES as readonly unknown[]).includes(value);
}
