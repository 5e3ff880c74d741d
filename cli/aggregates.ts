/**
 * `sluice aggregates`: the speed layer's windowed aggregates, read from its DynamoDB table by key
 * (lambdas/adapters/aggregate-reader.ts; no Scan). One sensor's windows over a time range
 * (`--sensor`), the top-N sensors of a metric by a window aggregate (`--top`), or, with neither,
 * every series' windows in the range (the series listed through the window index; at most 1,000),
 * lines as `aggregates.jsonl` has them. On AWS the table
 * of the deployed stack; with `--local` the running `sluice local`, or a stopped one's state.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, toSpeedConfig } from '../contract/config';
import { parseDuration } from '../core/duration';
import { METRIC_PATTERN, SENSOR_ID_PATTERN } from '../core/event';
import { AggregateReader, TOP_AGGREGATES, type TopAggregate } from '../lambdas/adapters/aggregate-reader';
import type { WindowValues } from '../core/aggregate';
import { toAggregateLine, type AggregateLine } from '../local/replay-outputs';
import { localResourceNames } from '../local/resources';
import { runningSpeedTable, stoppedSpeedTable, type SpeedTable } from '../local/speed-table';
import { UsageError } from './errors';
import { formatResult, OUTPUT_FORMATS, type Cell, type OutputFormat, type ResultSet } from './format';
import { integerOption } from './options';
import { findSession } from './session';
import { readStackOutputs, resolveSetting, targetOptions, type TargetOptions } from './targets';

/** The columns of a window, as aggregates.jsonl names them (`AggregateLine`). */
const AGGREGATE_COLUMNS: readonly (keyof AggregateLine)[] = [
  'sensorId',
  'metric',
  'window',
  'windowStart',
  'windowEnd',
  'count',
  'sum',
  'min',
  'max',
  'avg',
];

/** Top-N returns at most this many rows. */
export const MAX_TOP = 1_000;

export interface AggregatesOptions extends TargetOptions {
  readonly sensor?: string;
  readonly metric?: string;
  readonly window?: string;
  readonly from?: number;
  readonly to?: number;
  readonly top?: number;
  readonly by: TopAggregate;
  readonly format: OutputFormat;
  readonly table?: string;
}

/** An instant: ISO-8601 with a zone, epoch milliseconds, or a duration ago (`90m` = 90 minutes ago). */
export function instantOption(now: () => number = Date.now): (value: string) => number {
  return (value) => {
    const text = value.trim();
    const ago = parseDuration(text);
    if (ago !== undefined) return now() - ago;
    if (/^\d{1,15}$/.test(text)) return Number(text);
    const ms = /\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(ms)) {
      throw new InvalidArgumentError(
        'must be an ISO-8601 time with a zone (2026-01-02T15:00:00Z), epoch milliseconds, or a duration ago (90m, 2h).',
      );
    }
    return ms;
  };
}

function patternOption(pattern: RegExp, what: string): (value: string) => string {
  return (value) => {
    if (!pattern.test(value)) throw new InvalidArgumentError(`must be ${what}.`);
    return value;
  };
}

