/**
 * Sluice configuration: one JSON file (`sluice.config.json` by default), every field optional,
 * defaults below. `loadConfig` merges the file over the defaults and validates the result; every
 * error names the field, the value given and what is allowed.
 *
 * This module imports no CDK code: the CDK app, the local runtime and the CLI all read config
 * through it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatDuration, parseDuration } from '../core/duration';
import { isHopping, paneMs } from '../core/panes';
import { MAX_ALERT_TIMES, MAX_PANES_PER_WINDOW, alertTimesBound, minimumCooldownMs } from './storage-limits';
import type { AlertAggregate, AlertOperator, AlertRule, SpeedConfig, WindowSpec } from '../core/speed-config';
import { EVENT_SOURCE_LIMITS as ESM } from './event-source-limits';
import { UserError } from './user-error';

/** A window as written in config: `size` and optional `hop` are durations (`"5m"`). */
export interface WindowConfig {
  readonly name: string;
  readonly size: string;
  /** @default - equal to `size` (a tumbling window) */
  readonly hop?: string;
}

export interface AlertRuleConfig {
  readonly id: string;
  readonly metric: string;
  /** `"value"` (each event) or the name of a configured window. */
  readonly source: string;
  readonly aggregate: AlertAggregate;
  readonly op: AlertOperator;
  readonly threshold: number;
  readonly cooldown: string;
  readonly severity: 'info' | 'warning' | 'critical';
}

export interface StreamConfig {
  /** `on-demand` scales by itself; `provisioned` uses `shardCount`. */
  readonly mode: 'on-demand' | 'provisioned';
  /** Only with `mode: "provisioned"`; 1–500. */
  readonly shardCount?: number;
  /** How long records stay readable: 24h–8760h (365 days). */
  readonly retention: string;
  /**
   * Producers write KPL aggregated records (contract v1.1). The speed layer decodes them whatever
   * this says; true requires `parallelizationFactor` 1 on both processors: Lambda keeps order per
   * partition key of a Kinesis record only, which KPL sets to one of its user records' keys, and
   * its docs rule out the factor with aggregation (docs/packed-records.md). `sluice produce --pack
   * kpl` needs it true.
   */
  readonly kplAggregation: boolean;
}

/** The settings of one stream processor: its event source mapping and its function. */
export interface ProcessorConfig {
  /** Records per Lambda invocation, 1–10000. */
  readonly batchSize: number;
  /**
   * Time Lambda gathers records before invoking, 0s–300s. The aggregate processor's default, 30s,
   * lets one DynamoDB write absorb up to 30 s of a sensor's events (docs/cost.md); its aggregates
   * (and window-rule alerts) are that much later. The alert processor's default is 0s, AWS's own:
   * an invocation as soon as records are read (about once a second per shard).
   */
  readonly maxBatchingWindow: string;
  /** Concurrent batches per shard, 1–10. */
  readonly parallelizationFactor: number;
  /** Retries of a failing batch before it goes to the on-failure queue, 0–10000. */
  readonly retryAttempts: number;
  /** Records older than this are sent to the on-failure queue unprocessed, 60s–7d. */
  readonly maxRecordAge: string;
  /** Lambda memory, 128–10240 MiB. */
  readonly memorySize: number;
  /** Lambda timeout, 1s–900s. */
  readonly timeout: string;
}

/**
 * The alert processor: a second event source mapping on the stream, running the same handler in
 * role `alerts` (per-event rules only, no aggregates, no quarantine), so that value alerts do not
 * wait for the aggregate processor's batching window.
 */
export interface AlertProcessorConfig extends ProcessorConfig {
  /**
   * false: no alert processor; the aggregate processor (`processor`) runs every rule (role `all`).
   * true without any `source: "value"` rule creates no alert processor either: it would have
   * nothing to do.
   */
  readonly enabled: boolean;
}

/** Auto scaling range of one kind of provisioned capacity, in units per second. */
export interface CapacityRange {
  /** 1–40000. */
  readonly min: number;
  /** min–40000 (DynamoDB's default per-table quota): the most this table can cost per hour. */
  readonly max: number;
}

