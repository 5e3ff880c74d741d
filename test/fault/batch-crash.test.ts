/**
 * Fault test: the batch job crashes half-way through rebuilding a day, then runs again.
 *
 * Setup: a local lake whose `events`, `sensor_stats_hourly` and `sensor_stats_daily` were built for
 * PREVIOUS_DAY and DAY from the raw objects that had landed then ("old"). More raw objects land
 * afterwards (later arrivals on DAY and late ones on DAY + 1, re-sent copies of old event ids with
 * other values, which must lose to the first copies, and malformed lines), so rebuilding DAY
 * changes every table. A copy of that lake rebuilt without a fault gives the "new" tables, checked
 * once against the independent recomputation of test/helpers/reference-batch.ts.
 *
 * Each test rebuilds DAY in a fresh copy of the lake and crashes the job at one step of one table's
 * partition build (local/batch/duckdb-runner.ts: writing, staged, old-moved-aside, swapped, done):
 * in-process by throwing from the build-step hook, or in a child process (batch-crash-child.ts) by
 * SIGKILL, once in the middle of the DuckDB COPY that writes the partition. Where every row is then:
 *  - tables built before the crashed one hold their new rows; tables after it their old rows;
 *  - the crashed table holds its old rows up to `staged`, no rows at `old-moved-aside` (between the
 *    two renames, as on Athena between the delete and the insert), its new rows from `swapped` on;
 *  - PREVIOUS_DAY is untouched; nothing is ever half-written or doubled, and no staging file is
 *    visible to a query.
 * Running DAY again then gives exactly the clean build, row for row in every table, with no file
 * left over beside the partitions.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CURATED_TABLES } from '../../contract/lake-tables';
import { type BuildPhase, type BuildStep, LocalLake } from '../../local/batch/duckdb-runner';
import { mulberry32 } from '../../local/chaos/prng';
import { writeRawObject } from '../../local/firehose';
import {
  isPercentileWithinRank,
  type ReferenceDay,
  referenceBatch,
  type ReferenceStats,
} from '../helpers/reference-batch';
import type { BatchCrashChildConfig } from './batch-crash-child';

const ROOT = path.resolve(__dirname, '..', '..');
const CHILD = path.join(__dirname, 'batch-crash-child.ts');
const PREVIOUS_DAY = '2026-11-19';
const DAY = '2026-11-20';
const DAY_MS = Date.parse(`${DAY}T00:00:00Z`);
const HOUR_MS = 3_600_000;
const SKEW_MS = 300_000;
const SENSORS = 30;
/** Records per raw object; five objects in all. */
const PER_OBJECT = 2_500;
/** Every step but `done`, whose state equals the next table's `writing` (or the end of the job). */
const PHASES: readonly BuildPhase[] = ['writing', 'staged', 'old-moved-aside', 'swapped'];
const TABLES = CURATED_TABLES.map((t) => t.name);

type Rows = Record<string, unknown>[];
/** Table name -> day -> its rows, ordered by key. */
type Snapshot = Record<string, Record<string, Rows>>;

let workDir: string;
let prepared: string;
let oldTables: Snapshot;
let newTables: Snapshot;
let cleanFiles: string[];
let caseNumber = 0;

interface ObjectPlan {
  readonly seed: number;
  readonly arrivalMs: number;
  /** Event times fall in [from, to). */
  readonly fromMs: number;
  readonly toMs: number;
  readonly idPrefix: string;
  /**
   * Every `every` records, a re-sent copy (another value) of the event id `<prefix>-<i + 1>` of an
   * earlier object; i + 1 is odd, so it is never itself a re-sent copy (those are at even indexes).
   */
  readonly resend?: { readonly prefix: string; readonly every: number };
}

/** Malformed lines are at these indexes. */
const isMalformed = (i: number): boolean => i % 97 === 96;

