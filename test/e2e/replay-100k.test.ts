/**
 * The acceptance replay: 100,000 events from 200 sensors, timestamps out of order over an hour, 1%
 * malformed lines (plus late and duplicate events), with and without chaos; the outputs must equal
 * the independent recomputation. About 7 minutes per replay on a 2-core machine, so it only runs when
 * SLUICE_E2E_100K=1 (test/e2e/replay.test.ts checks the same on a smaller file in every run).
 *
 *   SLUICE_E2E_100K=1 npx jest test/e2e/replay-100k.test.ts
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
  readOutputs,
  rowMismatches,
  withoutArrival,
  type ReplayOutputs,
} from '../helpers/replay-check';

const enabled = process.env.SLUICE_E2E_100K === '1';
const CHAOS_SEED = 7;
const REPLAY_TIMEOUT_MS = 40 * 60_000;

let work: string;
let lines: string[];
let expected: Expected;
let startedAt: number;
let finishedAt: number;
const runs = new Map<string, { result: CliResult; outputs: ReplayOutputs; seconds: number }>();

async function replay(name: string, extra: string[]): Promise<void> {
  const out = path.join(work, name);
  const started = Date.now();
  const result = await runReplay(path.join(work, 'events.ndjson'), out, extra, {
    timeoutMs: REPLAY_TIMEOUT_MS,
  });
  if (result.code !== 0) throw new Error(`replay ${name} failed: ${result.stderr}`);
  runs.set(name, { result, outputs: readOutputs(out), seconds: (Date.now() - started) / 1000 });
}

(enabled ? describe : describe.skip)('replay of 100,000 events', () => {
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-replay-100k-'));
    startedAt = Date.now();
    lines = generateEventLines({
      count: 100_000,
      nowMs: startedAt,
      spanMs: 3_600_000,
      disorderMs: 120_000,
      seed: 100,
      sensors: 200,
      anomalyRate: 0.002,
      invalidRate: 0.01,
      lateRate: 0.005,
      duplicateRate: 0.002,
      idPrefix: 'big',
    });
    fs.writeFileSync(path.join(work, 'events.ndjson'), `${lines.join('\n')}\n`);
    await replay('plain', []);
    await replay('chaos', ['--chaos', String(CHAOS_SEED)]);
    finishedAt = Date.now();
    expected = expectedOutputs(lines, startedAt);
    for (const [name, run] of runs) process.stderr.write(`replay ${name}: ${run.seconds.toFixed(0)} s\n`);
  }, 2 * REPLAY_TIMEOUT_MS);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test.each(['plain', 'chaos'])(
    '%s: the file has 1%% malformed lines and every line is accounted for',
    (name) => {
      const summary = contractSummary(runs.get(name)?.outputs.summary ?? {});
      expect(summary).toEqual({ ...expected.summary, ingested: 100_000, rawLanded: 100_000 });
      expect(expected.summary.invalid).toBeGreaterThan(900);
    },
  );

  test.each(['plain', 'chaos'])('%s: aggregates, alerts and quarantine equal the recomputation', (name) => {
    const outputs = runs.get(name)?.outputs as ReplayOutputs;
    expect(outputs.aggregates).toEqual(expected.aggregates);
    expect(outputs.alerts).toEqual(expected.alerts);
    expect(outputs.quarantine).toEqual(expected.quarantine);
  });

  test.each(['plain', 'chaos'])('%s: the batch tables equal the recomputation', (name) => {
    if (crossedMidnight(startedAt, finishedAt)) return;
    const outputs = runs.get(name)?.outputs as ReplayOutputs;
    expect(withoutArrival(outputs.tables.events)).toEqual(expected.tables.events);
    expect(rowMismatches(outputs.tables.sensor_stats_hourly, expected.tables.sensor_stats_hourly)).toEqual(
      [],
    );
    expect(rowMismatches(outputs.tables.sensor_stats_daily, expected.tables.sensor_stats_daily)).toEqual([]);
  });
});