/** How the aggregates table (aggregates and alert state) is billed. */
export interface AggregatesTableConfig {
  /**
   * `provisioned`: capacity that auto scaling keeps at `targetUtilization` of what is consumed,
   * about 2.5× cheaper than `on-demand` for the speed layer's steady writes (docs/cost.md);
   * `on-demand`: pay per request, no capacity to size, for spiky or unknown traffic.
   */
  readonly billingMode: 'provisioned' | 'on-demand';
  readonly writeCapacity: CapacityRange;
  readonly readCapacity: CapacityRange;
  /** Auto scaling's target consumed / provisioned, 0.2–0.9. */
  readonly targetUtilization: number;
}

export interface LakeConfig {
  /** Days before raw objects move to S3 Infrequent Access (≥ 30). */
  readonly rawInfrequentAccessAfterDays: number;
  /** Days before raw objects expire; must be after the IA transition. */
  readonly rawExpireAfterDays: number;
  /** Days before quarantined records expire. */
  readonly quarantineExpireAfterDays: number;
  /** Days before Athena query results expire. */
  readonly athenaResultsExpireAfterDays: number;
}

export interface FirehoseConfig {
  /** Buffer interval, 0s–900s. */
  readonly bufferInterval: string;
  /** Buffer size, 1–128 MiB. */
  readonly bufferSizeMiB: number;
}

export interface BatchConfig {
  /** EventBridge Scheduler expression for the daily job. */
  readonly schedule: string;
  /** Per-query Athena scan limit in bytes (≥ 10 MiB). */
  readonly bytesScannedCutoffPerQuery: number;
}

/** The speed-layer repair of given-up batches (docs/speed-repair.md). */
export interface RepairConfig {
  /**
   * How often the repair function runs (an EventBridge rate), whole minutes, 1m–1d. Each run takes up
   * to 100 given-up batches per on-failure queue; an empty queue costs one ReceiveMessage call.
   */
  readonly schedule: string;
}

/** Thresholds of the CloudWatch alarms that notify the ops topic (see docs/runbook.md). */
export interface AlarmsConfig {
  /**
   * Address of docs/runbook.md as operators can open it (e.g. its GitHub URL); alarm descriptions
   * and dashboard text link `<runbookUrl>#<section>`. Empty: sections are named, not linked.
   */
  readonly runbookUrl: string;
  /** Speed layer falling behind: alarm when the processor's maximum iterator age reaches this, 1m–7d. */
  readonly iteratorAge: string;
  /** Alarm when the processor's failed invocations in 5 minutes reach this, 1 or more. */
  readonly processorErrors: number;
  /**
   * Raw landing stalled: alarm when Firehose's oldest undelivered record is this old
   * (`DeliveryToS3.DataFreshness`), 1m–1d and longer than `firehose.bufferInterval`.
   */
  readonly firehoseDataFreshness: string;
  /** Alarm when throttled DynamoDB requests (reads + writes) in 5 minutes reach this, 1 or more. */
  readonly dynamoDbThrottles: number;
  /** Alarm when invalid events exceed this fraction of the events received in 15 minutes, above 0 up to 1. */
  readonly invalidEventRatio: number;
  /**
   * Alarm when a day's reconciliation finds a speed-layer hour differing from the batch layer by more
   * than this relative difference (0.05 = 5 %), above 0.
   */
  readonly reconciliationDrift: number;
}

/** How the speed layer's hourly windows are compared with the batch layer's hourly stats. */
export interface ReconciliationConfig {
  /** Relative differences at or below this count as equal (rounding), 0 up to (not including) 1. */
  readonly tolerance: number;
  /** How many of the largest differences each report lists, 0–1000. */
  readonly maxDifferences: number;
}

export interface SluiceConfig {
  /** Deployment stage, part of every resource name: lowercase letters, digits and `-`, 1–16 chars. */
  readonly stage: string;
  readonly stream: StreamConfig;
  readonly windows: readonly WindowConfig[];
  readonly alertRules: readonly AlertRuleConfig[];
  /** Valid events older than this are late: the speed layer skips them, the batch layer keeps them. */
  readonly lateness: string;
  /** Events further in the future than this are invalid. */
  readonly maxClockSkew: string;
  /** How long a speed-layer aggregate lives after its window ends. */
  readonly aggregateTtl: string;
  /** The aggregate processor (quarantine, aggregates, window rules; every rule without the alert processor). */
  readonly processor: ProcessorConfig;
  /** The alert processor (per-event rules), beside the aggregate processor on the same stream. */
  readonly alertProcessor: AlertProcessorConfig;
  readonly aggregatesTable: AggregatesTableConfig;
  readonly lake: LakeConfig;
  readonly firehose: FirehoseConfig;
  readonly batch: BatchConfig;
  readonly repair: RepairConfig;
  /** CloudWatch Logs retention for every log group, in days. */
  readonly logRetentionDays: number;
  readonly alarms: AlarmsConfig;
  readonly reconciliation: ReconciliationConfig;
}

