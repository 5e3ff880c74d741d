/**
 * The batch job on DuckDB: runs the same `sql/*.sql` the Step Functions job sends to Athena, over a
 * local lake directory laid out like the bucket (`raw/dt=/hour=/*.gz`, `curated/<table>/dt=/`,
 * `quarantine/dt=/`). Each Glue table of `contract/lake-tables.ts` is a DuckDB view of the same name.
 *
 * A day is rebuilt table by table in dependency order; each table's `dt` partition is written to a
 * staging directory and swapped in for the old one, so a re-run replaces the partition exactly and
 * readers never see half of it. One writer per lake directory at a time.
 *
 * Crash safety: the views read only `dt=*` directories, and a partition changes by two renames
 * (old `dt=D` to `.replaced-dt=D`, then `.staging-dt=D` to `dt=D`). A build killed at any point
 * leaves each table's partition either as before, as rebuilt, or absent (between the two renames,
 * like Athena between its delete and its insert), never half-written or doubled; tables already
 * swapped keep their new partition. Re-running the day removes the leftovers and rebuilds all three.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBConnection, DuckDBInstance, type DuckDBValue, type Json } from '@duckdb/node-api';
import { DEFAULT_CONFIG, durationMs } from '../../contract/config';
import {
  CURATED_TABLES,
  type CuratedTableSpec,
  LAKE_TABLES,
  LAKE_VIEWS,
  type LakeColumnType,
  type LakeTableSpec,
} from '../../contract/lake-tables';
import { installTrinoDialect } from './dialect';
import { confineToLake, prepareReadOnly, ReadOnlyQueryError } from './read-only';
import { batchParams, daysBetween, readSql, renderSql } from '../../contract/sql-template';

export interface LocalLakeOptions {
  /** The local lake directory (`<state>/lake`), created if missing. */
  readonly lakeDir: string;
  /**
   * Events later than their arrival allows by more than this are invalid (config `maxClockSkew`).
   * @default 300000 (the default config's 5m)
   */
  readonly maxClockSkewMs?: number;
  /**
   * Called at each step of a table's partition build, for fault-injection tests: throwing from it,
   * or killing the process in it, leaves the lake as a crash at that step would.
   * @default - no callback
   */
  readonly onBuildStep?: (step: BuildStep) => void;
  /**
   * Writes DuckDB's profile (JSON: every operator with its CPU time, summed over threads) of each
   * table's build to `<profileDir>/<table>.json`, the latest build's only (read it with
   * `profileOperators`). For benchmarks.
   * @default - no profiles
   */
  readonly profileDir?: string;
  /**
   * Opens the lake for SQL from outside the batch job (see `read-only.ts`): DuckDB may then touch no
   * file outside `lakeDir`, load no extension, and `query` runs one SELECT or EXPLAIN only; `runDay`
   * throws.
   * @default false - any SQL, and the batch job
   */
  readonly readOnly?: boolean;
}

/**
 * The steps of one table's partition build, in order: `writing` (the new partition is being written
 * to staging), `staged` (written), `old-moved-aside` (the previous partition renamed away; only when
 * there was one), `swapped` (the new partition in place), `done` (leftovers removed).
 */
export type BuildPhase = 'writing' | 'staged' | 'old-moved-aside' | 'swapped' | 'done';

export interface BuildStep {
  readonly table: string;
  readonly day: string;
  readonly phase: BuildPhase;
}

/** One operator of a build's profile (see `LocalLakeOptions.profileDir`). */
export interface ProfiledOperator {
  /** Depth in the plan; the root's operators are at 0. */
  readonly depth: number;
  /** E.g. `HASH_GROUP_BY`, `PROJECTION`, `TABLE_SCAN`. */
  readonly type: string;
  /** CPU time, summed over threads. */
  readonly seconds: number;
  /** Its aggregates, filter expression or projected columns, as DuckDB prints them. */
  readonly detail: string;
}

interface ProfileNode {
  readonly operator_type?: string;
  readonly operator_timing?: number;
  readonly extra_info?: Record<string, unknown>;
  readonly children?: readonly ProfileNode[];
}

/** The operators of a profile written to `profileDir`, in plan order (depth first). */
export function profileOperators(file: string): ProfiledOperator[] {
  const operators: ProfiledOperator[] = [];
  const walk = (node: ProfileNode, depth: number): void => {
    if (node.operator_type !== undefined) {
      const info = node.extra_info ?? {};
      operators.push({
        depth,
        type: node.operator_type,
        seconds: node.operator_timing ?? 0,
        detail: String(info.Aggregates ?? info.Expression ?? info.Projections ?? info.Function ?? ''),
      });
    }
    for (const child of node.children ?? []) walk(child, depth + 1);
  };
  walk(JSON.parse(fs.readFileSync(file, 'utf8')) as ProfileNode, 0);
  return operators;
}

/** What one table's build of one day wrote. */
export interface TableBuild {
  readonly table: string;
  readonly rows: number;
}

export interface DayBuild {
  readonly day: string;
  readonly tables: readonly TableBuild[];
}

