/**
 * Speed-vs-batch drift end to end in local mode. A replay whose producers sent some events twice
 * (same `eventId` in two records) must show drift: the speed layer counts every record, the batch
 * layer keeps one copy per event. The same replay without duplicates must show none, although both
 * also carry events older than `lateness`, which the speed layer skips as late and the batch layer
 * keeps: their hours are late-only, not drift. Checked in summary.json (`sluice local
 * --events FILE --once --out DIR`), in the report the run writes to the lake, and on the dashboard's
 * data (the snapshot a running `sluice local` serves).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { resolveConfig } from '../../contract/config';
import { PipelineDashboardSource } from '../../local/dashboard/pipeline-source';
import { generateEventLines } from '../../local/demo-producer';
import { LocalPipeline } from '../../local/pipeline';
import { runReplay, type CliResult } from '../helpers/cli';
import { startEmulatorProcess } from '../helpers/emulators';

interface Drift {
  readonly status: string;
  readonly window: string | null;
  readonly days: string[];
  readonly itemsCompared: number;
  readonly itemsDiffering: number;
  readonly maxRelativeDifference: number;
  readonly missingInSpeed: number;
  readonly itemsLateOnly: number;
  readonly itemsUnsettled: number;
}

let work: string;
const runs = new Map<'clean' | 'duplicates', { result: CliResult; drift?: Drift }>();

const HOUR = 3_600_000;
/**
 * The replays' lateness. Late events are as the demo producer makes them, lateness plus 10–70
 * minutes old: a few hours at most, so their raw arrival partition (today) is one the batch job reads
 * for their event day (the day or the day after). Events days old would not be in the batch layer at
 * all, and could not show as drift either way.
 */
const LATENESS = '2h';
const LATE_BEFORE = Date.now() - 2 * HOUR;

/** Events older than the lateness, in about two hours of two sensors: the speed layer skips them. */
function lateLines(): string[] {
  return [0, 1, 2, 3, 4, 5].map((i) =>
    JSON.stringify({
      eventId: `drift-late-${i}`,
      sensorId: `sensor-00${1 + (i % 2)}`,
      metric: 'temperature',
      value: 20 + i,
      unit: 'C',
      timestamp: new Date(LATE_BEFORE - (10 + 12 * i) * 60_000).toISOString(),
    }),
  );
}

/** 600 events of 8 sensors over the last 40 minutes, no malformed records, then 6 late events. */
function eventLines(duplicateRate: number): string[] {
  return [...recentLines(duplicateRate), ...lateLines()];
}

function recentLines(duplicateRate: number): string[] {
  return generateEventLines({
    count: 600,
    nowMs: Date.now(),
    spanMs: 40 * 60_000,
    seed: 4242,
    sensors: 8,
    anomalyRate: 0,
    invalidRate: 0,
    lateRate: 0,
    duplicateRate,
    idPrefix: 'drift',
  });
}

