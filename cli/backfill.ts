/**
 * `sluice backfill --from D --to D`: rebuild the batch tables for a range of days. On AWS it starts
 * the batch job's Step Functions state machine (input `{from, to}`, split into executions of at most
 * `--chunk-days`) and waits for each; with `--local` it runs the local batch job, through the running
 * `sluice local` when there is one (the lake has one writer) or on the lake directory directly.
 */
import * as fs from 'node:fs';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Command } from 'commander';
import { durationMs, loadConfig } from '../contract/config';
import { LocalLake, type DayBuild } from '../local/batch/duckdb-runner';
import { lakeDirOf } from '../local/pipeline';
import { UserError } from '../contract/user-error';
import { UsageError } from './errors';
import { dayOption, integerOption } from './options';
import { formatCount, ProgressBar } from './progress';
import { callSession, findSession } from './session';
import { readStackOutputs, resolveSetting, targetOptions, type TargetOptions } from './targets';

export interface BackfillOptions extends TargetOptions {
  readonly from: string;
  readonly to: string;
  readonly stateMachine?: string;
  readonly chunkDays: number;
  readonly progress: boolean;
}

const DAY_MS = 86_400_000;

/** Every day from `from` to `to`, both included. */
export function daysOf(from: string, to: string): string[] {
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`);
  if (end < start) throw new UsageError(`--to ${to} is before --from ${from}`);
  const days: string[] = [];
  for (let ms = start; ms <= end; ms += DAY_MS) days.push(new Date(ms).toISOString().slice(0, 10));
  return days;
}

export function backfillCommand(): Command {
  const command = new Command('backfill')
    .description(
      'Rebuild the batch tables (events, sensor_stats_hourly, sensor_stats_daily) for a range of days',
    )
    .requiredOption('--from <day>', 'first day, YYYY-MM-DD (UTC)', dayOption)
    .requiredOption('--to <day>', 'last day, YYYY-MM-DD (UTC), included', dayOption)
    .option(
      '--state-machine <arn>',
      'batch job state machine on AWS (default: $SLUICE_STATE_MACHINE_ARN or the stack outputs)',
    )
    .option('--chunk-days <n>', 'days per Step Functions execution', integerOption(1, 200), 100)
    .option('--no-progress', 'no progress bar');
  for (const option of targetOptions()) command.addOption(option);
  return command
    .addHelpText(
      'after',
      `
Examples:
  npx sluice backfill --local --from 2026-01-01 --to 2026-01-07
  npx sluice backfill --from 2026-01-01 --to 2026-03-31 --state-machine arn:aws:states:...`,
    )
    .action(async (options: BackfillOptions) => runBackfill(options));
}

async function backfillLocal(
  days: readonly string[],
  options: BackfillOptions,
  bar?: ProgressBar,
): Promise<number> {
  let rows = 0;
  const count = (build: DayBuild): void => {
    rows += build.tables.reduce((sum, t) => sum + t.rows, 0);
  };
  const session = findSession(options.state);
  if (session?.dashboardUrl) {
    for (const [i, day] of days.entries()) {
      const { builds } = await callSession<{ builds: DayBuild[] }>(session, 'backfill', { days: [day] });
      builds.forEach(count);
      bar?.update(i + 1, day);
    }
    return rows;
  }
  const lakeDir = lakeDirOf(options.state);
  if (!fs.existsSync(lakeDir))
    throw new UserError(
      `there is no local lake at ${lakeDir}; run \`npx sluice local\` first (or pass --state)`,
    );
  const config = loadConfig(options.config);
  const lake = await LocalLake.open({ lakeDir, maxClockSkewMs: durationMs(config.maxClockSkew) });
  try {
    for (const [i, day] of days.entries()) {
      count(await lake.runDay(day));
      bar?.update(i + 1, day);
    }
  } finally {
    lake.close();
  }
  return rows;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function backfillAws(
  days: readonly string[],
  options: BackfillOptions,
  bar?: ProgressBar,
): Promise<void> {
  const stateMachineArn = resolveSetting(
    {
      flag: '--state-machine',
      value: options.stateMachine,
      env: 'SLUICE_STATE_MACHINE_ARN',
      outputKeys: [/StateMachineArn$/i, /StateMachine/i],
    },
    readStackOutputs(options),
  );
  const sfn = new SFNClient(options.region ? { region: options.region } : {});
  try {
    for (let i = 0; i < days.length; i += options.chunkDays) {
      const chunk = days.slice(i, i + options.chunkDays);
      const input = { from: chunk[0], to: chunk[chunk.length - 1] };
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
      );
      for (;;) {
        const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        if (execution.status === 'SUCCEEDED') break;
        if (execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') {
          throw new UserError(
            `batch job ${execution.status?.toLowerCase()} for ${input.from}..${input.to}: ${execution.error ?? ''} ${execution.cause ?? ''} (${executionArn})`.trim(),
          );
        }
        bar?.update(i, `${input.from}..${input.to} running`);
        await sleep(3_000);
      }
      bar?.update(i + chunk.length, `${input.from}..${input.to} done`);
    }
  } finally {
    sfn.destroy();
  }
}

export async function runBackfill(options: BackfillOptions): Promise<void> {
  const days = daysOf(options.from, options.to);
  const bar = options.progress
    ? new ProgressBar({ label: 'backfilling', total: days.length, unit: 'days' })
    : undefined;
  try {
    if (options.local) {
      const rows = await backfillLocal(days, options, bar);
      bar?.finish();
      process.stderr.write(
        `rebuilt ${days.length} day(s) ${options.from}..${options.to} locally: ${formatCount(rows)} rows written\n`,
      );
    } else {
      await backfillAws(days, options, bar);
      bar?.finish();
      process.stderr.write(
        `rebuilt ${days.length} day(s) ${options.from}..${options.to} with the batch job\n`,
      );
    }
  } finally {
    bar?.finish();
  }
}