export function aggregatesCommand(): Command {
  const command = new Command('aggregates')
    .description(
      "Read the speed layer's windowed aggregates: a sensor's recent windows, or the top-N sensors",
    )
    .option(
      '--sensor <id>',
      'the sensor whose windows to list',
      patternOption(SENSOR_ID_PATTERN, 'a sensor id: 1-128 of letters, digits and . _ : -'),
    )
    .option(
      '--metric <name>',
      'the metric (default with --sensor: every metric of the sensor)',
      patternOption(METRIC_PATTERN, 'a metric: 1-64 of letters, digits and . _ -'),
    )
    .option(
      '--window <name>',
      'a configured window (default: the tumbling 1h window; without --sensor and --top: every window)',
    )
    .option(
      '--from <time>',
      'first window start (ISO-8601, epoch ms, or e.g. 2h for 2 hours ago; default: the oldest the table holds, --to - aggregateTtl)',
      instantOption(),
    )
    .option(
      '--to <time>',
      'last window start, or the instant ranked by --top (default: now)',
      instantOption(),
    )
    .option(
      '--top <n>',
      `rank the sensors of --metric by a window aggregate (1-${MAX_TOP})`,
      integerOption(1, MAX_TOP),
    )
    .addOption(new Option('--by <aggregate>', 'what --top ranks by').choices(TOP_AGGREGATES).default('max'))
    .addOption(new Option('-f, --format <format>', 'output format').choices(OUTPUT_FORMATS).default('table'))
    .option('--table <name>', 'the aggregates table (default: $SLUICE_TABLE or the stack outputs)');
  for (const option of targetOptions()) command.addOption(option);
  return command
    .addHelpText(
      'after',
      `
Reads by key only (a Query per series; top-N lists an hour's series through the window index).
Examples:
  npx sluice aggregates --local --format json                    every series, every window the table holds
  npx sluice aggregates --local --sensor s-1 --window 5m --from 2h
  npx sluice aggregates --local --top 10 --metric temperature --window 1h --by avg
  npx sluice aggregates --sensor s-1 --metric temperature --format csv`,
    )
    .action(async (options: AggregatesOptions) => runAggregates(options));
}

async function openTable(options: AggregatesOptions): Promise<SpeedTable> {
  if (options.local) {
    const session = findSession(options.state);
    if (session) return runningSpeedTable(session.endpoints, session.tableName);
    return stoppedSpeedTable(options.state, localResourceNames(loadConfig(options.config)).tableName);
  }
  const tableName = resolveSetting(
    { flag: '--table', value: options.table, env: 'SLUICE_TABLE', outputKeys: ['TableName', /TableName$/] },
    readStackOutputs(options),
  );
  const dynamodb = new DynamoDBClient(options.region ? { region: options.region } : {});
  return { dynamodb, tableName, close: async () => dynamodb.destroy() };
}

export async function runAggregates(options: AggregatesOptions): Promise<void> {
  if (options.top !== undefined && options.sensor !== undefined) {
    throw new UsageError('--top ranks every sensor: pass either --top or --sensor, not both');
  }
  if (options.top !== undefined && options.metric === undefined) {
    throw new UsageError('--top needs --metric: sensors are ranked within one metric');
  }
  const speed = toSpeedConfig(loadConfig(options.config));
  const windows = speed.windows;
  const to = options.to ?? Date.now();
  // By default, every window the table can still hold: items expire aggregateTtl after their window.
  const from = options.from ?? to - speed.aggregateTtlMs - Math.max(...windows.map((w) => w.sizeMs));
  const table = await openTable(options);
  try {
    const reader = new AggregateReader({ client: table.dynamodb, tableName: table.tableName, windows });
    const window = options.window ?? reader.plan.indexed ?? windows[0].name;
    const cells = (r: WindowValues): Cell[] => {
      const line = toAggregateLine(r);
      return AGGREGATE_COLUMNS.map((c) => line[c]);
    };
    let result: ResultSet;
    if (options.top !== undefined) {
      const top = await reader.top({
        metric: options.metric as string,
        window,
        at: to,
        n: options.top,
        by: options.by,
      });
      result = {
        columns: ['rank', ...AGGREGATE_COLUMNS],
        rows: top.rows.map((r, i) => [i + 1, ...cells(r)]),
      };
    } else if (options.sensor !== undefined) {
      const found = await reader.range({
        sensorId: options.sensor,
        metric: options.metric,
        window,
        from,
        to,
      });
      result = { columns: AGGREGATE_COLUMNS, rows: found.map(cells) };
    } else {
      const found = await reader.list({ window: options.window, from, to });
      const rows = found.filter((r) => options.metric === undefined || r.metric === options.metric);
      result = { columns: AGGREGATE_COLUMNS, rows: rows.map(cells) };
    }
    process.stdout.write(formatResult(result, options.format));
  } finally {
    await table.close();
  }
}