async function land(lakeDir: string, plan: ObjectPlan): Promise<void> {
  const next = mulberry32(plan.seed);
  const records: Buffer[] = [];
  for (let i = 0; i < PER_OBJECT; i++) {
    if (isMalformed(i)) {
      records.push(Buffer.from(`{"eventId":"${plan.idPrefix}-bad-${i}","value":`));
      continue;
    }
    const sensor = Math.floor(next() * SENSORS);
    const eventMs = plan.fromMs + Math.floor(next() * (plan.toMs - plan.fromMs));
    const resent = plan.resend !== undefined && i % plan.resend.every === 0 && !isMalformed(i + 1);
    const event = {
      eventId: resent ? `${plan.resend?.prefix}-${i + 1}` : `${plan.idPrefix}-${i}`,
      sensorId: `sensor-${sensor}`,
      metric: sensor % 3 === 0 ? 'humidity' : 'temperature',
      // Multiples of 1/4: every sum is exact in floating point, whatever the order.
      value: resent ? -1000 : Math.round((10 + next() * 25) * 4) / 4,
      unit: sensor % 3 === 0 ? '%' : 'C',
      timestamp: i % 2 === 0 ? new Date(eventMs).toISOString() : eventMs,
      ...(i % 7 === 0 ? { attributes: { site: `site-${sensor % 4}` } } : {}),
    };
    records.push(Buffer.from(JSON.stringify(event)));
    if (i % 50 === 0) records.push(Buffer.from(JSON.stringify(event))); // exact copy, same object
  }
  await writeRawObject(lakeDir, 'crash-test-raw', records, plan.arrivalMs);
}

async function snapshot(lakeDir: string): Promise<Snapshot> {
  const lake = await LocalLake.open({ lakeDir, maxClockSkewMs: SKEW_MS });
  try {
    const queries: Record<string, string> = {
      events:
        'SELECT * EXCLUDE (attributes), CAST(attributes AS VARCHAR) AS attributes FROM events ORDER BY dt, event_id',
      sensor_stats_hourly:
        'SELECT *, epoch_ms(hour_start) AS hour_ms FROM sensor_stats_hourly ORDER BY dt, sensor_id, metric, hour_start',
      sensor_stats_daily: 'SELECT * FROM sensor_stats_daily ORDER BY dt, sensor_id, metric',
    };
    const result: Snapshot = {};
    for (const table of TABLES) {
      const rows = await lake.query(queries[table]);
      result[table] = Object.fromEntries(
        [PREVIOUS_DAY, DAY].map((day) => [day, rows.filter((r) => r.dt === day)]),
      );
      expect(rows.every((r) => r.dt === PREVIOUS_DAY || r.dt === DAY)).toBe(true);
    }
    return result;
  } finally {
    lake.close();
  }
}

/** The leftover directories beside the partitions (`curated/<table>/.<what>-dt=<day>`). */
function leftovers(lakeDir: string): string[] {
  const root = path.join(lakeDir, 'curated');
  return TABLES.flatMap((table) =>
    fs
      .readdirSync(path.join(root, table))
      .filter((name) => name.startsWith('.'))
      .map((name) => `${table}/${name}`),
  ).sort();
}

/** What a crash of `table` at `phase` leaves beside the partitions until the next build of the day. */
function expectedLeftovers(table: string, phase: BuildPhase): string[] {
  const staging = `${table}/.staging-dt=${DAY}`;
  const replaced = `${table}/.replaced-dt=${DAY}`;
  if (phase === 'writing' || phase === 'staged') return [staging];
  if (phase === 'old-moved-aside') return [staging, replaced].sort();
  return [replaced];
}

/** Every file under curated/, relative to it. */
function curatedFiles(lakeDir: string): string[] {
  const root = path.join(lakeDir, 'curated');
  return fs
    .readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => fs.statSync(path.join(root, f)).isFile())
    .sort();
}

function freshCopy(): string {
  caseNumber += 1;
  const dir = path.join(workDir, `case-${caseNumber}`);
  fs.cpSync(prepared, dir, { recursive: true });
  return dir;
}

async function rebuild(lakeDir: string, onBuildStep?: (step: BuildStep) => void): Promise<void> {
  const lake = await LocalLake.open({ lakeDir, maxClockSkewMs: SKEW_MS, onBuildStep });
  try {
    await lake.runDay(DAY);
  } finally {
    lake.close();
  }
}

/** What each table must show for DAY after a crash of `crashed` at `phase`. */
function expectedAfterCrash(crashed: string, phase: BuildPhase): Snapshot {
  const at = TABLES.indexOf(crashed);
  const expected: Snapshot = {};
  for (const [i, table] of TABLES.entries()) {
    let rows: Rows;
    if (i < at) rows = newTables[table][DAY];
    else if (i > at) rows = oldTables[table][DAY];
    else if (phase === 'writing' || phase === 'staged') rows = oldTables[table][DAY];
    else if (phase === 'old-moved-aside') rows = [];
    else rows = newTables[table][DAY];
    expected[table] = { [PREVIOUS_DAY]: oldTables[table][PREVIOUS_DAY], [DAY]: rows };
  }
  return expected;
}

