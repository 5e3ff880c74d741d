/**
 * The speed-layer repair of a batch the processor applied in part, on the emulators: the batch's
 * one-minute items were written and its one-hour items failed, then the next batch moved every
 * item's marks past it. Marks alone cannot tell which items hold the given-up records; the repair
 * must complete the hourly items and leave the minute items as they are.
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import { resolveConfig, toSpeedConfig } from '../../contract/config';
import { storagePlan } from '../../core/panes';
import { compareHourly, type HourlyStats } from '../../core/reconcile';
import { AggregateStore } from '../../lambdas/adapters/aggregate-store';
import { createBatchPorts } from '../../lambdas/stream-processor/handler';
import { processBatch, type BatchPorts } from '../../lambdas/stream-processor/process-batch';
import {
  repairBatches,
  type GivenUpBatch,
  type RepairReport,
} from '../../lambdas/speed-repair/repair-batches';
import { StreamReader } from '../../lambdas/adapters/stream-reader';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import {
  createLocalRepairPorts,
  createLocalSpeedRepair,
  listedBatches,
  listGivenUp,
  repairSummary,
} from '../../local/speed-repair';
import { createLocalResources, type LocalResources } from '../../local/resources';
import { useEmulators } from '../helpers/emulators';
import {
  aggregateProblems,
  aggregatesOf,
  expectedOf,
  faultTraffic,
  NOW,
  putLines,
  scanAll,
  type Aggregate,
} from '../helpers/fault-ledger';

const local = useEmulators();

/** The batch ports, with every write to a `1h` item failing as in a DynamoDB outage. */
function failingHourly(ports: BatchPorts): BatchPorts {
  return {
    ...ports,
    aggregates: {
      read: (keys) => ports.aggregates.read(keys),
      apply: async (partials, eventsOf) => {
        const minutes = new Map([...partials].filter(([, p]) => p.window !== '1h'));
        const outcomes = await ports.aggregates.apply(minutes, eventsOf);
        const failed = [...partials.keys()]
          .filter((id) => !minutes.has(id))
          .map((id) => ({
            id,
            alreadyApplied: 0,
            written: false,
            conflicts: 0,
            error: new Error('DynamoDB is down'),
          }));
        return [...outcomes, ...failed];
      },
    },
  };
}

