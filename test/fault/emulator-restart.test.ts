/**
 * Fault test: the Kinesis and DynamoDB emulators are killed (SIGKILL) and started again mid-stream,
 * while the event source runner is in the middle of a batch; the runner and the handler see
 * connection errors and recover through the SDK's and Lambda's retry semantics.
 *
 * Setup: kinesalite and dynalite run in a child process with their data on disk (`--data-dir`,
 * LevelDB; test/helpers/restartable-emulators.ts), started again on the same directory and ports.
 * fauxqs (SNS, SQS, S3) cannot persist anything (its README: "All state is in-memory. No
 * persistence"), so it runs in a second child process that this test never restarts: restarting it
 * would lose the alerts topic's subscription and queued alerts, the on-failure queue and the
 * quarantine objects, which no retry brings back (`sluice local` creates the resources again on
 * start and keeps copies of quarantine objects in the lake directory, but alerts queued and not yet
 * read are lost with it). The runner, with the real stream processor, runs in this process.
 *
 * 3,000 generated records (as in runner-restart.test.ts): 60% are put, the runner starts, and when
 * DynamoDB acknowledges the handler's KILL_AFTER_UPDATES-th UpdateItem the emulator process is
 * killed at once, so the invocation in flight has part of its updates applied and the rest fail;
 * GetRecords fails too. The runner retries the failing batch (bisecting it, retries unlimited) and
 * its reads until the emulators are back; then the other 40% are put and the stream is drained.
 *
 * Where every record ends up: every record acknowledged before the kill is still in the stream
 * after it; records of invocations that failed during the outage are delivered again and applied
 * once (per-shard sequence marks on each item); valid records are in the aggregates, malformed ones
 * in quarantine with their reason, late ones counted and skipped; none goes to the on-failure queue.
 * The end state must equal an independent recomputation (test/helpers/recompute.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { RecordWriter, type PutResult } from '../../cli/record-writer';
import { DEFAULT_CONFIG, resolveConfig, toSpeedConfig } from '../../contract/config';
import type { BatchResult } from '../../lambdas/stream-processor/process-batch';
import {
  createLocalClients,
  destroyLocalClients,
  type LocalClients,
  type LocalEndpoints,
} from '../../local/endpoints';
import { FileCheckpointStore } from '../../local/event-source/checkpoint-store';
import { EventSourceRunner } from '../../local/event-source/runner';
import { eventSourceSettingsFromConfig } from '../../local/event-source/settings';
import type { KinesisHandler, RunnerCounters } from '../../local/event-source/types';
import { createLocalResources, type LocalResources } from '../../local/resources';
import { createLocalStreamProcessor } from '../../local/local-handler';
import { startEmulatorProcess, type EmulatorProcess } from '../helpers/emulators';
import { check } from '../helpers/contract-oracle';
import type { Expected } from '../helpers/recompute';
import { expectedOutputs } from '../helpers/replay-check';
import { startRestartableEmulators, type RestartableEmulators } from '../helpers/restartable-emulators';
import { faultTraffic, readSpeedEndState, TWO_SHARDS, type SpeedEndState } from '../helpers/speed-end-state';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const COUNT = 3_000;
const BATCH_SIZE = 250;
/** About a fifth of the UpdateItem calls of the whole run: the kill falls mid-stream. */
const KILL_AFTER_UPDATES = 900;
const STAGE = 'emulator-restart';
const DRAIN = { timeoutMs: 60_000 };

let work: string;
let fauxqs: EmulatorProcess;
let persistent: RestartableEmulators;
let clients: LocalClients;
let handlerClients: LocalClients;
let resources: LocalResources;
let lines: string[];
let expected: Expected;
let positions: PutResult[];
let acknowledgedBeforeKill: PutResult[];
let inFlightAtKill: number;
let counters: RunnerCounters;
let endState: SpeedEndState;
let streamAfter: Map<string, string>;
/** Records the handler found already applied to an item (it skipped them there), over all invocations. */
let alreadyApplied = 0;
/** Per record (shard + sequence number): invocations that carried it, and whether one of them failed it. */
const deliveries = new Map<string, { count: number; failedOnce: boolean; outcomes: Set<string> }>();

const key = (shardId: string, sequenceNumber: string): string => `${shardId}\n${sequenceNumber}`;