class InjectedCrash extends Error {
  public override readonly name = 'InjectedCrash';
}

interface ChildRun {
  readonly steps: string[];
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

function runChild(config: BatchCrashChildConfig): Promise<ChildRun> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--no-warnings', '--import', 'tsx', CHILD, JSON.stringify(config)],
      {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      resolve({ steps: stdout.split('\n').filter((l) => l.startsWith('STEP ')), signal, stderr });
    });
  });
}

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-batch-crash-'));
  prepared = path.join(workDir, 'prepared');
  const previousMs = DAY_MS - 86_400_000;
  await land(prepared, {
    seed: 1,
    arrivalMs: previousMs + 10 * HOUR_MS,
    fromMs: previousMs,
    toMs: previousMs + 10 * HOUR_MS,
    idPrefix: 'o1',
  });
  await land(prepared, {
    seed: 2,
    arrivalMs: DAY_MS + 2 * HOUR_MS,
    fromMs: previousMs + 10 * HOUR_MS,
    toMs: DAY_MS + 2 * HOUR_MS,
    idPrefix: 'o2',
  });
  await land(prepared, {
    seed: 3,
    arrivalMs: DAY_MS + 8 * HOUR_MS,
    fromMs: DAY_MS + 2 * HOUR_MS,
    toMs: DAY_MS + 8 * HOUR_MS,
    idPrefix: 'o3',
  });
  const lake = await LocalLake.open({ lakeDir: prepared, maxClockSkewMs: SKEW_MS });
  await lake.runRange(PREVIOUS_DAY, DAY);
  lake.close();
  oldTables = await snapshot(prepared);

  await land(prepared, {
    seed: 4,
    arrivalMs: DAY_MS + 15 * HOUR_MS,
    fromMs: DAY_MS + 8 * HOUR_MS,
    toMs: DAY_MS + 15 * HOUR_MS,
    idPrefix: 'n1',
    resend: { prefix: 'o3', every: 40 },
  });
  await land(prepared, {
    seed: 5,
    arrivalMs: DAY_MS + 27 * HOUR_MS,
    fromMs: DAY_MS,
    toMs: DAY_MS + 24 * HOUR_MS,
    idPrefix: 'n2',
    resend: { prefix: 'n1', every: 30 },
  });

  const clean = path.join(workDir, 'clean');
  fs.cpSync(prepared, clean, { recursive: true });
  await rebuild(clean);
  newTables = await snapshot(clean);
  cleanFiles = curatedFiles(clean);
});