export const DEFAULT_CONFIG: SluiceConfig = {
  stage: 'dev',
  stream: { mode: 'provisioned', shardCount: 5, retention: '24h', kplAggregation: false },
  windows: [
    { name: '1m', size: '1m' },
    { name: '5m', size: '5m', hop: '1m' },
    { name: '1h', size: '1h' },
  ],
  alertRules: [
    {
      id: 'temperature-high',
      metric: 'temperature',
      source: 'value',
      aggregate: 'value',
      op: '>',
      threshold: 28,
      cooldown: '5m',
      severity: 'warning',
    },
  ],
  lateness: '24h',
  maxClockSkew: '5m',
  aggregateTtl: '7d',
  processor: {
    batchSize: 10_000,
    maxBatchingWindow: '45s',
    parallelizationFactor: 1,
    retryAttempts: 5,
    maxRecordAge: '1h',
    memorySize: 1024,
    timeout: '60s',
  },
  alertProcessor: {
    enabled: true,
    batchSize: 500,
    maxBatchingWindow: '0s',
    parallelizationFactor: 1,
    retryAttempts: 5,
    maxRecordAge: '1h',
    memorySize: 512,
    timeout: '60s',
  },
  aggregatesTable: {
    billingMode: 'provisioned',
    writeCapacity: { min: 5, max: 40_000 },
    readCapacity: { min: 5, max: 40_000 },
    targetUtilization: 0.7,
  },
  lake: {
    rawInfrequentAccessAfterDays: 30,
    rawExpireAfterDays: 365,
    quarantineExpireAfterDays: 90,
    athenaResultsExpireAfterDays: 30,
  },
  firehose: { bufferInterval: '60s', bufferSizeMiB: 64 },
  batch: { schedule: 'cron(0 2 * * ? *)', bytesScannedCutoffPerQuery: 10 * 1024 ** 3 },
  repair: { schedule: '15m' },
  logRetentionDays: 30,
  alarms: {
    runbookUrl: '',
    iteratorAge: '5m',
    processorErrors: 5,
    firehoseDataFreshness: '15m',
    dynamoDbThrottles: 10,
    invalidEventRatio: 0.05,
    reconciliationDrift: 0.05,
  },
  reconciliation: { tolerance: 1e-6, maxDifferences: 20 },
};

/** Raised for a config that cannot be used; `issues` lists every problem found, not just the first. */
export class ConfigError extends UserError {
  public override readonly name = 'ConfigError';
  constructor(
    public readonly issues: readonly string[],
    source = 'config',
  ) {
    super(`Invalid Sluice ${source}:\n  - ${issues.join('\n  - ')}`);
  }
}

const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
const OPERATORS: readonly AlertOperator[] = ['>', '>=', '<', '<='];
const AGGREGATES: readonly AlertAggregate[] = ['value', 'avg', 'min', 'max', 'sum', 'count'];
const SEVERITIES = ['info', 'warning', 'critical'] as const;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep-merges `override` over `base`; arrays and scalars replace, objects merge key by key. */
function mergeOver(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (isObject(base) && isObject(override)) {
    const merged: Json = { ...base };
    for (const [key, value] of Object.entries(override)) merged[key] = mergeOver(base[key], value);
    return merged;
  }
  return override;
}

/** Accumulates problems; each check reports `field: got <value>; <what is allowed>`. */
class Checker {
  readonly issues: string[] = [];

  fail(field: string, value: unknown, allowed: string): void {
    this.issues.push(`${field}: got ${JSON.stringify(value)}; ${allowed}`);
  }

  string(field: string, value: unknown, pattern: RegExp, allowed: string): value is string {
    if (typeof value === 'string' && pattern.test(value)) return true;
    this.fail(field, value, allowed);
    return false;
  }

  integer(field: string, value: unknown, min: number, max: number): value is number {
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return true;
    this.fail(field, value, `must be an integer between ${min} and ${max} inclusive`);
    return false;
  }

