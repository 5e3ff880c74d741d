/**
 * Packed records end to end (contract v1.1): the same events replayed as single records
 * (`--events`), NDJSON-packed and KPL-packed records (`--records`) give identical aggregates,
 * alerts, quarantine, batch tables and event counts; only the record count differs. Packed traffic
 * keeps exactly-once under the runner's fault injection (a record is never split across batches,
 * so the per-lane marks by sequence number hold for its events).
 *
 * The records pack each sensor's events apart (as the KPL does, aggregating per predicted shard):
 * which breach of a cooldown becomes the alert depends on each sensor's order in the stream, which
 * this keeps; a record mixing sensors may send one to another shard and pick other, equally valid
 * alerts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packEvents, type PackMode } from '../../core/record-packing';
import { parseEventFile } from '../../local/event-file';
import { generateEventLines } from '../../local/demo-producer';
import { runReplay, type CliResult } from '../helpers/cli';
import { finalCounters, readOutputs, withoutArrival, type ReplayOutputs } from '../helpers/replay-check';

const RUNS = [
  { name: 'single', pack: 'none' },
  { name: 'ndjson', pack: 'ndjson' },
  { name: 'kpl', pack: 'kpl' },
  { name: 'kpl-chaos', pack: 'kpl', chaos: 23 },
  { name: 'ndjson-chaos', pack: 'ndjson', chaos: 7 },
] as const satisfies ReadonlyArray<{ name: string; pack: PackMode; chaos?: number }>;

let work: string;
let events: number;
const results = new Map<string, { result: CliResult; outputs?: ReplayOutputs; records: number }>();

/** A `--records` file of the event file's lines packed as `pack` says (5 KiB records). */
function recordFile(file: string, pack: PackMode): { lines: string[]; records: number } {
  const packed = packEvents(parseEventFile(fs.readFileSync(file)), { mode: pack, perPartitionKey: true });
  return {
    lines: packed.map((r) =>
      JSON.stringify({ data: Buffer.from(r.data).toString('base64'), partitionKey: r.partitionKey }),
    ),
    records: packed.length,
  };
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-packed-'));
  const lines = generateEventLines({
    count: 300,
    nowMs: Date.now(),
    spanMs: 10 * 60_000,
    disorderMs: 60_000,
    seed: 20_261_203,
    sensors: 6,
    anomalyRate: 0.03,
    invalidRate: 0.05,
    lateRate: 0.03,
    // No duplicates: then the layers agree exactly (drift 0), which the packed runs must keep.
    duplicateRate: 0,
    idPrefix: 'packed',
  });
  events = lines.length;
  const eventFile = path.join(work, 'events.ndjson');
  fs.writeFileSync(eventFile, `${lines.join('\n')}\n`);
  const runs = await Promise.all(
    RUNS.map(async (run) => {
      const out = path.join(work, run.name);
      const chaos = 'chaos' in run ? ['--chaos', String(run.chaos)] : [];
      if (run.pack === 'none') return { result: await runReplay(eventFile, out, chaos), records: events };
      const file = path.join(work, `${run.name}.records`);
      const packed = recordFile(eventFile, run.pack);
      fs.writeFileSync(file, `${packed.lines.join('\n')}\n`);
      const config = path.join(work, 'kpl.config.json');
      fs.writeFileSync(config, JSON.stringify({ stream: { kplAggregation: true } }));
      const result = await runReplay(file, out, [...chaos, '-c', config], { input: '--records' });
      return { result, records: packed.records };
    }),
  );
  RUNS.forEach((run, i) => {
    const { result, records } = runs[i];
    const dir = path.join(work, run.name);
    results.set(run.name, { result, records, outputs: result.code === 0 ? readOutputs(dir) : undefined });
  });
}, 600_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const sorted = (rows: ReadonlyArray<Record<string, unknown>>): string[] =>
  rows.map((row) => JSON.stringify(row)).sort();

function outputsOf(name: string): ReplayOutputs {
  const run = results.get(name);
  expect(run?.result.stderr).toBe('');
  expect(run?.result.code).toBe(0);
  return run?.outputs as ReplayOutputs;
}

test('packing fits several events in a record', () => {
  expect(results.get('ndjson')?.records).toBeLessThan(events / 5);
  expect(results.get('kpl')?.records).toBeLessThan(events / 5);
});

test('the single-record replay quarantines, aggregates, alerts and has no drift (a reference worth matching)', () => {
  const single = outputsOf('single');
  expect(single.summary).toMatchObject({
    lines: events,
    records: events,
    ingested: events,
    rawLanded: events,
  });
  expect(single.summary.invalid).toBeGreaterThan(5);
  expect(single.summary.late).toBeGreaterThan(5);
  expect(single.aggregates.length).toBeGreaterThan(20);
  expect(single.alerts.length).toBeGreaterThan(0);
  const drift = (single.summary as unknown as { drift: { itemsCompared: number; itemsDiffering: number } })
    .drift;
  expect(drift.itemsCompared).toBeGreaterThan(0);
  expect(drift.itemsDiffering).toBe(0);
});

test.each(RUNS.filter((r) => r.pack !== 'none').map((r) => r.name))(
  '%s: the same aggregates, alerts, quarantine, tables and event counts as single records',
  (name) => {
    const single = outputsOf('single');
    const packed = outputsOf(name);
    expect(packed.summary).toEqual({ ...single.summary, records: results.get(name)?.records });
    expect(packed.aggregates).toEqual(single.aggregates);
    expect(packed.alerts).toEqual(single.alerts);
    // In the order of each file's lines: the same entries, ordered by record, then index in it.
    expect(sorted(packed.quarantine)).toEqual(sorted(single.quarantine));
    expect(withoutArrival(packed.tables.events)).toEqual(withoutArrival(single.tables.events));
    expect(packed.tables.sensor_stats_hourly).toEqual(single.tables.sensor_stats_hourly);
    expect(packed.tables.sensor_stats_daily).toEqual(single.tables.sensor_stats_daily);
  },
);

test.each(RUNS.filter((r) => 'chaos' in r).map((r) => r.name))(
  '%s: the runner injected faults and retried packed records',
  (name) => {
    const { runner, chaos } = finalCounters(path.join(work, name));
    expect(chaos?.faultyInvocations).toBeGreaterThan(0);
    expect(runner.retries + runner.redeliveries).toBeGreaterThan(0);
    expect(runner.recordsSentToOnFailure).toBe(0);
  },
);