afterAll(() => {
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

describe('the clean rebuild the crashed runs are compared with', () => {
  test('equals the independent recomputation from the raw lake', () => {
    const reference = referenceBatch(path.join(workDir, 'clean'), [DAY], SKEW_MS).days.get(
      DAY,
    ) as ReferenceDay;
    const events = newTables.events[DAY];
    const expectStats = (rows: Rows, stats: readonly ReferenceStats[], hourly: boolean): void => {
      const key = (sensor: unknown, metric: unknown, hour?: unknown): string =>
        `${sensor}|${metric}|${hour ?? ''}`;
      const byKey = new Map(rows.map((r) => [key(r.sensor_id, r.metric, hourly ? r.hour_ms : undefined), r]));
      expect([...byKey.keys()].sort()).toEqual(
        stats.map((s) => key(s.sensorId, s.metric, s.hourStartMs)).sort(),
      );
      for (const s of stats) {
        const row = byKey.get(key(s.sensorId, s.metric, s.hourStartMs)) as Record<string, number | string>;
        expect([Number(row.event_count), row.avg_value, row.min_value, row.max_value]).toEqual([
          s.count,
          s.avg,
          s.min,
          s.max,
        ]);
        expect(isPercentileWithinRank(s.sorted, 0.5, Number(row.p50_value))).toBe(true);
        expect(isPercentileWithinRank(s.sorted, 0.95, Number(row.p95_value))).toBe(true);
      }
    };

    expect(events.map((r) => [r.event_id, r.value])).toEqual(
      reference.events.map((e) => [e.eventId, e.value]).sort(([a], [b]) => (String(a) < String(b) ? -1 : 1)),
    );
    expectStats(newTables.sensor_stats_hourly[DAY], reference.hourly, true);
    expectStats(newTables.sensor_stats_daily[DAY], reference.daily, false);
  });

  test('differs from the old build in every table, so a crash that kept old rows would show', () => {
    for (const table of TABLES) expect(newTables[table][DAY]).not.toEqual(oldTables[table][DAY]);
    expect(newTables.events[DAY].some((r) => r.value === -1000)).toBe(false); // later copies lost
  });
});

describe('a batch job that crashes half-way through a day', () => {
  const points = TABLES.flatMap((table) => PHASES.map((phase) => [table, phase] as const));

  test.each(points)(
    'failing in %s at step "%s" leaves only whole partitions visible, and a re-run equals the clean build',
    async (table, phase) => {
      const lakeDir = freshCopy();

      await expect(
        rebuild(lakeDir, (step) => {
          if (step.table === table && step.phase === phase) throw new InjectedCrash(`${table} ${phase}`);
        }),
      ).rejects.toThrow(InjectedCrash);
      expect(leftovers(lakeDir)).toEqual(expectedLeftovers(table, phase));
      expect(await snapshot(lakeDir)).toEqual(expectedAfterCrash(table, phase));

      await rebuild(lakeDir);
      expect(await snapshot(lakeDir)).toEqual(newTables);
      expect(curatedFiles(lakeDir)).toEqual(cleanFiles);
    },
  );

  test('killed with SIGKILL in the middle of writing the events partition: old tables stay, the re-run is clean', async () => {
    const lakeDir = freshCopy();

    const run = await runChild({
      lakeDir,
      day: DAY,
      maxClockSkewMs: SKEW_MS,
      killAt: { table: 'events', phase: 'writing', delayMs: 20 },
    });
    expect({ signal: run.signal, steps: run.steps, stderr: run.stderr }).toEqual({
      signal: 'SIGKILL',
      steps: ['STEP events writing'],
      stderr: '',
    });
    expect(leftovers(lakeDir)).toEqual(expectedLeftovers('events', 'writing'));
    expect(await snapshot(lakeDir)).toEqual(expectedAfterCrash('events', 'writing'));

    await rebuild(lakeDir);
    expect(await snapshot(lakeDir)).toEqual(newTables);
    expect(curatedFiles(lakeDir)).toEqual(cleanFiles);
  });

  test('killed with SIGKILL between moving the old events partition aside and moving the new one in: events absent until the re-run, which is clean', async () => {
    const lakeDir = freshCopy();

    const run = await runChild({
      lakeDir,
      day: DAY,
      maxClockSkewMs: SKEW_MS,
      killAt: { table: 'events', phase: 'old-moved-aside' },
    });
    expect({ signal: run.signal, last: run.steps.at(-1) }).toEqual({
      signal: 'SIGKILL',
      last: 'STEP events old-moved-aside',
    });
    expect(leftovers(lakeDir)).toEqual(expectedLeftovers('events', 'old-moved-aside'));
    expect(await snapshot(lakeDir)).toEqual(expectedAfterCrash('events', 'old-moved-aside'));

    await rebuild(lakeDir);
    expect(await snapshot(lakeDir)).toEqual(newTables);
    expect(curatedFiles(lakeDir)).toEqual(cleanFiles);
  });

  test('killed with SIGKILL after events and the hourly table are rebuilt: daily stays old until the re-run, which is clean', async () => {
    const lakeDir = freshCopy();

    const run = await runChild({
      lakeDir,
      day: DAY,
      maxClockSkewMs: SKEW_MS,
      killAt: { table: 'sensor_stats_daily', phase: 'writing' },
    });
    expect({ signal: run.signal, last: run.steps.at(-1) }).toEqual({
      signal: 'SIGKILL',
      last: 'STEP sensor_stats_daily writing',
    });
    expect(await snapshot(lakeDir)).toEqual(expectedAfterCrash('sensor_stats_daily', 'writing'));

    await rebuild(lakeDir);
    expect(await snapshot(lakeDir)).toEqual(newTables);
    expect(curatedFiles(lakeDir)).toEqual(cleanFiles);
  });
});