const DUCKDB_TYPES: Record<LakeColumnType, string> = {
  string: 'VARCHAR',
  double: 'DOUBLE',
  bigint: 'BIGINT',
  timestamp: 'TIMESTAMP',
  'map<string,string>': 'MAP(VARCHAR, VARCHAR)',
};

const quote = (text: string): string => `'${text.replace(/'/g, "''")}'`;
const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** The batch layer's Athena tables as DuckDB views over a local lake. */
export class LocalLake {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    public readonly lakeDir: string,
    private readonly maxClockSkewMs: number,
    private readonly onBuildStep: ((step: BuildStep) => void) | undefined,
    private readonly profileDir: string | undefined,
    private readonly readOnly: boolean,
  ) {}

  /** Opens an in-memory DuckDB over `options.lakeDir`, with the Trino dialect installed. */
  static async open(options: LocalLakeOptions): Promise<LocalLake> {
    const lakeDir = path.resolve(options.lakeDir);
    fs.mkdirSync(lakeDir, { recursive: true });
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await installTrinoDialect(connection);
      // Output order is set by the SQL where it matters; not keeping input order saves memory.
      await connection.run('SET preserve_insertion_order = false');
      if (options.readOnly) await confineToLake(connection, lakeDir);
    } catch (error) {
      connection.closeSync();
      instance.closeSync();
      throw error;
    }
    return new LocalLake(
      instance,
      connection,
      lakeDir,
      options.maxClockSkewMs ?? durationMs(DEFAULT_CONFIG.maxClockSkew),
      options.onBuildStep,
      options.profileDir === undefined ? undefined : path.resolve(options.profileDir),
      options.readOnly === true,
    );
  }

  /** Rebuilds `events`, `sensor_stats_hourly` and `sensor_stats_daily` for one event-time day. */
  async runDay(day: string): Promise<DayBuild> {
    if (this.readOnly) throw new ReadOnlyQueryError('this lake is open read-only: it cannot build a day');
    const params = batchParams(day, this.maxClockSkewMs);
    const tables: TableBuild[] = [];
    await this.refreshViews();
    for (const table of CURATED_TABLES) {
      tables.push({
        table: table.name,
        rows: await this.buildPartition(table, String(params.day), renderSql(readSql(table.sqlFile), params)),
      });
      // The next table reads this one: its view must see the partition (e.g. its first files).
      await this.refreshView(table);
    }
    return { day: String(params.day), tables };
  }

  /** Rebuilds every day from `from` to `to` (both included, `YYYY-MM-DD`), oldest first. */
  async runRange(from: string, to: string): Promise<DayBuild[]> {
    const builds: DayBuild[] = [];
    for (const day of daysBetween(from, to)) builds.push(await this.runDay(day));
    return builds;
  }

  /**
   * Runs SQL (Trino functions available) over the lake's tables; rows as JSON-ready objects. On a
   * read-only lake, one SELECT or EXPLAIN only.
   */
  async query(sql: string, values?: readonly DuckDBValue[]): Promise<Record<string, Json>[]> {
    await this.refreshViews();
    const reader = this.readOnly
      ? await (await prepareReadOnly(this.connection, sql, values)).runAndReadAll()
      : await this.connection.runAndReadAll(sql, values ? [...values] : undefined);
    return reader.getRowObjectsJson();
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }

  /** The local directory of one partition of a table. */
  partitionDir(table: LakeTableSpec, day: string): string {
    return path.join(this.lakeDir, table.prefix, `dt=${day}`);
  }

  private async buildPartition(table: CuratedTableSpec, day: string, select: string): Promise<number> {
    const step = (phase: BuildPhase): void => this.onBuildStep?.({ table: table.name, day, phase });
    const finalDir = this.partitionDir(table, day);
    const stagingDir = path.join(this.lakeDir, table.prefix, `.staging-dt=${day}`);
    const replacedDir = path.join(this.lakeDir, table.prefix, `.replaced-dt=${day}`);
    // Leftovers of a build that crashed (invisible to the views, which read dt=* only).
    fs.rmSync(stagingDir, { recursive: true, force: true });
    fs.rmSync(replacedDir, { recursive: true, force: true });
    fs.mkdirSync(stagingDir, { recursive: true });
    const file = path.join(stagingDir, 'part-00000.parquet');
    // Selecting the spec's columns by name pins the file's column order to the Glue table's.
    const columns = table.columns.map((c) => ident(c.name)).join(', ');
    step('writing');
    if (this.profileDir !== undefined) {
      fs.mkdirSync(this.profileDir, { recursive: true });
      await this.connection.run("SET enable_profiling = 'json'");
      await this.connection.run(
        `SET profiling_output = ${quote(path.join(this.profileDir, `${table.name}.json`))}`,
      );
    }
    const result = await this.connection.run(
      `COPY (SELECT ${columns} FROM (${select}) AS built) TO ${quote(file)} (FORMAT PARQUET, COMPRESSION SNAPPY)`,
    );
    if (this.profileDir !== undefined) await this.connection.run('PRAGMA disable_profiling');
    const rows = result.rowsChanged;
    // Like Athena's INSERT INTO, an empty result leaves no file (and here no partition directory).
    if (rows === 0) fs.rmSync(stagingDir, { recursive: true, force: true });
    step('staged');
    // Two renames, each atomic: the partition is the old one, then absent, then the new one.
    if (fs.existsSync(finalDir)) {
      fs.renameSync(finalDir, replacedDir);
      step('old-moved-aside');
    }
    if (rows > 0) fs.renameSync(stagingDir, finalDir);
    step('swapped');
    fs.rmSync(replacedDir, { recursive: true, force: true });
    step('done');
    return rows;
  }

  /**
   * (Re)creates one view per lake table (a table without files yet is an empty view of the right
   * shape), then the lake's views (`sql/views/`) over them, from the SQL Athena's views hold.
   */
  private async refreshViews(): Promise<void> {
    for (const table of LAKE_TABLES) await this.refreshView(table);
    for (const view of LAKE_VIEWS) {
      await this.connection.run(
        `CREATE OR REPLACE TEMP VIEW ${ident(view.name)} AS ${readSql(view.sqlFile)}`,
      );
    }
  }

  private async refreshView(table: LakeTableSpec): Promise<void> {
    const source = await this.tableSource(table);
    await this.connection.run(`CREATE OR REPLACE TEMP VIEW ${ident(table.name)} AS ${source}`);
  }

  private async tableSource(table: LakeTableSpec): Promise<string> {
    const partitionGlob = table.partitionKeys.map((k) => `${k.name}=*`).join('/');
    const pattern = table.format === 'raw-lines' ? '*.gz' : table.format === 'parquet' ? '*.parquet' : '*';
    const glob = path.join(this.lakeDir, table.prefix, partitionGlob, pattern);
    const partitionTypes = `{${table.partitionKeys.map((k) => `${quote(k.name)}: 'VARCHAR'`).join(', ')}}`;
    const partitions = table.partitionKeys.map((k) => ident(k.name));
    const found = await this.connection.runAndReadAll(`SELECT count(*) AS n FROM glob(${quote(glob)})`);
    if (Number(found.getRowsJS()[0][0]) === 0) {
      const empty = [...table.columns, ...table.partitionKeys].map(
        (c) => `CAST(NULL AS ${DUCKDB_TYPES[c.type]}) AS ${ident(c.name)}`,
      );
      const pathColumn = table.format === 'raw-lines' ? ', CAST(NULL AS VARCHAR) AS "$path"' : '';
      return `SELECT ${empty.join(', ')}${pathColumn} WHERE false`;
    }
    const hive = `hive_partitioning = true, hive_types = ${partitionTypes}`;
    switch (table.format) {
      case 'raw-lines':
        // One VARCHAR per line, no quoting. The delimiter chr(1) never occurs unescaped in JSON; a
        // line that holds one anyway gets a second column (`rest`) and is read as NULL, like a line
        // that is not UTF-8: both are invalid records (not_json, not_utf8).
        return (
          `SELECT CASE WHEN rest IS NULL THEN line END AS line, ${partitions.join(', ')}, filename AS "$path" ` +
          `FROM read_csv(${quote(glob)}, columns = {'line': 'VARCHAR', 'rest': 'VARCHAR'}, delim = chr(1), ` +
          `quote = '', escape = '', header = false, auto_detect = false, new_line = '\\n', null_padding = true, ` +
          `nullstr = chr(2), strict_mode = false, ignore_errors = true, filename = true, ${hive})`
        );
      case 'parquet':
        return (
          `SELECT ${table.columns.map((c) => `CAST(${ident(c.name)} AS ${DUCKDB_TYPES[c.type]}) AS ${ident(c.name)}`).join(', ')}, ` +
          `${partitions.join(', ')} FROM read_parquet(${quote(glob)}, ${hive})`
        );
      case 'ndjson': {
        const keys = table.columns.map(
          (c) => `${quote(c.jsonKey ?? c.name)}: ${quote(DUCKDB_TYPES[c.type])}`,
        );
        const renamed = table.columns.map((c) => `${ident(c.jsonKey ?? c.name)} AS ${ident(c.name)}`);
        return (
          `SELECT ${renamed.join(', ')}, ${partitions.join(', ')} FROM read_json(${quote(glob)}, ` +
          `format = 'newline_delimited', columns = {${keys.join(', ')}}, ignore_errors = true, ${hive})`
        );
      }
    }
  }
}

/** Opens the lake, rebuilds one day, closes it. */
export async function runDay(options: LocalLakeOptions, day: string): Promise<DayBuild> {
  const lake = await LocalLake.open(options);
  try {
    return await lake.runDay(day);
  } finally {
    lake.close();
  }
}

/** Opens the lake, rebuilds every day from `from` to `to` (both included), closes it. */
export async function runRange(options: LocalLakeOptions, from: string, to: string): Promise<DayBuild[]> {
  const lake = await LocalLake.open(options);
  try {
    return await lake.runRange(from, to);
  } finally {
    lake.close();
  }
}
