/**
 * The alert outbox against DynamoDB Local, which enforces the 4 KB expression limit dynalite ignores
 * (issue 19): a device uploading buffered readings puts hundreds of alerts of one (sensor, rule) in
 * one batch. The real adapters run on DynamoDB Local; SNS is a recording stand-in that can fail.
 */
import { storagePlan } from '../../core/panes';
import { GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisStreamRecord } from 'aws-lambda';
import { applyCooldown, valueBreach } from '../../core/alerts';
import { decodeEvent } from '../../core/event';
import { MAX_PENDING_ALERTS } from '../../contract/storage-limits';
import { resolveConfig, toSpeedConfig } from '../../contract/config';
import { AggregateStore } from '../../lambdas/adapters/aggregate-store';
import { AlertStore, alertStateKey } from '../../lambdas/adapters/alert-store';
import { processBatch, type BatchPorts } from '../../lambdas/stream-processor/process-batch';
import { createAggregatesTable } from '../../local/resources';
import { recentNoon } from '../helpers/clock';
import { describeOnDynamoDbLocal, dynamoDbLocalClient, useDynamoDbLocal } from '../helpers/dynamodb-local';
import { kinesisRecord, sensorEvent } from '../helpers/factories';

const NOW = recentNoon();
const SECOND = 1_000;

/** The replay: cooldown 10 s, default windows and lateness. */
const CONFIG = toSpeedConfig(
  resolveConfig({
    processor: { batchSize: 1_000 },
    alertRules: [
      {
        id: 'temperature-high',
        metric: 'temperature',
        source: 'value',
        aggregate: 'value',
        op: '>',
        threshold: 28,
        cooldown: '10s',
        severity: 'warning',
      },
    ],
  }),
);

/** `count` breaching readings of one sensor, `gapMs` apart, the last one a minute before NOW. */
function bufferedUpload(sensorId: string, count: number, gapMs: number): KinesisStreamRecord[] {
  const first = NOW - 60 * SECOND - (count - 1) * gapMs;
  return Array.from({ length: count }, (_, i) =>
    kinesisRecord({
      data: sensorEvent({ sensorId, value: 35, timestamp: first + i * gapMs }),
      sequence: i + 1,
    }),
  );
}

/** An SNS stand-in that records what it published and fails while `down`. */
function recordingPublisher() {
  const published: string[] = [];
  const state = { down: false };
  return {
    published,
    state,
    port: {
      publish: async (alert: { alertId: string }) => {
        if (state.down) throw new Error('SNS unavailable');
        published.push(alert.alertId);
      },
    },
  };
}

let tableCount = 0;

describeOnDynamoDbLocal('alert outbox', () => {
  const ddb = useDynamoDbLocal();
  let client: DynamoDBClient;

  beforeAll(() => {
    client = dynamoDbLocalClient(ddb().endpoint);
  });
  afterAll(() => client?.destroy());

  async function setUp() {
    const tableName = `outbox-${++tableCount}`;
    await createAggregatesTable(client, tableName, 10_000);
    const publisher = recordingPublisher();
    const ttlSeconds = CONFIG.aggregateTtlMs / 1000;
    const alerts = new AlertStore({ client, tableName, ttlSeconds });
    const ports: BatchPorts = {
      aggregates: new AggregateStore({ client, tableName, plan: storagePlan(CONFIG.windows), ttlSeconds }),
      alerts,
      publisher: publisher.port,
      quarantine: { write: async () => 'key' },
    };
    const pending = async (sensorId: string): Promise<string[]> => {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: alertStateKey(sensorId, 'temperature-high') }),
      );
      return Object.keys(Item?.pending?.M ?? {});
    };
    return { tableName, publisher, ports, pending };
  }

  test('400 breaching readings 11 s apart in one batch: 400 alerts published, no record fails, outbox empty', async () => {
    const { publisher, ports, pending } = await setUp();
    const records = bufferedUpload('device-1', 400, 11 * SECOND);

    const result = await processBatch(records, ports, CONFIG, NOW);

    expect([...result.failures.values()].map((e) => e.message).slice(0, 1)).toEqual([]);
    expect(new Set(publisher.published).size).toBe(400);
    expect(await pending('device-1')).toEqual([]);
  });

  test('the same batch delivered again raises no alert and fails nothing', async () => {
    const { publisher, ports } = await setUp();
    const records = bufferedUpload('device-2', 400, 11 * SECOND);
    await processBatch(records, ports, CONFIG, NOW);
    publisher.published.length = 0;

    const again = await processBatch(records, ports, CONFIG, NOW);

    expect(again.failures.size).toBe(0);
    expect(publisher.published).toEqual([]);
  });

  test('while SNS is down the outbox holds at most one round of alerts; the retry delivers all 400', async () => {
    const { publisher, ports, pending } = await setUp();
    const records = bufferedUpload('device-3', 400, 11 * SECOND);
    publisher.state.down = true;

    const failed = await processBatch(records, ports, CONFIG, NOW);
    const waiting = await pending('device-3');
    publisher.state.down = false;
    const retried = await processBatch(records, ports, CONFIG, NOW);

    expect(failed.failures.size).toBe(400);
    expect(waiting.length).toBeGreaterThan(0);
    expect(waiting.length).toBeLessThanOrEqual(MAX_PENDING_ALERTS);
    expect(retried.failures.size).toBe(0);
    expect(new Set(publisher.published).size).toBe(400);
    expect(await pending('device-3')).toEqual([]);
  });

  test('an outbox left with 300 alerts (as before the fix) is published and cleared', async () => {
    const { tableName, publisher, ports, pending } = await setUp();
    const records = bufferedUpload('device-4', 300, 11 * SECOND);
    // The item as the store wrote it before rounds: all 300 alerts pending in one write.
    const { breaches } = await legacyOutbox(client, tableName, records);
    expect((await pending('device-4')).length).toBe(breaches);

    const result = await processBatch(records, ports, CONFIG, NOW);

    expect(result.failures.size).toBe(0);
    expect(new Set(publisher.published).size).toBe(300);
    expect(await pending('device-4')).toEqual([]);
  });
});

/**
 * Writes the alert item the unfixed store wrote for `records` (one breach each, all alerts, every
 * one pending), bypassing the store's rounds.
 */
async function legacyOutbox(
  client: DynamoDBClient,
  tableName: string,
  records: readonly KinesisStreamRecord[],
): Promise<{ breaches: number }> {
  const rule = CONFIG.alertRules[0];
  const breaches = records.map((r) => {
    const event = decodeEvent(r.kinesis.data, NOW, CONFIG.maxClockSkewMs);
    if (typeof event === 'string') throw new Error(event);
    return valueBreach(event, rule)!;
  });
  const { alerts, alertTimes } = applyCooldown([], breaches, rule.cooldownMs);
  await client.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: alertStateKey(breaches[0].sensorId, rule.id),
      UpdateExpression:
        'SET sensorId = :sensorId, ruleId = :ruleId, times = :times, pending = :pending, version = :version',
      ExpressionAttributeValues: {
        ':sensorId': { S: breaches[0].sensorId },
        ':ruleId': { S: rule.id },
        ':times': { L: alertTimes.map((t) => ({ N: String(t) })) },
        ':pending': { M: Object.fromEntries(alerts.map((a) => [a.alertId, { S: JSON.stringify(a) }])) },
        ':version': { N: '2' },
      },
    }),
  );
  return { breaches: alerts.length };
}
