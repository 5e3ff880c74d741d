import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { aggregatePartitionKey } from '../../../contract/table-keys';
import type { WindowSpec } from '../../../core/speed-config';
import { AggregateReader, MAX_INSTANCES, MAX_TOP_KEYS } from '../../../lambdas/adapters/aggregate-reader';

type Item = Record<string, AttributeValue>;

const WINDOWS: WindowSpec[] = [
  { name: '1m', sizeMs: 60_000, hopMs: 60_000 },
  { name: '5m', sizeMs: 300_000, hopMs: 60_000 },
  { name: '1h', sizeMs: 3_600_000, hopMs: 3_600_000 },
];
const AT = Date.parse('2026-12-03T15:30:00Z');

/** A stand-in table: the window index lists `series` sensors of metric t; nothing else is found. */
function fakeTable(series: number) {
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
      if (!command.input.RequestItems) return { Items: [] }; // a series' Query: no items
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

test(`a range of ${MAX_INSTANCES} instances is read, one more is refused`, async () => {
  const { reader } = fakeTable(0);
  const from = Date.parse('2026-12-01T00:00:00Z');
  const read = { sensorId: 's-1', metric: 't', window: '1m', from };
  await expect(reader.range({ ...read, to: from + (MAX_INSTANCES - 1) * 60_000 })).resolves.toEqual([]);
  await expect(reader.range({ ...read, to: from + MAX_INSTANCES * 60_000 })).rejects.toThrow(
    `the range holds ${MAX_INSTANCES + 1} instances of window 1m`,
  );
});

test('an unknown window is named with the configured ones', async () => {
  const { reader } = fakeTable(0);
  await expect(reader.top({ metric: 't', window: '7d', at: AT, n: 1, by: 'avg' })).rejects.toThrow(
    'window "7d" is not configured; the windows are 1m, 5m, 1h',
  );
});
