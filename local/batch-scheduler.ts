/**
 * Local stand-in for EventBridge Scheduler + Step Functions: runs the batch job (DuckDB over the
 * local lake, local/batch/duckdb-runner.ts) every few minutes instead of daily, and on request
 * (`--once` replays, `sluice backfill --local`). Runs never overlap: the lake has one writer.
 *
 * After each run it reads a preview of every curated table for the dashboard. SQL from users
 * (`query`) runs on a second, read-only DuckDB over the same lake, never on the batch job's.
 */
import type { Json } from '@duckdb/node-api';
import { CURATED_TABLES } from '../contract/lake-tables';
import { LocalLake, type DayBuild } from './batch/duckdb-runner';
import type { BatchStatus, BatchTablePreview } from './dashboard/snapshot';

export interface BatchSchedulerOptions {
  readonly lakeDir: string;
  readonly maxClockSkewMs: number;
  /** Time between scheduled runs; undefined = only runs on request. */
  readonly intervalMs?: number;
  /** Delay of the first scheduled run. @default intervalMs */
  readonly firstRunDelayMs?: number;
  /** The days a scheduled run rebuilds (e.g. the event dates seen so far). */
  readonly scheduledDays: () => string[];
  /**
   * Runs before every batch run, with the days it builds and whether every record has landed
   * (`BatchRunOptions.allLanded`): e.g. copying quarantine objects into the lake.
   */
  readonly beforeRun?: (days: readonly string[], run: { readonly allLanded: boolean }) => Promise<void>;
  /**
   * Runs after every successful run, with the open lake, the days built and when the run read the
   * lake, before the next run can start (e.g. the speed-vs-batch reconciliation). It reports its own
   * failures; the run stays a success.
   */
  readonly afterRun?: (lake: LocalLake, days: readonly string[], run: BatchRunInfo) => Promise<unknown>;
  readonly onError?: (error: unknown) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What a batch run saw of the lake, for the steps after it (the reconciliation). */
export interface BatchRunInfo {
  /** When the run started reading the lake, epoch ms: it saw every object landed before. */
  readonly startedAt: number;
  /**
   * The caller's word that every record put so far was processed by the speed layer and landed in
   * the lake before the run (`BatchRunOptions.allLanded`).
   */
  readonly allLanded: boolean;
}

export interface BatchRunOptions {
  /** Told as each day finishes. */
  readonly onDay?: (build: DayBuild, index: number) => void;
  /**
   * The pipeline was settled (`LocalPipeline.settle`) right before and nothing is being put: every
   * record the speed layer has is in the lake, so the reconciliation can compare every hour.
   * @default false: the run happens while records flow, and the latest hours are still filling in
   */
  readonly allLanded?: boolean;
}

/** Dashboard previews: which columns, newest rows first. */
const PREVIEWS: Record<string, { columns: string[]; orderBy: string }> = {
  events: {
    columns: ['event_time', 'sensor_id', 'metric', 'value', 'unit'],
    orderBy: 'event_time DESC, event_id',
  },
  sensor_stats_hourly: {
    columns: [
      'hour_start',
      'sensor_id',
      'metric',
      'event_count',
      'avg_value',
      'min_value',
      'max_value',
      'p95_value',
    ],
    orderBy: 'hour_start DESC, sensor_id, metric',
  },
  sensor_stats_daily: {
    columns: ['dt', 'sensor_id', 'metric', 'event_count', 'avg_value', 'min_value', 'max_value', 'p95_value'],
    orderBy: 'dt DESC, sensor_id, metric',
  },
};

function display(value: Json): string {
  if (value === null) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (typeof value === 'string') return value.replace(/(\.\d{3})\d*$/, '$1');
  return JSON.stringify(value);
}

export class BatchScheduler {
  private lake: Promise<LocalLake> | undefined;
  private reader: Promise<LocalLake> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private state: BatchStatus['state'];
  private lastRunAt: number | undefined;
  private lastRunDays: string[] = [];
  private nextRunAt: number | undefined;
  private lastError: string | null = null;
  private previews: BatchTablePreview[] = [];
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: BatchSchedulerOptions) {
    this.now = options.now ?? Date.now;
    this.state = options.intervalMs === undefined ? 'disabled' : 'idle';
  }