async function replay(name: 'clean' | 'duplicates', lines: string[]): Promise<void> {
  const file = path.join(work, `${name}.ndjson`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const out = path.join(work, name);
  const config = path.join(work, 'sluice.config.json');
  const result = await runReplay(file, out, ['-c', config]);
  const summaryFile = path.join(out, 'summary.json');
  const drift = fs.existsSync(summaryFile)
    ? (JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as { drift: Drift }).drift
    : undefined;
  runs.set(name, { result, drift });
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-drift-'));
  fs.writeFileSync(path.join(work, 'sluice.config.json'), JSON.stringify({ lateness: LATENESS }));
  await Promise.all([replay('clean', eventLines(0)), replay('duplicates', eventLines(0.05))]);
}, 400_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('both replays finish', () => {
  for (const { result } of runs.values()) {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  }
});

test('without producer duplicates, summary.json shows zero drift over every compared hour', () => {
  const drift = runs.get('clean')?.drift;

  expect(drift).toMatchObject({
    status: 'compared',
    window: '1h',
    itemsDiffering: 0,
    maxRelativeDifference: 0,
  });
  expect(drift?.itemsCompared).toBeGreaterThan(0);
});

test('hours whose events were all late are late-only, not drift', () => {
  const drift = runs.get('clean')?.drift;

  const lateHours = new Set(
    lateLines().map((line) => {
      const event = JSON.parse(line) as { sensorId: string; timestamp: string };
      return `${event.sensorId}/${Math.floor(Date.parse(event.timestamp) / HOUR)}`;
    }),
  );

  expect(drift?.itemsLateOnly).toBe(lateHours.size);
  expect(drift).toMatchObject({ itemsDiffering: 0, missingInSpeed: 0, itemsUnsettled: 0 });
});

test('with producer duplicates, summary.json shows drift', () => {
  const drift = runs.get('duplicates')?.drift;

  expect(drift?.status).toBe('compared');
  expect(drift?.itemsDiffering).toBeGreaterThan(0);
  expect(drift?.maxRelativeDifference).toBeGreaterThan(0);
});

test('the replay writes the day reports into the lake, listing the differing hours', () => {
  const drift = runs.get('duplicates')?.drift as Drift;
  const reports = drift.days.map(
    (day) =>
      JSON.parse(
        fs.readFileSync(
          path.join(work, 'duplicates-state', 'lake', 'reports', 'reconciliation', `dt=${day}.json`),
          'utf8',
        ),
      ) as { itemsDiffering: number; differences: Array<{ kind: string; field: string }> },
  );

  expect(reports.reduce((n, r) => n + r.itemsDiffering, 0)).toBe(drift.itemsDiffering);
  expect(reports.flatMap((r) => r.differences).every((d) => d.kind === 'mismatch')).toBe(true);
});

describe('the dashboard of a running local pipeline', () => {
  let pipeline: LocalPipeline | undefined;

  beforeAll(async () => {
    const emulators = await startEmulatorProcess();
    pipeline = await LocalPipeline.start({
      config: resolveConfig({ stage: 'drift', lateness: LATENESS }),
      stateDir: path.join(work, 'dashboard-state'),
      emulators,
      firehoseBufferIntervalMs: 500,
    });
    const lines = eventLines(0.1);
    for (let i = 0; i < lines.length; i += 500) {
      const batch = lines.slice(i, i + 500);
      const response = await pipeline.clients.kinesis.send(
        new PutRecordsCommand({
          StreamName: pipeline.resources.streamName,
          Records: batch.map((line) => ({
            Data: Buffer.from(line),
            PartitionKey: (JSON.parse(line) as { sensorId: string }).sensorId,
          })),
        }),
      );
      expect(response.FailedRecordCount ?? 0).toBe(0);
    }
    await pipeline.settle();
  }, 180_000);

  afterAll(async () => {
    await pipeline?.stop();
  });

  test('while records flow, a batch run leaves the hours that ended too recently uncompared', async () => {
    const p = pipeline as LocalPipeline;
    const startedAt = Date.now();
    // A scheduled run: the pipeline may still be taking records in, so recent hours are not settled.
    await p.batch.run(p.accounting.eventDates);

    const drift = (await new PipelineDashboardSource(p).snapshot()).drift;

    // The replay's events lie in the last 40 minutes: at least the current hour is still filling in.
    expect(drift?.itemsUnsettled).toBeGreaterThan(0);
    expect(drift?.differences.every((d) => Date.parse(d.hourStart) + HOUR <= startedAt)).toBe(true);
  });

  test('shows the drift of duplicates after a batch run that saw everything landed', async () => {
    const p = pipeline as LocalPipeline;
    await p.batch.run(p.accounting.eventDates, { allLanded: true });

    const snapshot = await new PipelineDashboardSource(p).snapshot();

    expect(snapshot.drift?.status).toBe('compared');
    expect(snapshot.drift?.itemsUnsettled).toBe(0);
    expect(snapshot.drift?.itemsDiffering).toBeGreaterThan(0);
    expect(snapshot.drift?.differences[0]).toMatchObject({ kind: 'mismatch', field: 'count' });
  });
});
