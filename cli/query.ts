/**
 * `sluice query "SQL"`: SQL over the lake's tables (raw_events, events, sensor_stats_hourly,
 * sensor_stats_daily, quarantine, speed_hourly) and views (sensor_stats_hourly_live). On AWS through Athena in the Sluice workgroup; with `--local`
 * through DuckDB over the local lake (the running `sluice local`, or the lake directory directly),
 * read-only: one SELECT that may read files of the lake only (local/batch/read-only.ts).
 */
import * as fs from 'node:fs';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { Json } from '@duckdb/node-api';
import { Command, Option } from 'commander';
import { LocalLake } from '../local/batch/duckdb-runner';
import { lakeDirOf } from '../local/pipeline';
import { UserError } from '../contract/user-error';
import { formatResult, OUTPUT_FORMATS, type Cell, type OutputFormat, type ResultSet } from './format';
import { integerOption } from './options';
import { callSession, findSession } from './session';
import { readStackOutputs, resolveSetting, targetOptions, type TargetOptions } from './targets';

export interface QueryOptions extends TargetOptions {
  readonly format: OutputFormat;
  readonly workgroup?: string;
  readonly database?: string;
  readonly maxRows: number;
}

export function queryCommand(): Command {
  const command = new Command('query')
    .description('Run SQL over the lake tables: Athena on AWS, DuckDB with --local')
    .argument('<sql>', 'the query, e.g. "SELECT * FROM sensor_stats_hourly LIMIT 10"')
    .addOption(new Option('-f, --format <format>', 'output format').choices(OUTPUT_FORMATS).default('table'))
    .option(
      '--workgroup <name>',
      'Athena workgroup (default: $SLUICE_WORKGROUP, the stack outputs, or "sluice")',
    )
    .option('--database <name>', 'Glue database (default: $SLUICE_DATABASE, the stack outputs, or "sluice")')
    .option(
      '--max-rows <n>',
      'stop reading results after this many rows',
      integerOption(1, 10_000_000),
      10_000,
    );
  for (const option of targetOptions()) command.addOption(option);
  return command
    .addHelpText(
      'after',
      `
Tables: raw_events, events, sensor_stats_hourly, sensor_stats_daily, quarantine, speed_hourly.
View: sensor_stats_hourly_live (batch rows where the day is built, speed rows elsewhere; column source).
Examples:
  npx sluice query --local "SELECT sensor_id, avg_value FROM sensor_stats_daily ORDER BY avg_value DESC LIMIT 5"
  npx sluice query --local "SELECT * FROM sensor_stats_hourly_live WHERE dt = '2026-01-02' ORDER BY hour_start"
  npx sluice query --format csv "SELECT reason, count(*) AS n FROM quarantine GROUP BY reason"`,
    )
    .action(async (sql: string, options: QueryOptions) => runQuery(sql, options));
}

function fromObjects(rows: ReadonlyArray<Record<string, Json>>, maxRows: number): ResultSet {
  const columns = rows.length > 0 ? Object.keys(rows[0]) : [];
  return { columns, rows: rows.slice(0, maxRows).map((row) => columns.map((c) => row[c] as Cell)) };
}

async function queryLocal(sql: string, options: QueryOptions): Promise<ResultSet> {
  const session = findSession(options.state);
  if (session?.dashboardUrl) {
    const { rows } = await callSession<{ rows: Record<string, Json>[] }>(session, 'query', { sql });
    return fromObjects(rows, options.maxRows);
  }
  const lakeDir = lakeDirOf(options.state);
  if (!fs.existsSync(lakeDir)) {
    throw new UserError(
      `there is no local lake at ${lakeDir}; run \`npx sluice local\` first (or pass --state)`,
    );
  }
  // Read-only like the running session's query action, so a query means the same either way.
  const lake = await LocalLake.open({ lakeDir, readOnly: true });
  try {
    return fromObjects(await lake.query(sql), options.maxRows);
  } catch (error) {
    throw new UserError(`query failed: ${(error as Error).message}`);
  } finally {
    lake.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function queryAthena(sql: string, options: QueryOptions): Promise<ResultSet> {
  const outputs = readStackOutputs(options);
  const workgroup = resolveSetting(
    {
      flag: '--workgroup',
      value: options.workgroup,
      env: 'SLUICE_WORKGROUP',
      outputKeys: [/WorkGroup/i],
      fallback: 'sluice',
    },
    outputs,
  );
  const database = resolveSetting(
    {
      flag: '--database',
      value: options.database,
      env: 'SLUICE_DATABASE',
      outputKeys: [/DatabaseName$/i, /Database/i],
      fallback: 'sluice',
    },
    outputs,
  );
  const athena = new AthenaClient(options.region ? { region: options.region } : {});
  try {
    const { QueryExecutionId: id } = await athena.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        WorkGroup: workgroup,
        QueryExecutionContext: { Database: database, Catalog: 'AwsDataCatalog' },
      }),
    );
    const stop = (): void => {
      void athena
        .send(new StopQueryExecutionCommand({ QueryExecutionId: id }))
        .finally(() => process.exit(130));
    };
    process.once('SIGINT', stop);
    try {
      for (let wait = 200; ; wait = Math.min(2_000, wait * 1.5)) {
        const { QueryExecution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
        const state = QueryExecution?.Status?.State;
        if (state === 'SUCCEEDED') break;
        if (state === 'FAILED' || state === 'CANCELLED') {
          throw new UserError(
            `Athena query ${state.toLowerCase()}: ${QueryExecution?.Status?.StateChangeReason ?? 'no reason given'}`,
          );
        }
        await sleep(wait);
      }
    } finally {
      process.removeListener('SIGINT', stop);
    }
    let columns: string[] = [];
    const rows: Cell[][] = [];
    let token: string | undefined;
    let first = true;
    do {
      const page = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token }));
      columns = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '');
      for (const row of page.ResultSet?.Rows ?? []) {
        const cells = (row.Data ?? []).map((d) => d.VarCharValue ?? null);
        // The first row of a SELECT's results repeats the column names.
        if (first && cells.every((c, i) => c === columns[i])) {
          first = false;
          continue;
        }
        first = false;
        if (rows.length < options.maxRows) rows.push(cells);
      }
      token = rows.length < options.maxRows ? page.NextToken : undefined;
    } while (token);
    return { columns, rows };
  } finally {
    athena.destroy();
  }
}

export async function runQuery(sql: string, options: QueryOptions): Promise<void> {
  if (sql.trim() === '') throw new UserError('the query is empty');
  const result = options.local ? await queryLocal(sql, options) : await queryAthena(sql, options);
  process.stdout.write(formatResult(result, options.format));
}