  duration(field: string, value: unknown, minMs: number, maxMs: number): number | undefined {
    const ms = parseDuration(value);
    if (ms !== undefined && ms >= minMs && ms <= maxMs) return ms;
    this.fail(
      field,
      value,
      `must be a duration like "30s", "5m" or "1h" between ${formatDuration(minMs)} and ${formatDuration(maxMs)}`,
    );
    return undefined;
  }

  /** A duration that must also be whole seconds or hours: the unit the AWS setting is given in. */
  wholeDuration(
    field: string,
    value: unknown,
    minMs: number,
    maxMs: number,
    unit: 'seconds' | 'minutes' | 'hours',
  ): number | undefined {
    const ms = this.duration(field, value, minMs, maxMs);
    const unitMs = { seconds: 1_000, minutes: 60_000, hours: 3_600_000 }[unit];
    if (ms === undefined || ms % unitMs === 0) return ms;
    this.fail(field, value, `must be a whole number of ${unit} (AWS takes this setting in ${unit})`);
    return undefined;
  }

  /** A finite number in [min, max], with either end optionally excluded. */
  number(
    field: string,
    value: unknown,
    min: number,
    max: number,
    allowed: string,
    excludeMin = false,
    excludeMax = true,
  ): value is number {
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (excludeMin ? value > min : value >= min) &&
      (excludeMax ? value < max : value <= max);
    if (!ok) this.fail(field, value, `must be a number ${allowed}`);
    return ok;
  }