/** Every record in the stream, as shard + sequence number → data. */
async function readWholeStream(kinesis: KinesisClient, streamName: string): Promise<Map<string, string>> {
  const records = new Map<string, string>();
  const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  for (const shard of Shards) {
    let { ShardIterator: iterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of page.Records ?? [])
        records.set(
          key(shard.ShardId as string, r.SequenceNumber as string),
          Buffer.from(r.Data ?? []).toString(),
        );
      if ((page.Records ?? []).length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return records;
}

/** The real stream processor, noting what each invocation carried and how it ended. */
function observedHandler(config: ReturnType<typeof resolveConfig>): KinesisHandler {
  const results = new Map<KinesisStreamEvent, BatchResult>();
  const processor = createLocalStreamProcessor({
    clients: handlerClients,
    resources,
    config: toSpeedConfig(config),
    now: () => NOW,
    onResult: (result, event) => results.set(event, result),
  });
  const note = (event: KinesisStreamEvent, failed: (seq: string) => boolean, result?: BatchResult): void => {
    alreadyApplied += result?.stats.alreadyApplied ?? 0;
    event.Records.forEach((r, i) => {
      const id = key(r.eventID.split(':')[0], r.kinesis.sequenceNumber);
      const seen = deliveries.get(id) ?? { count: 0, failedOnce: false, outcomes: new Set<string>() };
      seen.count++;
      seen.failedOnce ||= failed(r.kinesis.sequenceNumber);
      if (result) seen.outcomes.add(result.outcomes[i]);
      deliveries.set(id, seen);
    });
  };
  return async (event, context) => {
    try {
      const response = await processor(event, context);
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier.split(':')[1]));
      note(event, (seq) => failed.has(seq), results.get(event));
      return response;
    } catch (error) {
      note(event, () => true, results.get(event));
      throw error;
    } finally {
      results.delete(event);
    }
  };
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-emulator-restart-'));
  const traffic = faultTraffic({ count: COUNT, nowMs: NOW, seed: 20_261_122, idPrefix: 'emulator-restart' });
  lines = traffic.lines;
  expected = expectedOutputs(lines, NOW);
  [fauxqs, persistent] = await Promise.all([
    startEmulatorProcess(),
    startRestartableEmulators({ dataDir: path.join(work, 'emulators') }),
  ]);
  const endpoints: LocalEndpoints = {
    ...persistent.endpoints,
    sns: fauxqs.endpoints.sns,
    sqs: fauxqs.endpoints.sqs,
    s3: fauxqs.endpoints.s3,
  };
  clients = createLocalClients(endpoints);
  handlerClients = createLocalClients(endpoints);
  const config = resolveConfig({ stage: STAGE, stream: TWO_SHARDS });
  resources = await createLocalResources(clients, config);
  const writer = new RecordWriter({ kinesis: clients.kinesis, streamName: resources.streamName });
  const cut = Math.floor(COUNT * 0.6);
  acknowledgedBeforeKill = await writer.putAll(traffic.records.slice(0, cut));

  // Kill the emulators right after DynamoDB acknowledged the KILL_AFTER_UPDATES-th UpdateItem.
  let updates = 0;
  let restarted: Promise<void> | undefined;
  handlerClients.dynamodb.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'UpdateItemCommand' && ++updates === KILL_AFTER_UPDATES) {
        inFlightAtKill = runner.metrics().shards.reduce((sum, s) => sum + s.inFlightBatches, 0);
        restarted = persistent.restart(); // sends SIGKILL before it returns
      }
      return result;
    },
    { step: 'initialize', name: 'killEmulatorsMidBatch' },
  );
  const runner = new EventSourceRunner({
    ...eventSourceSettingsFromConfig(config),
    batchSize: BATCH_SIZE,
    maxBatchingWindowMs: 0,
    retryAttempts: -1,
    maxRecordAgeMs: -1,
    retryBackoffMs: 20,
    maxRetryBackoffMs: 500,
    pollIntervalMs: 20,
    kinesis: handlerClients.kinesis,
    streamName: resources.streamName,
    handler: observedHandler(config),
    onFailure: { sqs: handlerClients.sqs, queueUrl: resources.onFailureQueueUrl },
    checkpointStore: new FileCheckpointStore({ dir: path.join(work, 'checkpoints') }),
  });
  await runner.start();
  try {
    while (!restarted) await new Promise((resolve) => setTimeout(resolve, 20));
    await restarted;
    streamAfter = await readWholeStream(clients.kinesis, resources.streamName);
    positions = [...acknowledgedBeforeKill, ...(await writer.putAll(traffic.records.slice(cut)))];
    await runner.drain(DRAIN);
  } finally {
    await runner.stop();
  }
  counters = runner.metrics().counters;
  endState = await readSpeedEndState(clients, resources, work, toSpeedConfig(DEFAULT_CONFIG).windows);
}, 120_000);

