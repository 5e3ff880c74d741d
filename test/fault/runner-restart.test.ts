/**
 * Fault test: the local event source runner is killed with SIGKILL in the middle of a batch and
 * started again; it resumes from its durable checkpoints (local/event-source/checkpoint-store.ts).
 *
 * Setup: emulators (kinesalite, dynalite, fauxqs) in a child process; 3,000 generated records (40
 * sensors, event times out of order, ~3% malformed, ~2% late, ~1% producer duplicates) put into the
 * two-shard stream, 60% before the runner starts and the rest while it runs. The runner, with the
 * real stream processor, runs in a process of its own (test/helpers/runner-process.ts). Once
 * DynamoDB has acknowledged STALL_AFTER_UPDATES UpdateItem calls, the runner's next acknowledgement
 * is held back, so an invocation is in flight with part of its item updates applied, and the
 * process is killed then: no clean stop, no last checkpoint save. A second runner process starts
 * from the checkpoint file and drains the stream.
 *
 * Where every record ends up (the last test states it record by record):
 *  - records up to a shard's saved checkpoint were processed by the first runner and are never
 *    delivered again;
 *  - records after it that the first runner had already delivered (the batch in flight, and batches
 *    finished after the last checkpoint save) are delivered again; the handler finds their updates
 *    already applied (per-shard sequence marks on each item) and does not count them twice;
 *  - every other record is delivered for the first time after the restart;
 *  - valid records are in the aggregates, malformed ones in quarantine with their reason, late ones
 *    counted and skipped; nothing goes to the on-failure queue.
 * The end state must equal an independent recomputation (test/helpers/recompute.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RecordWriter, type PutResult } from '../../cli/record-writer';
import { compareSequences } from '../../core/sequence';
import { DEFAULT_CONFIG, resolveConfig, toSpeedConfig } from '../../contract/config';
import { createLocalClients, destroyLocalClients, type LocalClients } from '../../local/endpoints';
import { FileCheckpointStore, type StreamCheckpoints } from '../../local/event-source/checkpoint-store';
import type { RunnerCounters } from '../../local/event-source/types';
import { createLocalResources, type LocalResources } from '../../local/resources';
import { startEmulatorProcess, type EmulatorProcess } from '../helpers/emulators';
import { check } from '../helpers/contract-oracle';
import type { Expected } from '../helpers/recompute';
import { expectedOutputs } from '../helpers/replay-check';
import { readJournal, startRunnerProcess, type JournalEntry } from '../helpers/runner-process';
import { faultTraffic, readSpeedEndState, TWO_SHARDS, type SpeedEndState } from '../helpers/speed-end-state';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const COUNT = 3_000;
const BATCH_SIZE = 250;
/** Mid-stream: after both shards have saved a checkpoint, with records still to come (the tests below check both). */
const STALL_AFTER_UPDATES = 800;
const STAGE = 'runner-restart';
const CONSUMER = 'stream-processor';

let work: string;
let emulators: EmulatorProcess;
let clients: LocalClients;
let resources: LocalResources;
let lines: string[];
let expected: Expected;
let positions: PutResult[];
let savedAtKill: StreamCheckpoints | undefined;
let journals: { first: JournalEntry[]; second: JournalEntry[] };
let secondCounters: RunnerCounters;
let endState: SpeedEndState;

const key = (shardId: string, sequenceNumber: string): string => `${shardId}\n${sequenceNumber}`;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-runner-restart-'));
  const traffic = faultTraffic({ count: COUNT, nowMs: NOW, seed: 20_261_121, idPrefix: 'restart' });
  lines = traffic.lines;
  expected = expectedOutputs(lines, NOW);
  emulators = await startEmulatorProcess();
  clients = createLocalClients(emulators.endpoints);
  resources = await createLocalResources(clients, resolveConfig({ stage: STAGE, stream: TWO_SHARDS }));
  const writer = new RecordWriter({ kinesis: clients.kinesis, streamName: resources.streamName });
  const checkpointDir = path.join(work, 'checkpoints');
  const base = {
    endpoints: emulators.endpoints,
    stage: STAGE,
    checkpointDir,
    nowMs: NOW,
    batchSize: BATCH_SIZE,
  };

  const cut = Math.floor(COUNT * 0.6);
  const before = await writer.putAll(traffic.records.slice(0, cut));
  const first = startRunnerProcess({
    ...base,
    run: 1,
    journal: path.join(work, 'journal-1.ndjson'),
    mode: 'run',
    stallAfterUpdates: STALL_AFTER_UPDATES,
  });
  const rest = writer.putAll(traffic.records.slice(cut)); // while the first runner runs
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    first.stalled,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('the first runner never reached the kill point')), 60_000);
    }),
  ]).finally(() => clearTimeout(timer));
  await first.kill();
  savedAtKill = await new FileCheckpointStore({ dir: checkpointDir }).load({
    streamName: resources.streamName,
    consumer: CONSUMER,
  });
  positions = [...before, ...(await rest)];

  const second = startRunnerProcess({
    ...base,
    run: 2,
    journal: path.join(work, 'journal-2.ndjson'),
    mode: 'drain',
  });
  secondCounters = await second.finished;
  endState = await readSpeedEndState(clients, resources, work, toSpeedConfig(DEFAULT_CONFIG).windows);
  journals = {
    first: readJournal(path.join(work, 'journal-1.ndjson')),
    second: readJournal(path.join(work, 'journal-2.ndjson')),
  };
}, 120_000);

