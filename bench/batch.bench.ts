/**
 * Batch-layer benchmark: the local batch job (sql/*.sql on DuckDB through local/batch/duckdb-runner.ts)
 * over a generated lake of 1,000,000+ raw records, compared in the same run with the naive baseline:
 * a straightforward line-by-line Node.js reduce over the same files (gunzip, JSON.parse and contract
 * validation per line, a Map for deduplication, sort-based statistics; test/helpers/reference-batch.ts).
 *
 * The lake holds one event day: 80 % of the records arrive that day, 20 % the next (late), 1 % are
 * duplicates and 0.5 % malformed, in objects of 50,000 records like a busy Firehose writes. Generating
 * the lake is not timed; each run rebuilds `events`, `sensor_stats_hourly` and `sensor_stats_daily`.
 * After one warm-up run of the job (file cache, DuckDB extensions), the job and the baseline each
 * run `runs` times; the figures are the medians. The job's time per table is printed too, and both
 * sides' CPU time (DuckDB's threads run in this process; the naive reduce uses one core).
 *
 * With --profile, one more run of the job records DuckDB's profile of the events build and prints
 * its operators by CPU time (summed over threads): where the time goes, for finding what to fix.
 *
 *   npx tsx bench/batch.bench.ts [records] [runs] [--profile]      (defaults: 1000000 3)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type BuildStep, LocalLake, profileOperators } from '../local/batch/duckdb-runner';
import { writeRawObject } from '../local/firehose';
import { referenceBatch, type ReferenceResult } from '../test/helpers/reference-batch';
import { positiveNumber, runBench } from './options';
import { recordResults } from './results';
import { formatCount, median } from './stats';

interface BatchBenchOptions {
  readonly records: number;
  readonly runs: number;
  readonly profile: boolean;
}

function benchOptions(): BatchBenchOptions {
  const { values, positionals } = parseArgs({
    options: { profile: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  return {
    records: Math.round(positiveNumber('records', positionals[0], 1_000_000)),
    runs: Math.round(positiveNumber('runs', positionals[1], 3)),
    profile: values.profile,
  };
}
const PER_OBJECT = 50_000;
const SENSORS = 200;
const DAY = '2026-11-20';
const DAY_MS = Date.parse(`${DAY}T00:00:00Z`);
const SKEW_MS = 300_000;

function rate(events: number, seconds: number): string {
  return `${formatCount(events / seconds)} events/s`;
}

const seconds = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e9;
const cpuSeconds = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

/** The operators of the events build's profile with at least 2 % of its CPU time, in plan order. */
function profileLines(file: string): string[] {
  const operators = profileOperators(file);
  const total = operators.reduce((sum, operator) => sum + operator.seconds, 0);
  return operators
    .filter((operator) => operator.seconds >= 0.02 * total)
    .map(({ depth, type, seconds, detail }) => {
      const share = `${((100 * seconds) / total).toFixed(0)} %`.padStart(5);
      const shortDetail = detail.replace(/\s+/g, ' ').slice(0, 90);
      return `    ${share} ${seconds.toFixed(2)} s  ${' '.repeat(depth)}${type} ${shortDetail}`;
    });
}

async function generate(lakeDir: string, count: number): Promise<number> {
  let seed = 42;
  const next = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  let written = 0;
  for (let object = 0; written < count; object++) {
    const records: Buffer[] = [];
    const late = object % 5 === 4; // every fifth object arrives the next day
    const arrivalMs =
      DAY_MS + (late ? 86_400_000 + (object % 6) * 3_600_000 : Math.min(object, 23) * 3_600_000 + 3_500_000);
    for (let i = 0; i < PER_OBJECT && written < count; i++, written++) {
      const n = written;
      if (n % 200 === 199) {
        records.push(Buffer.from(`{"eventId":"bad-${n}","value":`));
        continue;
      }
      const id = n % 100 === 99 ? `e-${n - 1}` : `e-${n}`; // 1 % re-sent copies
      const eventTime = late
        ? DAY_MS + Math.floor(next() * 86_400_000)
        : Math.min(arrivalMs, DAY_MS + Math.floor(next() * 86_399_999));
      const sensor = Math.floor(next() * SENSORS);
      records.push(
        Buffer.from(
          JSON.stringify({
            eventId: id,
            sensorId: `sensor-${String(sensor).padStart(4, '0')}`,
            metric: sensor % 3 === 0 ? 'humidity' : 'temperature',
            value: Math.round((15 + next() * 20) * 100) / 100,
            unit: sensor % 3 === 0 ? '%' : 'C',
            timestamp: n % 2 === 0 ? new Date(eventTime).toISOString() : eventTime,
            ...(n % 10 === 0 ? { attributes: { site: `site-${sensor % 7}` } } : {}),
          }),
        ),
      );
    }
    await writeRawObject(lakeDir, 'bench-raw', records, arrivalMs);
  }
  return written;
}