afterAll(async () => {
  if (clients) destroyLocalClients(clients);
  if (handlerClients) destroyLocalClients(handlerClients);
  await Promise.all([fauxqs?.stop(), persistent?.stop()]);
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the emulators were killed with a batch in flight, part of its updates applied, and the runner saw the outage', () => {
  expect(persistent.starts).toBe(2);
  expect(inFlightAtKill).toBeGreaterThan(0);
  // The retried batch found the updates that reached dynalite before the kill already applied.
  expect(alreadyApplied).toBeGreaterThan(0);
  expect(counters.failedInvocations).toBeGreaterThan(0);
  expect(counters.getRecordsErrors).toBeGreaterThan(0);
  expect(counters.recordsSentToOnFailure).toBe(0);
});

test('every record kinesalite acknowledged before the kill is in the stream after the restart', () => {
  const missing = acknowledgedBeforeKill.filter(
    (p, i) => streamAfter.get(key(p.shardId, p.sequenceNumber)) !== lines[i],
  );

  expect(missing).toEqual([]);
  expect(streamAfter.size).toBe(acknowledgedBeforeKill.length);
});

test('aggregates equal the independent recomputation: nothing lost, nothing counted twice', () => {
  expect(endState.aggregates.length).toBeGreaterThan(100);
  expect(endState.aggregates).toEqual(expected.aggregates);
});

test('quarantine holds exactly the malformed records, each with its reason', () => {
  const sorted = (list: ReadonlyArray<{ reason: string; data: string }>): string[] =>
    list.map((q) => `${q.reason} ${q.data}`).sort();

  expect(sorted(endState.quarantine)).toEqual(sorted(expected.quarantine));
});

test('every alert the rules call for was published, none lost, none under a new id, none left unpublished', () => {
  const ids = new Set(expected.alerts.map((a) => a.alertId));

  expect(endState.alerts.length).toBeGreaterThan(0);
  expect(endState.alerts).toEqual(expected.alerts);
  expect(endState.alertDeliveries.filter((id) => !ids.has(id))).toEqual([]);
  expect(endState.pendingAlerts).toBe(0);
});

test('where every record ended up: retried records applied once, each classified as the recomputation says', () => {
  const speed = toSpeedConfig(DEFAULT_CONFIG);
  const expectedOutcome = (line: string): string => {
    const checked = check(line, NOW, speed.maxClockSkewMs);
    if (!checked.ok) return 'invalid';
    return checked.event.eventTime < NOW - speed.latenessMs ? 'late' : 'valid';
  };
  const ledger = { processedFirstTime: 0, retriedAfterAFailure: 0, neverDelivered: 0 };
  const destinations = { aggregates: 0, quarantine: 0, lateSkipped: 0, misclassified: 0 };
  positions.forEach((p, i) => {
    const seen = deliveries.get(key(p.shardId, p.sequenceNumber));
    if (!seen) {
      ledger.neverDelivered++;
      return;
    }
    if (seen.failedOnce) ledger.retriedAfterAFailure++;
    else ledger.processedFirstTime++;
    const outcomes = [...seen.outcomes];
    if (outcomes.length !== 1 || outcomes[0] !== expectedOutcome(lines[i])) destinations.misclassified++;
    else if (outcomes[0] === 'valid') destinations.aggregates++;
    else if (outcomes[0] === 'invalid') destinations.quarantine++;
    else destinations.lateSkipped++;
  });

  expect(ledger.neverDelivered).toBe(0);
  expect(ledger.retriedAfterAFailure).toBeGreaterThan(0);
  expect(ledger.processedFirstTime + ledger.retriedAfterAFailure).toBe(COUNT);
  expect(destinations).toEqual({
    aggregates: expected.summary.valid,
    quarantine: expected.summary.invalid,
    lateSkipped: expected.summary.late,
    misclassified: 0,
  });
  expect(endState.onFailure).toEqual([]);
});