  oneOf<T>(field: string, value: unknown, allowed: readonly T[]): value is T {
    if (allowed.includes(value as T)) return true;
    this.fail(field, value, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    return false;
  }

  unknownKeys(field: string, value: Json, known: object): void {
    for (const key of Object.keys(value)) {
      if (!(key in known)) {
        this.issues.push(
          `${field ? field + '.' : ''}${key}: unknown field; allowed fields are ${Object.keys(known).join(', ')}`,
        );
      }
    }
  }
}

const DAY_MS = 86_400_000;
const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

function validateWindows(c: Checker, windows: unknown): void {
  if (!Array.isArray(windows) || windows.length === 0) {
    c.fail('windows', windows, 'must be a non-empty list of {name, size, hop?}');
    return;
  }
  const issuesBefore = c.issues.length;
  const seen = new Set<string>();
  windows.forEach((w: unknown, i) => {
    const f = `windows[${i}]`;
    if (!isObject(w)) return c.fail(f, w, 'must be an object {name, size, hop?}');
    c.unknownKeys(f, w, { name: 1, size: 1, hop: 1 });
    if (c.string(`${f}.name`, w.name, NAME_PATTERN, 'must be 1–64 chars of [A-Za-z0-9._-]')) {
      if (w.name === 'value') c.fail(`${f}.name`, w.name, '"value" is reserved for per-event alert rules');
      if (seen.has(w.name)) c.fail(`${f}.name`, w.name, 'window names must be unique');
      seen.add(w.name);
    }
    const size = c.duration(`${f}.size`, w.size, 1_000, 7 * DAY_MS);
    if (w.hop === undefined || size === undefined) return;
    const hop = c.duration(`${f}.hop`, w.hop, 1_000, 7 * DAY_MS);
    if (hop === undefined) return;
    if (hop > size) c.fail(`${f}.hop`, w.hop, `must not be larger than size (${w.size as string})`);
    else if (size % hop !== 0) c.fail(`${f}.hop`, w.hop, `must divide size (${w.size as string}) exactly`);
    else if (size / hop > 60)
      c.fail(`${f}.hop`, w.hop, `size/hop must be at most 60 (an event joins size/hop windows)`);
  });
  if (c.issues.length > issuesBefore) return;
  const specs = windows.map((w: Json) => ({
    name: String(w.name),
    sizeMs: parseDuration(w.size) as number,
    hopMs: parseDuration(w.hop ?? w.size) as number,
  }));
  const pane = paneMs(specs.filter(isHopping));
  specs.forEach((w, i) => {
    if (pane === undefined || !isHopping(w) || w.sizeMs / pane <= MAX_PANES_PER_WINDOW) return;
    c.fail(
      `windows[${i}].size`,
      (windows[i] as Json).size,
      `is ${w.sizeMs / pane} panes of ${formatDuration(pane)} (the gcd of every hopping window's size and hop); ` +
        `a hopping window is composed of at most ${MAX_PANES_PER_WINDOW} panes: use hops that share a larger divisor`,
    );
  });
}

function validateAlertRules(c: Checker, rules: unknown, windowNames: ReadonlySet<string>): void {
  if (!Array.isArray(rules))
    return c.fail('alertRules', rules, 'must be a list of alert rules (may be empty)');
  const seen = new Set<string>();
  rules.forEach((r: unknown, i) => {
    const f = `alertRules[${i}]`;
    if (!isObject(r)) return c.fail(f, r, 'must be an object');
    c.unknownKeys(f, r, DEFAULT_CONFIG.alertRules[0]);
    if (c.string(`${f}.id`, r.id, NAME_PATTERN, 'must be 1–64 chars of [A-Za-z0-9._-]')) {
      if (seen.has(r.id)) c.fail(`${f}.id`, r.id, 'rule ids must be unique');
      seen.add(r.id);
    }
    c.string(`${f}.metric`, r.metric, NAME_PATTERN, 'must be 1–64 chars of [A-Za-z0-9._-]');
    c.oneOf(`${f}.source`, r.source, ['value', ...windowNames]);
    if (c.oneOf(`${f}.aggregate`, r.aggregate, AGGREGATES)) {
      if (r.source === 'value' && r.aggregate !== 'value') {
        c.fail(`${f}.aggregate`, r.aggregate, 'must be "value" when source is "value"');
      } else if (r.source !== 'value' && r.aggregate === 'value') {
        c.fail(
          `${f}.aggregate`,
          r.aggregate,
          'must be one of "avg", "min", "max", "sum", "count" for a window source',
        );
      }
    }
    c.oneOf(`${f}.op`, r.op, OPERATORS);
    if (typeof r.threshold !== 'number' || !Number.isFinite(r.threshold)) {
      c.fail(`${f}.threshold`, r.threshold, 'must be a finite number');
    }
    c.duration(`${f}.cooldown`, r.cooldown, 0, 7 * DAY_MS);
    c.oneOf(`${f}.severity`, r.severity, SEVERITIES);
  });
}

/**
 * An alert item keeps the event times of its rule's alerts over lateness + the longest window +
 * maxClockSkew, pairwise a cooldown apart: at most MAX_ALERT_TIMES fit in a DynamoDB item
 * (contract/storage-limits.ts). A cooldown too short for the span (0 among them) is rejected here, on
 * the cooldown, naming the spans it was measured against.
 */
function validateAlertMemory(
  c: Checker,
  raw: Json,
  spans: { latenessMs: number; maxClockSkewMs: number },
): void {
  if (!Array.isArray(raw.alertRules) || !Array.isArray(raw.windows)) return;
  const sizes = raw.windows.map((w: unknown) => (isObject(w) ? parseDuration(w.size) : undefined));
  if (sizes.some((size) => size === undefined)) return;
  const maxWindowMs = Math.max(...(sizes as number[]));
  const longest = raw.windows[sizes.indexOf(maxWindowMs)] as Json;
  raw.alertRules.forEach((r: unknown, i) => {
    const cooldownMs = isObject(r) ? parseDuration(r.cooldown) : undefined;
    if (cooldownMs === undefined) return; // reported by validateAlertRules
    if (alertTimesBound({ ...spans, maxWindowMs, cooldownMs }) <= MAX_ALERT_TIMES) return;
    const minimum = minimumCooldownMs({ ...spans, maxWindowMs });
    c.fail(
      `alertRules[${i}].cooldown`,
      (r as Json).cooldown,
      `must be at least ${formatDuration(minimum)} with lateness ${JSON.stringify(raw.lateness)}, ` +
        `the longest window ${JSON.stringify(longest.size)} and maxClockSkew ${JSON.stringify(raw.maxClockSkew)}: ` +
        `an alert rule remembers its alerts' event times over that span, at most ${MAX_ALERT_TIMES} of them ` +
        `(DynamoDB's 400 KB item limit); raise the cooldown or shorten lateness`,
    );
  });
}

function validateAggregatesTable(c: Checker, table: Json): void {
  c.unknownKeys('aggregatesTable', table, DEFAULT_CONFIG.aggregatesTable);
  c.oneOf('aggregatesTable.billingMode', table.billingMode, ['provisioned', 'on-demand'] as const);
  for (const kind of ['writeCapacity', 'readCapacity'] as const) {
    const field = `aggregatesTable.${kind}`;
    const range = table[kind];
    if (!isObject(range)) {
      c.fail(field, range, 'must be an object {min, max}');
      continue;
    }
    c.unknownKeys(field, range, DEFAULT_CONFIG.aggregatesTable[kind]);
    if (c.integer(`${field}.min`, range.min, 1, 40_000))
      c.integer(`${field}.max`, range.max, range.min as number, 40_000);
  }
  c.number(
    'aggregatesTable.targetUtilization',
    table.targetUtilization,
    0.2,
    0.9,
    'from 0.2 to 0.9',
    false,
    false,
  );
}

function validateAlarms(c: Checker, alarms: Json, bufferInterval: unknown): void {
  c.unknownKeys('alarms', alarms, DEFAULT_CONFIG.alarms);
  c.string('alarms.runbookUrl', alarms.runbookUrl, /^(|https?:\/\/\S+)$/, 'must be "" or an http(s) URL');
  c.duration('alarms.iteratorAge', alarms.iteratorAge, 60_000, 7 * DAY_MS);
  c.integer('alarms.processorErrors', alarms.processorErrors, 1, 1_000_000);
  const freshness = c.wholeDuration(
    'alarms.firehoseDataFreshness',
    alarms.firehoseDataFreshness,
    60_000,
    DAY_MS,
    'seconds',
  );
  const buffer = parseDuration(bufferInterval);
  if (freshness !== undefined && buffer !== undefined && freshness <= buffer) {
    c.fail(
      'alarms.firehoseDataFreshness',
      alarms.firehoseDataFreshness,
      `must be longer than firehose.bufferInterval (${String(bufferInterval)}), or every buffered record would alarm`,
    );
  }
  c.integer('alarms.dynamoDbThrottles', alarms.dynamoDbThrottles, 1, 1_000_000);
  c.number('alarms.invalidEventRatio', alarms.invalidEventRatio, 0, 1, 'above 0 and at most 1', true, false);
  c.number(
    'alarms.reconciliationDrift',
    alarms.reconciliationDrift,
    0,
    2,
    'above 0 and at most 2',
    true,
    false,
  );
}

/** An event source mapping and its function (`processor`, `alertProcessor`), against AWS's limits. */
function validateProcessor(c: Checker, field: string, p: Json): void {
  const seconds = (range: { min: number; max: number }): [number, number] => [
    range.min * 1_000,
    range.max * 1_000,
  ];
  c.integer(`${field}.batchSize`, p.batchSize, ESM.batchSize.min, ESM.batchSize.max);
  c.wholeDuration(
    `${field}.maxBatchingWindow`,
    p.maxBatchingWindow,
    ...seconds(ESM.maxBatchingWindowSeconds),
    'seconds',
  );
  c.integer(
    `${field}.parallelizationFactor`,
    p.parallelizationFactor,
    ESM.parallelizationFactor.min,
    ESM.parallelizationFactor.max,
  );
  c.integer(`${field}.retryAttempts`, p.retryAttempts, ESM.retryAttempts.min, ESM.retryAttempts.max);
  c.wholeDuration(`${field}.maxRecordAge`, p.maxRecordAge, ...seconds(ESM.maxRecordAgeSeconds), 'seconds');
  c.integer(`${field}.memorySize`, p.memorySize, ESM.memorySizeMiB.min, ESM.memorySizeMiB.max);
  c.wholeDuration(`${field}.timeout`, p.timeout, ...seconds(ESM.timeoutSeconds), 'seconds');
}

/** A config section (`stream`, `processor`...); anything but an object is reported and checked as `{}`. */
function section(c: Checker, raw: Json, name: string): Json {
  const value = raw[name];
  if (isObject(value)) return value;
  c.fail(name, value, 'must be an object');
  return {};
}

/** Validates a fully merged config; throws `ConfigError` listing every problem. */
export function validateConfig(raw: unknown, source = 'config'): SluiceConfig {
  const c = new Checker();
  if (!isObject(raw))
    throw new ConfigError([`(root): got ${JSON.stringify(raw)}; must be a JSON object`], source);
  c.unknownKeys('', raw, DEFAULT_CONFIG);
  c.string(
    'stage',
    raw.stage,
    /^[a-z][a-z0-9-]{0,15}$/,
    'must be 1–16 chars: a lowercase letter, then lowercase letters, digits or "-"',
  );

  const stream = section(c, raw, 'stream');
  c.unknownKeys('stream', stream, { mode: 1, shardCount: 1, retention: 1, kplAggregation: 1 });
  if (c.oneOf('stream.mode', stream.mode, ['on-demand', 'provisioned'] as const)) {
    if (stream.mode === 'provisioned') c.integer('stream.shardCount', stream.shardCount ?? 1, 1, 500);
    else if (stream.shardCount !== undefined) {
      c.fail('stream.shardCount', stream.shardCount, 'is only allowed with stream.mode "provisioned"');
    }
  }
  c.wholeDuration('stream.retention', stream.retention, DAY_MS, 365 * DAY_MS, 'hours');
  c.oneOf('stream.kplAggregation', stream.kplAggregation, [true, false]);

  validateWindows(c, raw.windows);
  const windowNames = new Set(
    (Array.isArray(raw.windows) ? raw.windows : []).filter(isObject).map((w) => String(w.name)),
  );
  validateAlertRules(c, raw.alertRules, windowNames);
  const lateness = c.duration('lateness', raw.lateness, 60_000, 365 * DAY_MS);
  const maxClockSkewMs = c.duration('maxClockSkew', raw.maxClockSkew, 0, DAY_MS);
  if (lateness !== undefined && maxClockSkewMs !== undefined)
    validateAlertMemory(c, raw, { latenessMs: lateness, maxClockSkewMs });
  const ttl = c.duration('aggregateTtl', raw.aggregateTtl, 60_000, 3650 * DAY_MS);
  if (lateness !== undefined && ttl !== undefined && ttl < lateness) {
    c.fail(
      'aggregateTtl',
      raw.aggregateTtl,
      `must be at least lateness (${raw.lateness as string}), or late-but-accepted events would recreate expired items`,
    );
  }

  const p = section(c, raw, 'processor');
  c.unknownKeys('processor', p, DEFAULT_CONFIG.processor);
  validateProcessor(c, 'processor', p);
  const alertProcessor = section(c, raw, 'alertProcessor');
  c.unknownKeys('alertProcessor', alertProcessor, DEFAULT_CONFIG.alertProcessor);
  c.oneOf('alertProcessor.enabled', alertProcessor.enabled, [true, false]);
  validateProcessor(c, 'alertProcessor', alertProcessor);
  if (stream.kplAggregation === true) {
    for (const [field, processor] of [
      ['processor', p],
      ['alertProcessor', alertProcessor],
    ] as const) {
      if (processor.parallelizationFactor !== 1 && typeof processor.parallelizationFactor === 'number')
        c.fail(
          `${field}.parallelizationFactor`,
          processor.parallelizationFactor,
          'must be 1 with stream.kplAggregation true: Lambda orders a shard only per partition key of a Kinesis record, and its parallelization factor does not work with KPL aggregation',
        );
    }
  }

  validateAggregatesTable(c, section(c, raw, 'aggregatesTable'));

  const lake = section(c, raw, 'lake');
  c.unknownKeys('lake', lake, DEFAULT_CONFIG.lake);
  const ia = lake.rawInfrequentAccessAfterDays;
  if (c.integer('lake.rawInfrequentAccessAfterDays', ia, 30, 36_500)) {
    if (
      c.integer('lake.rawExpireAfterDays', lake.rawExpireAfterDays, 1, 36_500) &&
      (lake.rawExpireAfterDays as number) <= ia
    ) {
      c.fail(
        'lake.rawExpireAfterDays',
        lake.rawExpireAfterDays,
        `must be greater than lake.rawInfrequentAccessAfterDays (${ia})`,
      );
    }
  }
  c.integer('lake.quarantineExpireAfterDays', lake.quarantineExpireAfterDays, 1, 36_500);
  c.integer('lake.athenaResultsExpireAfterDays', lake.athenaResultsExpireAfterDays, 1, 36_500);

  const fh = section(c, raw, 'firehose');
  c.unknownKeys('firehose', fh, DEFAULT_CONFIG.firehose);
  c.wholeDuration('firehose.bufferInterval', fh.bufferInterval, 0, 900_000, 'seconds');
  c.integer('firehose.bufferSizeMiB', fh.bufferSizeMiB, 1, 128);

  const batch = section(c, raw, 'batch');
  c.unknownKeys('batch', batch, DEFAULT_CONFIG.batch);
  c.string(
    'batch.schedule',
    batch.schedule,
    /^(cron|rate)\(.+\)$/,
    'must be an EventBridge Scheduler expression like "cron(0 2 * * ? *)" or "rate(1 day)"',
  );
  c.integer(
    'batch.bytesScannedCutoffPerQuery',
    batch.bytesScannedCutoffPerQuery,
    10 * 1024 ** 2,
    Number.MAX_SAFE_INTEGER,
  );

  const repair = section(c, raw, 'repair');
  c.unknownKeys('repair', repair, DEFAULT_CONFIG.repair);
  c.wholeDuration('repair.schedule', repair.schedule, 60_000, 86_400_000, 'minutes');

  if (!LOG_RETENTION_DAYS.includes(raw.logRetentionDays as number)) {
    c.fail('logRetentionDays', raw.logRetentionDays, `must be one of ${LOG_RETENTION_DAYS.join(', ')}`);
  }

  validateAlarms(c, section(c, raw, 'alarms'), fh.bufferInterval);
  const rec = section(c, raw, 'reconciliation');
  c.unknownKeys('reconciliation', rec, DEFAULT_CONFIG.reconciliation);
  c.number('reconciliation.tolerance', rec.tolerance, 0, 1, 'from 0 up to (not including) 1', false);
  c.integer('reconciliation.maxDifferences', rec.maxDifferences, 0, 1000);

  if (c.issues.length > 0) throw new ConfigError(c.issues, source);
  return raw as unknown as SluiceConfig;
}

/** Merges a partial config (as read from a file) over the defaults and validates it. */
export function resolveConfig(partial: unknown, source = 'config'): SluiceConfig {
  if (!isObject(partial))
    throw new ConfigError([`(root): got ${JSON.stringify(partial)}; must be a JSON object`], source);
  return validateConfig(mergeOver(defaultsFor(partial), partial), source);
}

/**
 * The defaults a partial config merges over. The default shard count belongs to the default
 * (provisioned) stream mode: a config that chooses on-demand does not inherit it.
 */
function defaultsFor(partial: Json): SluiceConfig {
  const stream = partial.stream;
  if (!isObject(stream) || stream.mode !== 'on-demand') return DEFAULT_CONFIG;
  const { shardCount: _provisionedOnly, ...onDemand } = DEFAULT_CONFIG.stream;
  return { ...DEFAULT_CONFIG, stream: { ...onDemand, mode: 'on-demand' } };
}

export const DEFAULT_CONFIG_FILE = 'sluice.config.json';

/**
 * Reads and validates a config file. A missing default file means "all defaults"; a missing file
 * that was asked for by name is an error.
 */
export function loadConfig(file?: string, cwd = process.cwd()): SluiceConfig {
  const explicit = file !== undefined;
  const resolved = path.resolve(cwd, file ?? DEFAULT_CONFIG_FILE);
  if (!fs.existsSync(resolved)) {
    if (explicit) throw new ConfigError([`config file ${resolved} does not exist`], 'config');
    return validateConfig(DEFAULT_CONFIG);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(resolved, 'utf8'));
  } catch (error) {
    throw new ConfigError([`${resolved} is not valid JSON: ${(error as Error).message}`], 'config');
  }
  return resolveConfig(parsed, `config (${path.relative(cwd, resolved) || resolved})`);
}

