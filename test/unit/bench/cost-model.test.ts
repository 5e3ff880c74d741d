import {
  batchIntervalSeconds,
  DEFAULT_SETTINGS,
  dynamoWritesPerEvent,
  estimate,
  PRICES,
  shardsOf,
  tunedSettings,
  workload,
} from '../../../bench/cost-model';

const line = (service: string, usage: RegExp, rate: number, settings = DEFAULT_SETTINGS) =>
  estimate(workload(rate), settings).lines.find((l) => l.service === service && usage.test(l.usage));

describe('cost model', () => {
  test('with the default windows, each event costs 7 DynamoDB writes when batches are shorter than the report interval', () => {
    expect(dynamoWritesPerEvent(workload(1000), DEFAULT_SETTINGS, 1)).toBe(7);
  });

  test("a batch holding several of a sensor's events writes each window item once for all of them", () => {
    const oneMinute = dynamoWritesPerEvent(workload(1000), DEFAULT_SETTINGS, 60);

    // 6 events over 50 s: 1m windows 1 + 50/60, 5m-hop-1m 5 + 50/60, 1h 1 + 50/3600, shared by 6 events.
    expect(oneMinute).toBeCloseTo((1 + 50 / 60 + 5 + 50 / 60 + 1 + 50 / 3600) / 6, 10);
  });

  test('a batch ends when it is full, before the batching window', () => {
    const settings = { ...DEFAULT_SETTINGS, batchSize: 500, maxBatchingWindowSeconds: 60 };

    expect(batchIntervalSeconds(workload(1000), settings, 4)).toBe(2);
  });

  test('Lambda polls at least once a second, so a batch covers at least a second', () => {
    expect(batchIntervalSeconds(workload(100_000), DEFAULT_SETTINGS, 4)).toBe(1);
  });

  test('on-demand streams bill every record as 1 KB in and again for each of the two readers', () => {
    const gb = (1000 * 30 * 86_400) / 1024 ** 2;

    expect(line('Kinesis (on-demand)', /GB in/, 1000)?.monthlyUsd).toBeCloseTo(
      gb * PRICES.kinesisOnDemandIngestGb,
      1,
    );
    expect(line('Kinesis (on-demand)', /GB out/, 1000)?.monthlyUsd).toBeCloseTo(
      2 * gb * PRICES.kinesisOnDemandRetrievalGb,
      1,
    );
  });

  test('provisioned streams bill shard-hours', () => {
    const settings = { ...DEFAULT_SETTINGS, stream: { mode: 'provisioned' as const, shards: 3 } };

    expect(line('Kinesis (provisioned)', /shards/, 1000, settings)?.monthlyUsd).toBeCloseTo(
      3 * 720 * PRICES.kinesisShardHour,
      2,
    );
  });

  test('Firehose bills each record in 5 KB steps', () => {
    const gb = (1000 * 30 * 86_400 * 5) / 1024 ** 2;

    expect(line('Firehose', /5 KB/, 1000)?.monthlyUsd).toBeCloseTo(gb * PRICES.firehoseIngestGb, 1);
  });

  test('on-demand keeps at least 4 shards and about twice the write rate', () => {
    expect(shardsOf(workload(100), DEFAULT_SETTINGS)).toBe(4);
    expect(shardsOf(workload(10_000), DEFAULT_SETTINGS)).toBe(20);
  });

  test('the tuned settings give each shard a minute of records per batch', () => {
    const tuned = tunedSettings(1000);

    expect(tuned.stream).toEqual({ mode: 'provisioned', shards: 6 });
    expect(batchIntervalSeconds(workload(1000), tuned, 6)).toBe(60);
  });

  test('the total is the sum of the lines', () => {
    const result = estimate(workload(1000), DEFAULT_SETTINGS);

    expect(result.totalUsd).toBeCloseTo(
      result.lines.reduce((s, l) => s + l.monthlyUsd, 0),
      2,
    );
  });
});
