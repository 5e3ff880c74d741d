import {
  aggregatePartitionKey,
  aggregateSortKey,
  sensorKeyPrefix,
  seriesOfPartitionKey,
} from '../../../contract/table-keys';

test('a series partition key names its sensor and metric back', () => {
  const pk = aggregatePartitionKey('sensor:7.a-b', 'temp_c');
  expect(pk).toBe('AGG#sensor:7.a-b#temp_c');
  expect(seriesOfPartitionKey(pk)).toEqual({ sensorId: 'sensor:7.a-b', metric: 'temp_c' });
  expect(pk.startsWith(sensorKeyPrefix('sensor:7.a-b'))).toBe(true);
});

test.each(['ALERT#s-1', 'AGG#s-1', 'AGG##t', 'AGG#s-1#'])('%s is no series key', (pk) => {
  expect(seriesOfPartitionKey(pk)).toBeUndefined();
});

test('sort keys of one window sort as their starts do', () => {
  const starts = [Date.UTC(2026, 0, 1, 9), Date.UTC(2026, 0, 1, 10), Date.UTC(2026, 11, 31, 23)];
  const keys = starts.map((s) => aggregateSortKey('1h', s));
  expect([...keys].sort()).toEqual(keys);
  expect(keys[0]).toBe('1h#2026-01-01T09:00:00.000Z');
});
