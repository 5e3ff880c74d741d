/**
 * `sluice local` stopped mid-stream (Ctrl-C) and started again with `--keep-state` resumes where it
 * stopped: kinesalite and dynalite kept their data under the state directory, the event source
 * runner resumes after its saved checkpoint, the Firehose after the last record it landed.
 *
 * 1,500 generated records are put into the first run's stream; it is stopped (SIGINT) once its
 * runner saved a first checkpoint, so part of the stream is not processed yet. The second run
 * processes the rest, and on Ctrl-C writes the replay outputs (`--out`).
 *
 * Where every record ends up: the first run processed the records up to its checkpoint, the second
 * run exactly the others (its `ingested` count); the aggregates equal the recomputation (nothing
 * lost, nothing counted twice); quarantine holds exactly the malformed records (the first run's
 * copies in the lake, the second run's from S3); the raw zone holds every record exactly once (the
 * first run's Firehose landed the stream when it stopped; the second one continues after it), so
 * the batch layer's events table equals the recomputation.
 * Not compared: the alerts. The first run read its alerts from the queue into memory, and fauxqs
 * keeps nothing across the restart; DynamoDB's alert state keeps them from being raised again.
 * A `sluice local` killed with SIGKILL resumes the same way, except that quarantine objects written
 * in the last seconds before the kill (not yet copied to the lake) are lost with fauxqs; the runner's
 * own resumption after SIGKILL is test/fault/runner-restart.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RecordWriter, type PutResult } from '../../cli/record-writer';
import { compareSequences } from '../../core/sequence';
import { createLocalClients, destroyLocalClients, type LocalEndpoints } from '../../local/endpoints';
import { FileCheckpointStore, type StreamCheckpoints } from '../../local/event-source/checkpoint-store';
import { startCli, type CliResult } from '../helpers/cli';
import type { Expected } from '../helpers/recompute';
import {
  crossedMidnight,
  expectedOutputs,
  readOutputs,
  withoutArrival,
  type ReplayOutputs,
} from '../helpers/replay-check';
import { faultTraffic } from '../helpers/speed-end-state';
import { until } from '../helpers/until';

const COUNT = 1_500;
const STREAM = { streamName: 'sluice-dev-events', consumer: 'stream-processor' };

let work: string;
let state: string;
let lines: string[];
let expected: Expected;
let positions: PutResult[];
let startedAt: number;
let finishedAt: number;
let afterFirstRun: StreamCheckpoints | undefined;
let runs: CliResult[];
let outputs: ReplayOutputs;

const localArgs = (...extra: string[]): string[] => [
  'local',
  '--state',
  state,
  '--no-dashboard',
  '--no-batch',
  '--firehose-interval',
  '1s',
  '-c',
  path.join(work, 'config.json'),
  '--quiet',
  ...extra,
];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-local-restart-'));
  state = path.join(work, 'state');
  // Small batches, so the first run is stopped with most of the stream still to do.
  fs.writeFileSync(
    path.join(work, 'config.json'),
    JSON.stringify({ processor: { batchSize: 50, maxBatchingWindow: '0s' } }),
  );
  startedAt = Date.now();
  const traffic = faultTraffic({
    count: COUNT,
    nowMs: startedAt,
    seed: 20_261_123,
    idPrefix: 'local-restart',
  });
  lines = traffic.lines;
  expected = expectedOutputs(lines, startedAt);
  const checkpoints = new FileCheckpointStore({ dir: path.join(state, 'checkpoints') });

  const first = startCli(localArgs());
  await first.waitFor(/Press Ctrl-C to stop/);
  const session = JSON.parse(fs.readFileSync(path.join(state, 'session.json'), 'utf8')) as {
    endpoints: LocalEndpoints;
  };
  const clients = createLocalClients(session.endpoints);
  try {
    positions = await new RecordWriter({ kinesis: clients.kinesis, streamName: STREAM.streamName }).putAll(
      traffic.records,
    );
  } finally {
    destroyLocalClients(clients);
  }
  await until(
    'a first checkpoint',
    async () => {
      const saved = await checkpoints.load(STREAM);
      return Object.values(saved?.shards ?? {}).some((s) => s.sequenceNumber !== undefined);
    },
    { timeoutMs: 60_000 },
  );
  const stoppedFirst = await first.stop('SIGINT');
  afterFirstRun = await checkpoints.load(STREAM);

  const tips = new Map(positions.map((p) => [p.shardId, p.sequenceNumber]));
  const second = startCli(localArgs('--keep-state', '--out', path.join(work, 'out')));
  await second.waitFor(/Press Ctrl-C to stop/);
  await until(
    'the second run processing the whole stream',
    async () => {
      const saved = await checkpoints.load(STREAM);
      return [...tips].every(([shard, tip]) => saved?.shards[shard]?.sequenceNumber === tip);
    },
    { timeoutMs: 60_000 },
  );
  runs = [stoppedFirst, await second.stop('SIGINT', 100_000)];
  finishedAt = Date.now();
  outputs = readOutputs(path.join(work, 'out'));
}, 170_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** Records the first run processed: up to its shard's saved checkpoint. */
function doneByFirstRun(): PutResult[] {
  return positions.filter((p) => {
    const checkpoint = afterFirstRun?.shards[p.shardId]?.sequenceNumber;
    return checkpoint !== undefined && compareSequences(p.sequenceNumber, checkpoint) <= 0;
  });
}

test('both runs exit cleanly on Ctrl-C, reporting no error', () => {
  const errors = (run: CliResult): string[] =>
    run.stderr.split('\n').filter((line) => /error/i.test(line) && !line.includes('stopping…'));

  expect(runs.map((run) => [run.code, errors(run)])).toEqual([
    [0, []],
    [0, []],
  ]);
});

test('the first run stopped mid-stream; the second processed exactly the records after its checkpoint', () => {
  const first = doneByFirstRun().length;

  expect(first).toBeGreaterThan(0);
  expect(first).toBeLessThan(COUNT);
  expect(outputs.summary.ingested).toBe(COUNT - first);
});

test('aggregates equal the independent recomputation: nothing lost, nothing counted twice', () => {
  expect(outputs.aggregates.length).toBeGreaterThan(100);
  expect(outputs.aggregates).toEqual(expected.aggregates);
});

test('quarantine holds exactly the malformed records of both runs, each with its reason', () => {
  const sorted = (list: ReadonlyArray<Record<string, unknown>>): string[] =>
    list.map((q) => `${String(q.reason)} ${String(q.data)}`).sort();

  expect(sorted(outputs.quarantine)).toEqual(sorted(expected.quarantine));
});

test('the raw zone holds every record exactly once, so the events table equals the recomputation', () => {
  expect(outputs.summary.rawLanded).toBe(COUNT);
  if (crossedMidnight(startedAt, finishedAt)) return;
  expect(withoutArrival(outputs.tables.events)).toEqual(expected.tables.events);
});
