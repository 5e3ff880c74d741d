/**
 * The event source runner's settings: the defaults, the validation of options (every problem named
 * with the value given and the range allowed), and the settings the CDK stack derives from config.
 */
import { durationMs, type ProcessorSection, type SluiceConfig } from '../../contract/config';
import { EVENT_SOURCE_LIMITS as ESM } from '../../contract/event-source-limits';
import { EventSourceRunnerConfigError } from './errors';
import type { EventSourceRunnerOptions, EventSourceSettings } from './types';

/** The function name a runner reports unless told otherwise (and its checkpoints' consumer name). */
export const DEFAULT_FUNCTION_NAME = 'stream-processor';

/** Runner options with every default filled in. */
export type RunnerSettings = Required<
  Omit<EventSourceRunnerOptions, 'onFailure' | 'chaos' | 'onLog' | 'checkpointStore'>
> &
  Pick<EventSourceRunnerOptions, 'onFailure' | 'chaos' | 'onLog' | 'checkpointStore'>;

/**
 * The event source settings the CDK stack derives from `config.processor` (the aggregate
 * processor's) or, with `section`, from another processor's section (`alertProcessor`).
 */
export function eventSourceSettingsFromConfig(
  config: SluiceConfig,
  section: ProcessorSection = 'processor',
): EventSourceSettings {
  const p = config[section];
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

/** Fills in the defaults and checks every option; throws `EventSourceRunnerConfigError` naming each problem. */
export function resolveSettings(options: EventSourceRunnerOptions): RunnerSettings {
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
    functionName: DEFAULT_FUNCTION_NAME,
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