  start(): void {
    if (this.options.intervalMs === undefined || this.timer) return;
    this.schedule(this.options.firstRunDelayMs ?? this.options.intervalMs);
  }

  /** Stops the schedule, waits for a run in progress and closes DuckDB. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.queue;
    for (const lake of [this.lake, this.reader]) if (lake) (await lake).close();
    this.lake = undefined;
    this.reader = undefined;
  }

  /** Rebuilds `days` now (after any run in progress). */
  run(days: readonly string[], options: BatchRunOptions = {}): Promise<DayBuild[]> {
    return this.exclusive(async () => {
      this.state = 'running';
      try {
        await this.options.beforeRun?.(days, { allLanded: options.allLanded === true });
        const lake = await this.openLake();
        const run: BatchRunInfo = { startedAt: this.now(), allLanded: options.allLanded === true };
        const builds: DayBuild[] = [];
        for (const day of days) {
          builds.push(await lake.runDay(day));
          options.onDay?.(builds[builds.length - 1], builds.length - 1);
        }
        this.lastRunAt = this.now();
        this.lastRunDays = [...days];
        this.lastError = null;
        this.state = 'idle';
        this.previews = await this.readPreviews(lake);
        await this.options.afterRun?.(lake, days, run);
        return builds;
      } catch (error) {
        this.state = 'failed';
        this.lastError = error instanceof Error ? error.message : String(error);
        throw error;
      }
    });
  }

  /** Runs one read-only SELECT over the lake's tables (between batch runs; see `LocalLakeOptions.readOnly`). */
  query(sql: string): Promise<Record<string, Json>[]> {
    return this.exclusive(async () => {
      this.reader ??= LocalLake.open({ lakeDir: this.options.lakeDir, readOnly: true });
      return (await this.reader).query(sql);
    });
  }

  status(): BatchStatus {
    const iso = (ms: number | undefined): string | null =>
      ms === undefined ? null : new Date(ms).toISOString();
    return {
      state: this.state,
      lastRunAt: iso(this.lastRunAt),
      lastRunDays: this.lastRunDays,
      nextRunAt: iso(this.nextRunAt),
      error: this.lastError,
      tables: this.previews,
    };
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.options.intervalMs === undefined) return;
    this.nextRunAt = this.now() + delayMs;
    this.timer = setTimeout(() => {
      const days = this.options.scheduledDays();
      const done = days.length > 0 ? this.run(days) : Promise.resolve([]);
      done
        .catch((error: unknown) => this.options.onError?.(error))
        .finally(() => this.schedule(this.options.intervalMs as number));
    }, delayMs);
    this.timer.unref();
  }

  private openLake(): Promise<LocalLake> {
    this.lake ??= LocalLake.open({
      lakeDir: this.options.lakeDir,
      maxClockSkewMs: this.options.maxClockSkewMs,
    });
    return this.lake;
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async readPreviews(lake: LocalLake): Promise<BatchTablePreview[]> {
    const previews: BatchTablePreview[] = [];
    for (const table of CURATED_TABLES) {
      const spec = PREVIEWS[table.name] ?? { columns: table.columns.map((c) => c.name), orderBy: '1' };
      const [{ n }] = await lake.query(`SELECT count(*) AS n FROM ${table.name}`);
      const rows = await lake.query(
        `SELECT ${spec.columns.join(', ')} FROM ${table.name} ORDER BY ${spec.orderBy} LIMIT 8`,
      );
      previews.push({
        name: table.name,
        rows: Number(n),
        columns: spec.columns,
        preview: rows.map((row) => spec.columns.map((c) => display(row[c]))),
      });
    }
    return previews;
  }
}
