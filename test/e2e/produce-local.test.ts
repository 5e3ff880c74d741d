/**
 * `sluice produce --local` against a running `sluice local`: nothing is lost. Every record sent
 * lands raw, the speed layer reads each once, and the aggregates count every valid event.
 * (A shorter version of the 2,000 events/s for 60 s check in docs/local-mode.md.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli, startCli, type CliResult } from '../helpers/cli';

interface ProduceResult {
  sent: number;
  byKind: { normal: number; anomaly: number; malformed: number; late: number; duplicate: number };
}

let work: string;
let produced: ProduceResult;
let stopped: CliResult;
let summary: Record<string, number>;
let aggregates: Array<{ window: string; count: number }>;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-produce-'));
  const state = path.join(work, 'state');
  const local = startCli([
    'local',
    '--port',
    '0',
    '--state',
    state,
    '--no-batch',
    '--out',
    path.join(work, 'out'),
    '--quiet',
  ]);
  await local.waitFor(/Press Ctrl-C to stop/, 60_000);
  const result = await runCli([
    'produce',
    '--local',
    '--state',
    state,
    '--rate',
    '400',
    '--duration',
    '5s',
    '--sensors',
    '20',
    '--invalid-rate',
    '0.02',
    '--anomaly-rate',
    '0.01',
    '--duplicate-rate',
    '0.01',
    '--seed',
    '4',
    '--json',
  ]);
  if (result.code !== 0) throw new Error(`sluice produce failed: ${result.stderr}`);
  produced = JSON.parse(result.stdout) as ProduceResult;
  stopped = await local.stop('SIGINT', 100_000);
  summary = JSON.parse(fs.readFileSync(path.join(work, 'out', 'summary.json'), 'utf8')) as Record<
    string,
    number
  >;
  aggregates = fs
    .readFileSync(path.join(work, 'out', 'aggregates.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { window: string; count: number });
}, 200_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('Ctrl-C stops the local mode cleanly after writing the outputs', () => {
  expect(stopped.code).toBe(0);
  expect(fs.existsSync(path.join(work, 'state', 'session.json'))).toBe(false);
});

test('every record produced landed raw and was read once by the speed layer', () => {
  expect(produced.sent).toBe(2_000);
  expect(summary.rawLanded).toBe(produced.sent);
  expect(summary.ingested).toBe(produced.sent);
});

test('invalid records are the malformed ones produced', () => {
  expect(summary.invalid).toBe(produced.byKind.malformed);
  expect(summary.valid + summary.late).toBe(produced.sent - produced.byKind.malformed);
});

test("each window's aggregate counts add up to the valid events", () => {
  const valid = produced.byKind.normal + produced.byKind.anomaly + produced.byKind.duplicate;
  expect(summary.valid).toBe(valid);
  for (const window of ['1m', '1h']) {
    expect(aggregates.filter((a) => a.window === window).reduce((sum, a) => sum + a.count, 0)).toBe(valid);
  }
});
