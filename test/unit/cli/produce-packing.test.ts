import { packingOf } from '../../../cli/produce';
import { UsageError } from '../../../cli/errors';
import { resolveConfig } from '../../../contract/config';

test('--pack kpl needs the config to say producers aggregate, naming the field', () => {
  expect(() => packingOf({ pack: 'kpl', recordBytes: 5120 }, resolveConfig({}))).toThrow(UsageError);
  expect(() => packingOf({ pack: 'kpl', recordBytes: 5120 }, resolveConfig({}))).toThrow(
    /stream\.kplAggregation false/,
  );
  expect(
    packingOf({ pack: 'kpl', recordBytes: 5120 }, resolveConfig({ stream: { kplAggregation: true } })),
  ).toEqual({ mode: 'kpl', maxRecordBytes: 5120, perPartitionKey: false });
});

test('above parallelization factor 1, NDJSON records carry one partition key each', () => {
  const config = resolveConfig({ processor: { parallelizationFactor: 2 } });
  expect(packingOf({ pack: 'ndjson', recordBytes: 4000 }, config)).toEqual({
    mode: 'ndjson',
    maxRecordBytes: 4000,
    perPartitionKey: true,
  });
  expect(packingOf({ pack: 'ndjson', recordBytes: 4000 }, resolveConfig({})).perPartitionKey).toBe(false);
});