afterAll(async () => {
  if (clients) destroyLocalClients(clients);
  await emulators?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

interface Invocation {
  readonly shardId: string;
  readonly seqs: readonly string[];
  readonly result?: Extract<JournalEntry, { type: 'result' }>;
  readonly threw: boolean;
}

function invocations(journal: readonly JournalEntry[]): Invocation[] {
  const results = new Map<number, Extract<JournalEntry, { type: 'result' }>>();
  const errors = new Set<number>();
  for (const entry of journal) {
    if (entry.type === 'result') results.set(entry.id, entry);
    if (entry.type === 'error') errors.add(entry.id);
  }
  return journal.flatMap((entry) =>
    entry.type === 'invoke'
      ? [
          {
            shardId: entry.shardId,
            seqs: entry.seqs,
            result: results.get(entry.id),
            threw: errors.has(entry.id),
          },
        ]
      : [],
  );
}

/** Records (shard + sequence number) delivered in a run. */
function delivered(journal: readonly JournalEntry[]): Set<string> {
  return new Set(invocations(journal).flatMap((i) => i.seqs.map((seq) => key(i.shardId, seq))));
}

/** Records an invocation of the run succeeded on: returned, and not in batchItemFailures. */
function succeeded(journal: readonly JournalEntry[]): Set<string> {
  return new Set(
    invocations(journal).flatMap((i) =>
      i.result
        ? i.seqs.filter((seq) => !i.result?.failed.includes(seq)).map((seq) => key(i.shardId, seq))
        : [],
    ),
  );
}

function savedCheckpoint(shardId: string): string {
  const saved = savedAtKill?.shards[shardId]?.sequenceNumber;
  if (!saved) throw new Error(`no checkpoint was saved for ${shardId} before the kill`);
  return saved;
}

test('the first runner was killed with an invocation in flight, part of its DynamoDB updates applied', () => {
  const inFlight = invocations(journals.first).filter((i) => !i.result && !i.threw);
  const again = invocations(journals.second).filter((i) =>
    i.seqs.some((seq) => inFlight.some((f) => f.shardId === i.shardId && f.seqs.includes(seq))),
  );

  expect(journals.first.filter((e) => e.type === 'stall')).toEqual([
    { type: 'stall', run: 1, updates: STALL_AFTER_UPDATES },
  ]);
  expect(inFlight.length).toBeGreaterThan(0);
  // Redelivered, the batch finds some of its records' updates already applied and applies the rest.
  expect(again.reduce((sum, i) => sum + (i.result?.alreadyApplied ?? 0), 0)).toBeGreaterThan(0);
  expect(again.reduce((sum, i) => sum + (i.result?.itemsWritten ?? 0), 0)).toBeGreaterThan(0);
});

test('the restarted runner resumed each shard right after its saved checkpoint: nothing before it again, nothing after it skipped', () => {
  const second = delivered(journals.second);
  const doneBeforeKill = succeeded(journals.first);
  const wrong: string[] = [];
  for (const p of positions) {
    const afterCheckpoint = compareSequences(p.sequenceNumber, savedCheckpoint(p.shardId)) > 0;
    const id = key(p.shardId, p.sequenceNumber);
    if (afterCheckpoint && !second.has(id)) wrong.push(`skipped ${id}`);
    if (!afterCheckpoint && second.has(id)) wrong.push(`delivered again ${id}`);
    if (!afterCheckpoint && !doneBeforeKill.has(id)) wrong.push(`checkpointed but not done ${id}`);
  }
  expect(wrong.slice(0, 5)).toEqual([]);
  expect(secondCounters.recordsSucceeded).toBe(second.size);
});

test('records delivered before the kill and again after the restart are found already applied', () => {
  const second = delivered(journals.second);
  const redelivered = [...delivered(journals.first)].filter((id) => second.has(id));
  const alreadyApplied = invocations(journals.second).reduce(
    (sum, i) => sum + (i.result?.alreadyApplied ?? 0),
    0,
  );

  expect(redelivered.length).toBeGreaterThan(0);
  expect(alreadyApplied).toBeGreaterThan(0);
});

test('aggregates equal the independent recomputation: nothing lost, nothing counted twice', () => {
  expect(endState.aggregates.length).toBeGreaterThan(100);
  expect(endState.aggregates).toEqual(expected.aggregates);
});

test('quarantine holds exactly the malformed records, each with its reason', () => {
  const lineOf = new Map(positions.map((p, i) => [key(p.shardId, p.sequenceNumber), lines[i]]));
  const sorted = (list: ReadonlyArray<{ reason: string; data: string }>): string[] =>
    list.map((q) => `${q.reason} ${q.data}`).sort();

  expect(sorted(endState.quarantine)).toEqual(sorted(expected.quarantine));
  // Each quarantined record is the stream record it names.
  expect(endState.quarantine.filter((q) => lineOf.get(key(q.shardId, q.sequenceNumber)) !== q.data)).toEqual(
    [],
  );
});

test('every alert the rules call for was published, none lost, none under a new id, none left unpublished', () => {
  const ids = new Set(expected.alerts.map((a) => a.alertId));

  expect(endState.alerts.length).toBeGreaterThan(0);
  expect(endState.alerts).toEqual(expected.alerts);
  // A record re-delivered after an alert was published may publish it again; same alertId.
  expect(endState.alertDeliveries.filter((id) => !ids.has(id))).toEqual([]);
  expect(endState.pendingAlerts).toBe(0);
});

test('where every record ended up: each delivered, classified as the recomputation says, none on-failure', () => {
  const speed = toSpeedConfig(DEFAULT_CONFIG);
  const expectedLetter = (line: string): string => {
    const checked = check(line, NOW, speed.maxClockSkewMs);
    if (!checked.ok) return 'i';
    return checked.event.eventTime < NOW - speed.latenessMs ? 'l' : 'v';
  };
  const outcomes = new Map<string, Set<string>>();
  for (const journal of [journals.first, journals.second]) {
    for (const i of invocations(journal)) {
      i.result?.outcomes.split('').forEach((letter, n) => {
        const id = key(i.shardId, i.seqs[n]);
        outcomes.set(id, (outcomes.get(id) ?? new Set()).add(letter));
      });
    }
  }
  const first = delivered(journals.first);
  const second = delivered(journals.second);
  const ledger = { checkpointedBeforeKill: 0, deliveredBeforeAndAfter: 0, firstDeliveredAfterRestart: 0 };
  const destinations = { aggregates: 0, quarantine: 0, lateSkipped: 0, misclassified: 0, neverDelivered: 0 };
  positions.forEach((p, i) => {
    const id = key(p.shardId, p.sequenceNumber);
    if (!second.has(id)) ledger.checkpointedBeforeKill++;
    else if (first.has(id)) ledger.deliveredBeforeAndAfter++;
    else ledger.firstDeliveredAfterRestart++;
    const seen = [...(outcomes.get(id) ?? [])];
    if (seen.length === 0) destinations.neverDelivered++;
    else if (seen.length > 1 || seen[0] !== expectedLetter(lines[i])) destinations.misclassified++;
    else if (seen[0] === 'v') destinations.aggregates++;
    else if (seen[0] === 'i') destinations.quarantine++;
    else destinations.lateSkipped++;
  });

  expect(
    ledger.checkpointedBeforeKill + ledger.deliveredBeforeAndAfter + ledger.firstDeliveredAfterRestart,
  ).toBe(COUNT);
  expect(Math.min(...Object.values(ledger))).toBeGreaterThan(0);
  expect(destinations).toEqual({
    aggregates: expected.summary.valid,
    quarantine: expected.summary.invalid,
    lateSkipped: expected.summary.late,
    misclassified: 0,
    neverDelivered: 0,
  });
  expect(endState.onFailure).toEqual([]);
});
