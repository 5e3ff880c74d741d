/**
 * The largest items and expressions the adapters can produce, written to DynamoDB Local (which
 * enforces the 400 KB item and 4 KB expression limits): each bound of contract/storage-limits.ts at its
 * edge works, and one past it is refused by the adapter with a typed error before DynamoDB sees it.
 * Also the one adapter read the end-to-end suite does not make: the reconciliation's Query.
 */
import { storagePlan } from '../../core/panes';
import { GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { PartialAggregate } from '../../core/aggregate';
import type { Breach } from '../../core/alerts';
import { MAX_EPOCH_MS, MAX_EVENT_ID_LENGTH, MAX_METRIC_LENGTH, MAX_SENSOR_ID_LENGTH } from '../../core/event';
import type { AlertRule } from '../../core/speed-config';
import {
  MAX_ALERT_TIMES,
  MAX_LANE_ID_LENGTH,
  MAX_LANES_PER_ITEM,
  MAX_NAME_LENGTH,
  MAX_PENDING_ALERTS,
} from '../../contract/storage-limits';
import { AggregateStore, LaneLimitExceededError } from '../../lambdas/adapters/aggregate-store';
import { AlertStore, alertStateKey } from '../../lambdas/adapters/alert-store';
import { SpeedHourlyReader } from '../../lambdas/adapters/speed-hourly-reader';
import { createAggregatesTable } from '../../local/resources';
import { recentNoon } from '../helpers/clock';
import { describeOnDynamoDbLocal, dynamoDbLocalClient, useDynamoDbLocal } from '../helpers/dynamodb-local';

const HOUR = 3_600_000;
const TTL_SECONDS = 7 * 24 * 3600;
const SENSOR = 's'.repeat(MAX_SENSOR_ID_LENGTH);
const METRIC = 'm'.repeat(MAX_METRIC_LENGTH);
const WINDOW = 'w'.repeat(MAX_NAME_LENGTH);

/** A rule with every name at its longest and a 10 s cooldown. */
const RULE: AlertRule = {
  id: 'r'.repeat(MAX_NAME_LENGTH),
  metric: METRIC,
  source: WINDOW,
  aggregate: 'max',
  op: '>',
  threshold: -1.2345678901234567e-100,
  cooldownMs: 10_000,
  severity: 'critical',
};

/** A breach whose alert JSON is as long as any can be (escaped eventId, 17-digit numbers). */
function longestBreach(eventTime: number): Breach {
  return {
    ruleId: RULE.id,
    sensorId: SENSOR,
    metric: METRIC,
    severity: RULE.severity,
    value: -1.2345678901234567e-100,
    threshold: RULE.threshold,
    op: RULE.op,
    eventTime,
    source: WINDOW,
    aggregate: RULE.aggregate,
    eventId: '\u0001'.repeat(MAX_EVENT_ID_LENGTH),
    windowStart: eventTime,
  };
}

let tables = 0;

describeOnDynamoDbLocal('item and expression limits at their edges', () => {
  const ddb = useDynamoDbLocal();
  let client: DynamoDBClient;
  beforeAll(() => {
    client = dynamoDbLocalClient(ddb().endpoint);
  });
  afterAll(() => client?.destroy());

  async function table(): Promise<string> {
    const name = `limits-${++tables}`;
    await createAggregatesTable(client, name, 10_000);
    return name;
  }

  test(`an alert item with ${MAX_ALERT_TIMES} alert times and ${MAX_PENDING_ALERTS} of the longest pending alerts is written and cleared`, async () => {
    const tableName = await table();
    const store = new AlertStore({ client, tableName, ttlSeconds: TTL_SECONDS });
    // 15-digit event times near the largest an event may carry, a cooldown apart: the history of a
    // rule at its bound. The new breaches lie after it, also a cooldown apart.
    const oldest = MAX_EPOCH_MS - 2 * MAX_ALERT_TIMES * RULE.cooldownMs;
    const history = Array.from({ length: MAX_ALERT_TIMES }, (_, i) => oldest + i * RULE.cooldownMs);
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: alertStateKey(SENSOR, RULE.id),
        UpdateExpression: 'SET sensorId = :s, ruleId = :r, times = :t, version = :v',
        ExpressionAttributeValues: {
          ':s': { S: SENSOR },
          ':r': { S: RULE.id },
          ':t': { L: history.map((t) => ({ N: String(t) })) },
          ':v': { N: '1' },
        },
      }),
    );
    const after = history[history.length - 1] + RULE.cooldownMs;
    const breaches = Array.from({ length: MAX_PENDING_ALERTS }, (_, i) =>
      longestBreach(after + i * RULE.cooldownMs),
    );
    const group = { sensorId: SENSOR, rule: RULE, breaches };

    const [outcome] = await store.record([group], 0, MAX_EPOCH_MS - HOUR);
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tableName, Key: alertStateKey(SENSOR, RULE.id), ConsistentRead: true }),
    );
    await store.clearPending(group, outcome.toPublish);
    const cleared = await client.send(
      new GetItemCommand({ TableName: tableName, Key: alertStateKey(SENSOR, RULE.id), ConsistentRead: true }),
    );

    expect(outcome.error).toBeUndefined();
    expect(outcome.toPublish).toHaveLength(MAX_PENDING_ALERTS);
    expect(Item?.times?.L).toHaveLength(MAX_ALERT_TIMES);
    expect(Object.keys(Item?.pending?.M ?? {})).toHaveLength(MAX_PENDING_ALERTS);
    expect(cleared.Item?.pending?.M).toEqual({});
  });

  test(`one round past ${MAX_PENDING_ALERTS} breaches is refused by the alert store with AlertGroupTooLargeError`, async () => {
    const tableName = await table();
    const store = new AlertStore({ client, tableName, ttlSeconds: TTL_SECONDS });
    const breaches = Array.from({ length: MAX_PENDING_ALERTS + 1 }, (_, i) =>
      longestBreach(recentNoon() - i * RULE.cooldownMs),
    );

    const [outcome] = await store.record([{ sensorId: SENSOR, rule: RULE, breaches }], 0, recentNoon());

    expect(outcome.error?.name).toBe('AlertGroupTooLargeError');
  });

  /** One record per lane, each lane id and sequence number as long as Kinesis allows. */
  function partialFromLanes(lanes: number, windowStart: number): PartialAggregate {
    const ranges: Record<string, { first: string; last: string }> = {};
    for (let i = 0; i < lanes; i++) {
      const lane = `shardId-${String(i).padStart(MAX_LANE_ID_LENGTH - 8, '0')}`;
      const sequence = `9${String(i).padStart(128, '0')}`;
      ranges[lane] = { first: sequence, last: sequence };
    }
    return {
      sensorId: SENSOR,
      metric: METRIC,
      window: WINDOW,
      windowStart,
      windowEnd: windowStart + HOUR,
      count: lanes,
      sum: lanes * -1.2345678901234567e-100,
      min: -1.2345678901234567e-100,
      max: -1.2345678901234567e-100,
      firstEventTime: windowStart,
      lastEventTime: windowStart + HOUR - 1,
      lanes: ranges,
    };
  }

  test(`an aggregate item with ${MAX_LANES_PER_ITEM} of the longest lane marks is written; one lane more is refused with LaneLimitExceededError`, async () => {
    const tableName = await table();
    const windowStart = recentNoon() - HOUR;
    const store = new AggregateStore({
      client,
      tableName,
      plan: storagePlan([{ name: WINDOW, sizeMs: HOUR, hopMs: HOUR }]),
      ttlSeconds: TTL_SECONDS,
    });
    const atLimit = partialFromLanes(MAX_LANES_PER_ITEM, windowStart);
    // Another window's item: new to the table, so every one of its lanes is new.
    const pastLimit = partialFromLanes(MAX_LANES_PER_ITEM + 1, windowStart - HOUR);
    const eventsOf = () => {
      throw new Error('not needed: every lane of these partials is new to its item');
    };

    const [written, refused] = await store.apply(
      new Map([
        ['at-limit', atLimit],
        ['past-limit', pastLimit],
      ]),
      eventsOf,
    );
    const { Item } = await client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: {
          pk: { S: `AGG#${SENSOR}#${METRIC}` },
          sk: { S: `${WINDOW}#${new Date(windowStart - HOUR).toISOString()}` },
        },
      }),
    );

    expect(written.error).toBeUndefined();
    expect(Object.keys(written.state?.marks ?? {})).toHaveLength(MAX_LANES_PER_ITEM);
    expect(refused.error).toBeInstanceOf(LaneLimitExceededError);
    expect(Item).toBeUndefined();
  });

  test('the reconciliation reads a day of hourly aggregates back with Query', async () => {
    const tableName = await table();
    const day = new Date(recentNoon()).toISOString().slice(0, 10);
    const dayStart = Date.parse(`${day}T00:00:00Z`);
    const store = new AggregateStore({
      client,
      tableName,
      plan: storagePlan([{ name: '1h', sizeMs: HOUR, hopMs: HOUR }]),
      ttlSeconds: TTL_SECONDS,
    });
    const hours = [0, 5, 23].map((h) => ({
      ...partialFromLanes(1, dayStart + h * HOUR),
      sensorId: 'sensor-1',
      metric: 'temperature',
      window: '1h',
      count: h + 1,
      sum: 10 * (h + 1),
      min: 1,
      max: 20,
    }));
    // The hour before the day and the hour after it must not be read.
    const outside = [dayStart - HOUR, dayStart + 24 * HOUR].map((start) => ({
      ...hours[0],
      windowStart: start,
      windowEnd: start + HOUR,
    }));
    await store.apply(new Map([...hours, ...outside].map((p, i) => [String(i), p])), () => []);

    const rows = await new SpeedHourlyReader({ client, tableName, window: '1h' }).read(day, [
      { sensorId: 'sensor-1', metric: 'temperature' },
    ]);

    expect(rows.map((r) => [r.hourStart - dayStart, r.count, r.sum]).sort((a, b) => a[0]! - b[0]!)).toEqual([
      [0, 1, 10],
      [5 * HOUR, 6, 60],
      [23 * HOUR, 24, 240],
    ]);
  });
});
