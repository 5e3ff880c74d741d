import fc from 'fast-check';
import {
  compareSequences,
  fnv1a32,
  fnv1a32Value,
  laneId,
  padSequence,
  SEQUENCE_WIDTH,
} from '../../../core/sequence';

describe('padSequence', () => {
  test('padded sequence numbers compare as strings exactly like the numbers they encode', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 60n }),
        fc.bigInt({ min: 0n, max: 10n ** 60n }),
        (a, b) => {
          const expected = a < b ? -1 : a > b ? 1 : 0;
          return compareSequences(a.toString(), b.toString()) === expected;
        },
      ),
    );
  });

  test('pads to a fixed width', () => {
    expect(padSequence('49631234')).toHaveLength(SEQUENCE_WIDTH);
  });

  test('rejects anything that is not a decimal sequence number', () => {
    expect(() => padSequence('12a')).toThrow(/Not a Kinesis sequence number/);
  });
});

describe('laneId', () => {
  const shard = 'shardId-000000000000';

  test('is the shard when a shard has one batch in flight, whatever the partition key', () => {
    expect(laneId(shard, 'sensor-1', 1)).toBe(shard);
    expect(laneId(shard, 'random-key-42', 1)).toBe(shard);
  });

  test('with parallel batches per shard, is stable per shard and partition key and differs across keys', () => {
    expect(laneId(shard, 'sensor-1', 3)).toBe(laneId(shard, 'sensor-1', 3));
    expect(laneId(shard, 'sensor-1', 3)).not.toBe(laneId(shard, 'sensor-2', 3));
    expect(laneId(shard, 'sensor-1', 3)).not.toBe(laneId('shardId-000000000001', 'sensor-1', 3));
  });
});

describe('fnv1a32Value', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    expect(['', 'a', 'foobar'].map(fnv1a32Value)).toEqual([0x811c9dc5, 0xe40c292c, 0xbf9cf968]);
  });

  it('is the value fnv1a32 writes as hex', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(fnv1a32(text)).toBe(fnv1a32Value(text).toString(16).padStart(8, '0'));
      }),
    );
  });
});
