import { LambdaBatcher, shardOf, type FormedBatch } from '../../../bench/lambda-batching';

const summary = (batches: readonly FormedBatch<string>[]) =>
  batches.map((b) => `${b.shard}@${b.closedAtMs}:${b.records.join(',')}`);

describe('shardOf', () => {
  test('maps a key to the shard whose even slice of the 128-bit MD5 range holds its hash', () => {
    // md5("sensor-1") = 0xebf1…, md5("sensor-2") = 0x64cc…: in the last and the third quarter.
    expect(shardOf('sensor-1', 4)).toBe(3);
    expect(shardOf('sensor-2', 4)).toBe(1);
  });

  test('puts every key on the only shard of a one-shard stream', () => {
    expect(new Set(['a', 'b', 'sensor-1', 'sensor-99'].map((key) => shardOf(key, 1)))).toEqual(new Set([0]));
  });

  test('spreads many keys about evenly over the shards', () => {
    const perShard = [0, 0, 0, 0];

    for (let i = 0; i < 8000; i++) perShard[shardOf(`sensor-${i}`, 4)] += 1;

    for (const count of perShard) expect(Math.abs(count - 2000)).toBeLessThan(200);
  });
});

describe('LambdaBatcher', () => {
  test('with a window of 0, a poll invokes with what arrived since the last poll', () => {
    const batcher = new LambdaBatcher<string>({ shardCount: 1, batchSize: 10, batchingWindowMs: 0 });
    batcher.add(0, 100, 'a');
    batcher.add(0, 900, 'b');
    batcher.add(0, 1000, 'c');
    batcher.add(0, 1001, 'd');

    const batches = batcher.closeUntil(2000);

    expect(summary(batches)).toEqual(['0@1000:a,b,c', '0@2000:d']);
  });

  test('a poll that reads more than batchSize records invokes with full batches, then the rest', () => {
    const batcher = new LambdaBatcher<string>({ shardCount: 1, batchSize: 2, batchingWindowMs: 0 });
    for (const [i, id] of ['a', 'b', 'c', 'd', 'e'].entries()) batcher.add(0, 10 + i, id);

    expect(summary(batcher.closeUntil(1000))).toEqual(['0@1000:a,b', '0@1000:c,d', '0@1000:e']);
  });

  test('with a batching window, records of several polls share a batch until the window has passed', () => {
    const batcher = new LambdaBatcher<string>({ shardCount: 1, batchSize: 100, batchingWindowMs: 3000 });
    batcher.add(0, 500, 'a'); // read by the poll at 1000, which opens the window
    batcher.add(0, 1500, 'b');
    batcher.add(0, 3500, 'c');
    batcher.add(0, 4500, 'd');

    expect(summary(batcher.closeUntil(3999))).toEqual([]);
    expect(summary(batcher.closeUntil(4999))).toEqual(['0@4000:a,b,c']);
    expect(summary(batcher.closeUntil(8000))).toEqual(['0@8000:d']);
  });

  test('with a batching window, a batch closes at the poll that fills it', () => {
    const batcher = new LambdaBatcher<string>({ shardCount: 1, batchSize: 3, batchingWindowMs: 60_000 });
    batcher.add(0, 100, 'a');
    batcher.add(0, 1100, 'b');
    batcher.add(0, 1200, 'c');
    batcher.add(0, 1300, 'd');

    expect(summary(batcher.closeUntil(59_999))).toEqual(['0@2000:a,b,c']);
    // The rest's window opened at the poll that closed the full batch.
    expect(summary(batcher.closeUntil(62_000))).toEqual(['0@62000:d']);
  });

  test("a shard's batches hold only its records, in arrival order; shards are polled at staggered times", () => {
    const batcher = new LambdaBatcher<string>({ shardCount: 2, batchSize: 10, batchingWindowMs: 0 });
    batcher.add(0, 100, 'a0');
    batcher.add(1, 200, 'b0');
    batcher.add(0, 300, 'a1');
    batcher.add(1, 400, 'b1');

    // Shard 0 polls at 0, 1000, …; shard 1 at 500, 1500, ….
    expect(summary(batcher.closeUntil(1000))).toEqual(['1@500:b0,b1', '0@1000:a0,a1']);
  });

  test('records arriving after the time asked for stay for a later batch, and no batch is returned twice', () => {
    const batcher = new LambdaBatcher<string>({ shardCount: 1, batchSize: 10, batchingWindowMs: 0 });
    batcher.add(0, 100, 'a');
    batcher.add(0, 1100, 'b');

    const first = batcher.closeUntil(1000);
    const again = batcher.closeUntil(1000);
    const later = batcher.closeUntil(2000);

    expect(summary(first)).toEqual(['0@1000:a']);
    expect(again).toEqual([]);
    expect(summary(later)).toEqual(['0@2000:b']);
  });

  test('refuses records out of arrival order, or arriving before batches were already closed', () => {
    const batcher = new LambdaBatcher<string>({ shardCount: 1, batchSize: 10, batchingWindowMs: 0 });
    batcher.add(0, 500, 'a');

    expect(() => batcher.add(0, 400, 'b')).toThrow(/arrival order/);
    batcher.closeUntil(1000);
    expect(() => batcher.add(0, 900, 'c')).toThrow(/arrival order|closed until/);
  });

  test('fails on a batch size outside what Lambda allows', () => {
    expect(() => new LambdaBatcher({ shardCount: 1, batchSize: 20_000, batchingWindowMs: 0 })).toThrow(
      'batchSize must be between 1 and 10000 (given 20000)',
    );
  });
});
