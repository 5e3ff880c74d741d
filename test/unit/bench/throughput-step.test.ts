import { stepTiming, troughs } from '../../../bench/throughput-step';

describe('step timing', () => {
  test('without a batching window keeps the 30 s step: 10 s ramp, 2 s trough spans', () => {
    const timing = stepTiming({ rate: 4_000, shards: 2, batchSize: 500, maxBatchingWindowMs: 0 });

    expect(timing).toEqual({ batchPeriodMs: 0, troughBucketMs: 2_000, rampMs: 10_000, stepMs: 30_000 });
  });

  test('a batch that fills before its window closes sets the period', () => {
    // 1,000 records/s per shard fill 10,000 in 10 s, before the 30 s window.
    const timing = stepTiming({ rate: 2_000, shards: 2, batchSize: 10_000, maxBatchingWindowMs: 30_000 });

    expect(timing.batchPeriodMs).toBe(10_000);
    expect(timing.troughBucketMs).toBe(12_000);
    expect(timing.rampMs).toBe(12_000);
    expect(timing.stepMs).toBe(12_000 + 3 * 12_000);
  });

  test('a window that closes before the batch fills sets the period', () => {
    const timing = stepTiming({ rate: 100, shards: 2, batchSize: 10_000, maxBatchingWindowMs: 30_000 });

    expect(timing.batchPeriodMs).toBe(30_000);
    expect(timing.troughBucketMs).toBe(32_000);
  });
});

describe('troughs', () => {
  test('are the lowest sample of each span, at its start', () => {
    const samples = [
      { minute: 0, value: 5 },
      { minute: 0.01, value: 3 },
      { minute: 0.05, value: 7 },
      { minute: 0.06, value: 9 },
    ];

    // Spans of 3 s = 0.05 minute.
    expect(troughs(samples, 3_000)).toEqual([
      { minute: 0, value: 3 },
      { minute: 0.05, value: 7 },
    ]);
  });
});