async function main(): Promise<void> {
  const options = benchOptions();
  const lakeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-batch-bench-'));
  try {
    const records = await generate(lakeDir, options.records);

    // Seconds per table of the current run, from the job's own build steps.
    let tableStart = process.hrtime.bigint();
    let tableSeconds: Record<string, number> = {};
    const onBuildStep = (step: BuildStep): void => {
      if (step.phase === 'writing') tableStart = process.hrtime.bigint();
      if (step.phase === 'done') tableSeconds[step.table] = seconds(tableStart);
    };
    const lake = await LocalLake.open({ lakeDir, maxClockSkewMs: SKEW_MS, onBuildStep });
    let build = await lake.runDay(DAY); // warm-up: file cache, DuckDB extensions
    const jobRuns: { seconds: number; cpuSeconds: number; tables: Record<string, number> }[] = [];
    for (let run = 0; run < options.runs; run++) {
      tableSeconds = {};
      const start = process.hrtime.bigint();
      const cpuStart = process.cpuUsage();
      build = await lake.runDay(DAY);
      jobRuns.push({ seconds: seconds(start), cpuSeconds: cpuSeconds(cpuStart), tables: tableSeconds });
    }
    const daily = await lake.query(
      'SELECT count(*) AS groups, sum(event_count) AS events FROM sensor_stats_daily',
    );
    lake.close();

    let profile: string[] = [];
    if (options.profile) {
      const profileDir = path.join(lakeDir, '.profile');
      const profiled = await LocalLake.open({ lakeDir, maxClockSkewMs: SKEW_MS, profileDir });
      try {
        await profiled.runDay(DAY);
      } finally {
        profiled.close();
      }
      profile = profileLines(path.join(profileDir, 'events.json'));
    }

    // Each run starts with the previous run's result released, so it works in a heap like a
    // single run's (holding a 1,000,000-event result while computing the next slows the GC).
    const naiveRuns: number[] = [];
    const naiveCpu: number[] = [];
    let reference: ReferenceResult | undefined;
    for (let run = 0; run < options.runs; run++) {
      reference = undefined;
      const start = process.hrtime.bigint();
      const cpuStart = process.cpuUsage();
      reference = referenceBatch(lakeDir, [DAY], SKEW_MS);
      naiveRuns.push(seconds(start));
      naiveCpu.push(cpuSeconds(cpuStart));
    }
    const naive = reference?.days.get(DAY);

    const jobSeconds = median(jobRuns.map((r) => r.seconds));
    const naiveSeconds = median(naiveRuns);
    const medianRun = jobRuns.find((r) => r.seconds === jobSeconds) ?? jobRuns[0];
    const jobCpu = median(jobRuns.map((r) => r.cpuSeconds));
    const naiveCpuSeconds = median(naiveCpu);
    const events = build.tables[0].rows;
    const agrees =
      naive !== undefined && naive.events.length === events && naive.daily.length === Number(daily[0].groups);
    const list = (values: readonly number[]): string => values.map((v) => v.toFixed(2)).join(', ');
    console.log(
      `batch layer: ${formatCount(records)} raw records in ${Math.ceil(records / PER_OBJECT)} gzip objects -> ` +
        `${formatCount(events)} events, ${formatCount(build.tables[1].rows)} hourly and ` +
        `${formatCount(build.tables[2].rows)} daily rows; median of ${options.runs} runs`,
    );
    console.log(
      `  local batch job (DuckDB, sql/*.sql)   ${rate(records, jobSeconds)} (${jobSeconds.toFixed(2)} s; runs ${list(jobRuns.map((r) => r.seconds))})`,
    );
    console.log(
      `    of which ${Object.entries(medianRun.tables)
        .map(([table, s]) => `${table} ${s.toFixed(2)} s`)
        .join(', ')}`,
    );
    console.log(
      `  naive line-by-line Node.js reduce     ${rate(records, naiveSeconds)} (${naiveSeconds.toFixed(2)} s; runs ${list(naiveRuns)})`,
    );
    console.log(`  ratio job / naive                     ${(naiveSeconds / jobSeconds).toFixed(2)}x`);
    console.log(
      `  CPU time job / naive                  ${jobCpu.toFixed(2)} s / ${naiveCpuSeconds.toFixed(2)} s ` +
        `(per core: ${(naiveCpuSeconds / jobCpu).toFixed(2)}x)`,
    );
    console.log(`  both give the same events and groups: ${agrees ? 'yes' : 'NO'}`);
    if (options.profile) {
      console.log(
        '  events build, one more run with DuckDB profiling (operators with >= 2 % of its CPU time):',
      );
      for (const line of profile) console.log(line);
    }
    console.log(
      `  load average when done: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(', ')} (${os.cpus().length} cores)`,
    );
    if (!agrees) {
      process.exitCode = 1;
      return;
    }
    recordResults({
      batch: {
        eventsPerSec: Math.round(records / jobSeconds),
        seconds: Number(jobSeconds.toFixed(3)),
        cpuSeconds: Number(jobCpu.toFixed(3)),
        records,
        runs: options.runs,
      },
      naiveBatch: {
        eventsPerSec: Math.round(records / naiveSeconds),
        seconds: Number(naiveSeconds.toFixed(3)),
        cpuSeconds: Number(naiveCpuSeconds.toFixed(3)),
        runs: options.runs,
      },
    });
  } finally {
    fs.rmSync(lakeDir, { recursive: true, force: true });
  }
}

runBench(main);
