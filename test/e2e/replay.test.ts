/**
 * The replay contract end to end: `sluice local --events FILE --once --out DIR [--chaos SEED]` on a
 * file with out-of-order timestamps, anomalies, malformed, late and duplicate records. The outputs
 * must equal an independent recomputation, and stay the same under the runner's fault injection.
 * (The same check on 100,000 events is test/e2e/replay-100k.test.ts, run on demand.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateEventLines } from '../../local/demo-producer';
import { runReplay, type CliResult } from '../helpers/cli';
import type { Expected } from '../helpers/recompute';
import {
  contractSummary,
  crossedMidnight,
  expectedOutputs,
  finalCounters,
  readOutputs,
  rowMismatches,
  withoutArrival,
  type ReplayOutputs,
} from '../helpers/replay-check';

const CHAOS_SEEDS = [11, 23, 37];
const HOUR_MS = 3_600_000;

let work: string;
let lines: string[];
let expected: Expected;
let startedAt: number;
let finishedAt: number;
let plain: CliResult;
let plainOutputs: ReplayOutputs;
const chaos = new Map<number, { result: CliResult; outputs?: ReplayOutputs }>();

function replay(out: string, extra: string[] = []): Promise<CliResult> {
  return runReplay(path.join(work, 'events.ndjson'), out, extra);
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-replay-'));
  startedAt = Date.now();
  lines = generateEventLines({
    count: 1_500,
    nowMs: startedAt,
    spanMs: 20 * 60_000,
    disorderMs: 90_000,
    seed: 20_261_121,
    sensors: 12,
    anomalyRate: 0.01,
    invalidRate: 0.02,
    lateRate: 0.02,
    duplicateRate: 0.01,
    idPrefix: 'replay',
  });
  fs.writeFileSync(path.join(work, 'events.ndjson'), `${lines.join('\n')}\n`);

  plain = await replay(path.join(work, 'plain'));
  plainOutputs = readOutputs(path.join(work, 'plain'));
  const runs = await Promise.all(
    CHAOS_SEEDS.map((seed) => replay(path.join(work, `chaos-${seed}`), ['--chaos', String(seed)])),
  );
  CHAOS_SEEDS.forEach((seed, i) => {
    const result = runs[i];
    chaos.set(seed, {
      result,
      outputs: result.code === 0 ? readOutputs(path.join(work, `chaos-${seed}`)) : undefined,
    });
  });
  finishedAt = Date.now();
  expected = expectedOutputs(lines, startedAt);
}, 600_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the replay exits 0 and prints the summary', () => {
  expect(plain.stderr).toBe('');
  expect(plain.code).toBe(0);
  expect(JSON.parse(plain.stdout.trim())).toEqual(plainOutputs.summary);
});

test('summary counts equal the recomputation, and every record landed raw', () => {
  expect(contractSummary(plainOutputs.summary)).toEqual({
    ...expected.summary,
    ingested: lines.length,
    rawLanded: lines.length,
  });
});

test('aggregates equal the recomputation', () => {
  expect(plainOutputs.aggregates.length).toBeGreaterThan(100);
  expect(plainOutputs.aggregates).toEqual(expected.aggregates);
});

test('alerts equal the recomputation (two-way cooldown in stream order)', () => {
  expect(plainOutputs.alerts.length).toBeGreaterThan(0);
  expect(plainOutputs.alerts).toEqual(expected.alerts);
});

test('quarantine holds every malformed line with its reason, in file order', () => {
  expect(plainOutputs.quarantine).toEqual(expected.quarantine);
});

test('the events table equals the recomputation and records the arrival hour', () => {
  if (crossedMidnight(startedAt, finishedAt)) return;
  const events = plainOutputs.tables.events;
  const firstHour = Math.floor(startedAt / HOUR_MS) * HOUR_MS;
  for (const row of events) {
    const hour = Date.parse(String(row.arrival_hour));
    expect(hour >= firstHour && hour <= finishedAt).toBe(true);
  }
  expect(withoutArrival(events)).toEqual(expected.tables.events);
});

test('hourly and daily statistics equal the recomputation', () => {
  if (crossedMidnight(startedAt, finishedAt)) return;
  expect(rowMismatches(plainOutputs.tables.sensor_stats_hourly, expected.tables.sensor_stats_hourly)).toEqual(
    [],
  );
  expect(rowMismatches(plainOutputs.tables.sensor_stats_daily, expected.tables.sensor_stats_daily)).toEqual(
    [],
  );
});

test.each(CHAOS_SEEDS)('--chaos %i injects faults that the runner retries', (seed) => {
  const { runner, chaos: faults } = finalCounters(path.join(work, `chaos-${seed}`));
  expect(faults?.faultyInvocations).toBeGreaterThan(0);
  expect(runner.retries + runner.redeliveries).toBeGreaterThan(0);
  expect(runner.recordsSentToOnFailure).toBe(0);
});

test.each(CHAOS_SEEDS)('outputs under --chaos %i are identical to the run without chaos', (seed) => {
  const run = chaos.get(seed);
  expect(run?.result.stderr).toBe('');
  expect(run?.result.code).toBe(0);
  const outputs = run?.outputs as ReplayOutputs;
  expect(outputs.summary).toEqual(plainOutputs.summary);
  expect(outputs.aggregates).toEqual(plainOutputs.aggregates);
  expect(outputs.alerts).toEqual(plainOutputs.alerts);
  expect(outputs.quarantine).toEqual(plainOutputs.quarantine);
  expect(withoutArrival(outputs.tables.events)).toEqual(withoutArrival(plainOutputs.tables.events));
  expect(outputs.tables.sensor_stats_hourly).toEqual(plainOutputs.tables.sensor_stats_hourly);
  expect(outputs.tables.sensor_stats_daily).toEqual(plainOutputs.tables.sensor_stats_daily);
});