describe('a batch whose minute items were written and whose hourly items failed', () => {
  // Windows 1m and 1h only, so the items are exactly the two tumbling windows.
  const config = resolveConfig({
    stage: 'repair-partial',
    stream: { mode: 'provisioned', shardCount: 1 },
    windows: [
      { name: '1m', size: '1m' },
      { name: '1h', size: '1h' },
    ],
  });
  const speed = toSpeedConfig(config);
  const lines = faultTraffic({ count: 240, sensors: 4, seed: 21, prefix: 'partial', hotShare: 0 });
  let resources: LocalResources;
  let given: GivenUpBatch;
  let before: Map<string, Aggregate>;
  let report: RepairReport;
  let second: RepairReport;

  beforeAll(async () => {
    const { clients } = local();
    resources = await createLocalResources(clients, config);
    const positions = await putLines(clients.kinesis, resources.streamName, lines);
    const reader = new StreamReader({
      client: clients.kinesis,
      streamName: resources.streamName,
      streamArn: resources.streamArn,
    });
    const shard = positions[0].shardId;
    const records: KinesisStreamRecord[] = await reader.readRange(
      shard,
      positions[0].sequenceNumber,
      positions[positions.length - 1].sequenceNumber,
    );
    const deps = {
      ...clients,
      tableName: resources.tableName,
      alertsTopicArn: resources.alertsTopicArn,
      lakeBucket: resources.lakeBucketName,
      config: speed,
    };
    const first = records.slice(0, 120);
    const failed = await processBatch(first, failingHourly(createBatchPorts(deps, 'all')), speed, NOW);
    expect(failed.failures.size).toBeGreaterThan(0);
    const next = await processBatch(records.slice(120), createBatchPorts(deps, 'all'), speed, NOW);
    expect(next.failures.size).toBe(0);
    given = {
      shardId: shard,
      startSequenceNumber: first[0].kinesis.sequenceNumber,
      endSequenceNumber: first[first.length - 1].kinesis.sequenceNumber,
    };
    before = aggregatesOf(await scanAll(clients, resources.tableName), speed.windows);
    const ports = createLocalRepairPorts({ clients, resources, config });
    report = await repairBatches([given], ports, { config: speed, nowMs: NOW, role: 'all' });
    second = await repairBatches([given], ports, { config: speed, nowMs: NOW, role: 'all' });
  });

  const byWindow = (aggregates: Map<string, Aggregate>, window: string) =>
    new Map([...aggregates].filter(([key]) => key.split('|')[2] === window));

  test('before the repair the minute items were complete and the hourly items short', () => {
    const expected = expectedOf(lines, config);
    const minutes = { ...expected, aggregates: expected.aggregates.filter((a) => a.window === '1m') };
    const hours = { ...expected, aggregates: expected.aggregates.filter((a) => a.window === '1h') };

    expect(aggregateProblems({ aggregates: byWindow(before, '1m') }, minutes)).toEqual([]);
    expect(aggregateProblems({ aggregates: byWindow(before, '1h') }, hours)).not.toEqual([]);
  });

  test('the repair rewrote only the hourly items, and every item equals the recomputation', async () => {
    const { clients } = local();
    const after = aggregatesOf(await scanAll(clients, resources.tableName), speed.windows);

    expect(report.batches.map((b) => b.status)).toEqual(['repaired']);
    expect(report.itemsWritten).toBe(byWindow(before, '1h').size);
    expect(report.itemsComplete).toBeGreaterThan(0);
    expect(report.recordsRestored).toBeGreaterThan(0);
    expect(aggregateProblems({ aggregates: after }, expectedOf(lines, config))).toEqual([]);
  });

  test('the reconciliation comparison finds drift in the affected hours before the repair, none after', async () => {
    const { clients } = local();
    const after = aggregatesOf(await scanAll(clients, resources.tableName), speed.windows);
    const hourly = (aggregates: Map<string, Aggregate>): HourlyStats[] =>
      [...byWindow(aggregates, '1h')].map(([key, a]) => {
        const [sensorId, metric, , start] = key.split('|');
        return {
          sensorId,
          metric,
          hourStart: Number(start),
          count: a.count,
          sum: a.sum,
          min: a.min,
          max: a.max,
        };
      });
    // The hours the batch layer builds from every on-time record (late ones are in other hours).
    const truth = hourly(
      new Map(
        expectedOf(lines, config)
          .aggregates.filter((a) => a.window === '1h')
          .map((a) => [
            `${a.sensorId}|${a.metric}|1h|${Date.parse(a.windowStart as string)}`,
            { count: a.count as number, sum: a.sum as number, min: a.min as number, max: a.max as number },
          ]),
      ),
    );

    expect(compareHourly(hourly(before), truth).itemsDiffering).toBeGreaterThan(0);
    expect(compareHourly(hourly(after), truth)).toMatchObject({ itemsDiffering: 0, missingInSpeed: 0 });
  });

  test('run again, it finds every item complete', () => {
    expect(second.itemsWritten).toBe(0);
    expect(second.itemsComplete).toBe(report.itemsComplete + report.itemsWritten);
  });

  test("a rewritten item's mark stands past the given-up range (the processor folds on top of it)", async () => {
    const { clients } = local();
    const store = new AggregateStore({
      client: clients.dynamodb,
      tableName: resources.tableName,
      plan: storagePlan(speed.windows),
      ttlSeconds: 60,
    });
    const hourly = [...byWindow(before, '1h').keys()].map((key) => {
      const [sensorId, metric, window, start] = key.split('|');
      return { sensorId, metric, window, windowStart: Number(start) };
    });
    const items = await store.read(hourly);

    expect(items.every((item) => item !== undefined && Object.keys(item.marks).length === 1)).toBe(true);
    expect(
      items.every((item) => item!.marks[given.shardId] > given.endSequenceNumber.padStart(130, '0')),
    ).toBe(true);
  });

  test('local mode lists the queued on-failure documents and repairs them, emptying the queue', async () => {
    const { clients } = local();
    const document = (fn: string) =>
      JSON.stringify({
        requestContext: {
          requestId: fn,
          functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${fn}`,
          condition: 'RetryAttemptsExhausted',
          approximateInvokeCount: 3,
        },
        version: '1.0',
        timestamp: new Date(NOW).toISOString(),
        KinesisBatchInfo: {
          ...given,
          approximateArrivalOfFirstRecord: '',
          approximateArrivalOfLastRecord: '',
          batchSize: 120,
          streamArn: resources.streamArn,
        },
      });
    for (const fn of ['stream-processor', 'alert-processor'])
      await clients.sqs.send(
        new SendMessageCommand({ QueueUrl: resources.onFailureQueueUrl, MessageBody: document(fn) }),
      );

    const listed = listedBatches(await listGivenUp(clients, resources));
    const summary = repairSummary(
      await createLocalSpeedRepair({ clients, resources, config, now: () => NOW })(),
    );
    const after = await listGivenUp(clients, resources);

    expect(listed.map((b) => b.processor).sort()).toEqual(['alert-processor', 'stream-processor']);
    expect(
      listed.every((b) => b.startSequenceNumber === given.startSequenceNumber && b.batchSize === 120),
    ).toBe(true);
    expect(summary).toMatchObject({ received: 2, repaired: 2, failed: 0, itemsWritten: 0 });
    expect(after).toEqual([]);
  });
});
