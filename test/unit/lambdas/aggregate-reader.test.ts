import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { aggregatePartitionKey } from '../../../contract/table-keys';
import type { WindowSpec } from '../../../core/speed-config';
import {
  AggregateReader,
  MAX_INDEX_HOURS,
  MAX_RANGE_ITEMS,
  MAX_TOP_KEYS,
} from '../../../lambdas/adapters/aggregate-reader';

type Item = Record<string, AttributeValue>;

const WINDOWS: WindowSpec[] = [
  { name: '1m', sizeMs: 60_000, hopMs: 60_000 },
  { name: '5m', sizeMs: 300_000, hopMs: 60_000 },
  { name: '1h', sizeMs: 3_600_000, hopMs: 3_600_000 },
];
const AT = Date.parse('2026-12-03T15:30:00Z');

/** A stored 1m item of s-1/t starting at `start`. */
function storedItem(start: number): Item {
  const n = (v: number) => ({ N: String(v) });
  return {
    sensorId: { S: 's-1' },
    metric: { S: 't' },
    window: { S: '1m' },
    windowStart: n(start),
    windowEnd: n(start + 60_000),
    count: n(1),
    sum: n(1),
    min: n(1),
    max: n(1),
    firstEventTime: n(start),
    lastEventTime: n(start),
  };
}

/**
 * A stand-in table: the window index lists `series` sensors of metric t, a series' Query finds
 * `stored` 1m items (in pages of 1,000), BatchGetItem finds nothing.
 */
function fakeTable(series: number, stored = 0) {
  const batchKeys: number[] = [];
  const client = {
    send: async (command: {
      input: {
        IndexName?: string;
        RequestItems?: Record<string, { Keys: Item[]; ConsistentRead?: boolean }>;
      };
    }) => {
      if (command.input.IndexName) {
        return {
          Items: Array.from({ length: series }, (_, i) => ({
            pk: { S: aggregatePartitionKey(`s-${i}`, 't') },
          })),
        };
      }
      if (!command.input.RequestItems) {
        // A series' Query, in pages of 1,000 items.
        const from = Number(
          (command.input as { ExclusiveStartKey?: { n: { N: string } } }).ExclusiveStartKey?.n.N ?? 0,
        );
        const to = Math.min(stored, from + 1_000);
        const Items = Array.from({ length: to - from }, (_, i) => storedItem(AT + (from + i) * 60_000));
        return { Items, LastEvaluatedKey: to < stored ? { n: { N: String(to) } } : undefined };
      }
      const request = command.input.RequestItems.t;
      expect(request.ConsistentRead).toBe(false);
      batchKeys.push(request.Keys.length);
      return { Responses: { t: [] } };
    },
  } as unknown as DynamoDBClient;
  return { reader: new AggregateReader({ client, tableName: 't', windows: WINDOWS }), batchKeys };
}

test(`a top-N of a composed window reads ${MAX_TOP_KEYS} keys at most, 100 a request`, async () => {
  const { reader, batchKeys } = fakeTable(MAX_TOP_KEYS / 5);
  const top = await reader.top({ metric: 't', window: '5m', at: AT, n: 10, by: 'max' });
  expect(top.series).toBe(MAX_TOP_KEYS / 5);
  expect([batchKeys.length, Math.max(...batchKeys)]).toEqual([MAX_TOP_KEYS / 100, 100]);
});

test('a top-N that would read one key more is refused before any item read', async () => {
  const { reader, batchKeys } = fakeTable(MAX_TOP_KEYS / 5 + 1);
  await expect(reader.top({ metric: 't', window: '5m', at: AT, n: 10, by: 'max' })).rejects.toThrow(
    `ranking window 5m reads ${MAX_TOP_KEYS + 5} items (${MAX_TOP_KEYS / 5 + 1} sensors); at most ${MAX_TOP_KEYS}`,
  );
  expect(batchKeys).toEqual([]);
});

test(`a series read of ${MAX_RANGE_ITEMS} stored windows is answered, one more is refused`, async () => {
  const read = { sensorId: 's-1', metric: 't', window: '1m', from: AT, to: AT + 30 * 86_400_000 };
  await expect(fakeTable(0, MAX_RANGE_ITEMS).reader.range(read)).resolves.toHaveLength(MAX_RANGE_ITEMS);
  await expect(fakeTable(0, MAX_RANGE_ITEMS + 1).reader.range(read)).rejects.toThrow(
    `the range holds more than ${MAX_RANGE_ITEMS} stored windows of one series`,
  );
});

test(`a sensor's metrics are looked up over ${MAX_INDEX_HOURS} hours at most`, async () => {
  const { reader } = fakeTable(0);
  const read = { sensorId: 's-1', window: '1h', from: AT - (AT % 3_600_000) };
  await expect(reader.range({ ...read, to: read.from + (MAX_INDEX_HOURS - 1) * 3_600_000 })).resolves.toEqual(
    [],
  );
  await expect(reader.range({ ...read, to: read.from + MAX_INDEX_HOURS * 3_600_000 })).rejects.toThrow(
    `the range spans ${MAX_INDEX_HOURS + 1} hours; at most ${MAX_INDEX_HOURS}`,
  );
});

test('an unknown window is named with the configured ones', async () => {
  const { reader } = fakeTable(0);
  await expect(reader.top({ metric: 't', window: '7d', at: AT, n: 1, by: 'avg' })).rejects.toThrow(
    'window "7d" is not configured; the windows are 1m, 5m, 1h',
  );
});