/** The config sections that set up a stream processor's event source mapping and function. */
export type ProcessorSection = 'processor' | 'alertProcessor';

/**
 * The speed layer's view of the config, durations in milliseconds, for the stream processor that
 * `section` sets up: its parallelization factor is that mapping's own (exactly-once lanes depend on it).
 */
export function toSpeedConfig(config: SluiceConfig, section: ProcessorSection = 'processor'): SpeedConfig {
  const ms = (text: string): number => parseDuration(text) as number;
  const windows: WindowSpec[] = config.windows.map((w) => ({
    name: w.name,
    sizeMs: ms(w.size),
    hopMs: ms(w.hop ?? w.size),
  }));
  const alertRules: AlertRule[] = config.alertRules.map((r) => ({
    id: r.id,
    metric: r.metric,
    source: r.source,
    aggregate: r.aggregate,
    op: r.op,
    threshold: r.threshold,
    cooldownMs: ms(r.cooldown),
    severity: r.severity,
  }));
  return {
    windows,
    alertRules,
    latenessMs: ms(config.lateness),
    maxClockSkewMs: ms(config.maxClockSkew),
    aggregateTtlMs: ms(config.aggregateTtl),
    parallelizationFactor: config[section].parallelizationFactor,
  };
}

/** Milliseconds of a duration field that `validateConfig` has already checked. */
export function durationMs(text: string): number {
  return parseDuration(text) as number;
}
