/**
 * The monthly cost model behind docs/cost.md: list prices × the usage Sluice's settings imply.
 * Pure functions; `npx tsx bench/cost-model.ts` prints the tables of docs/cost.md, so the document
 * can be regenerated after a price or setting changes instead of being recomputed by hand.
 *
 * It is a model, not a bill: the assumptions (event size, reporting interval, compression, Lambda
 * duration) are stated in `Workload` and in docs/cost.md; measure yours on the dashboard.
 */

/**
 * US East (N. Virginia) list prices in USD, as published on the AWS pricing pages (read 2025-11):
 * the one home of every price the formula model (below) and the measured bench
 * (`bench/cost.bench.ts`) use. `sources` names the page of each service.
 */
export const PRICES = {
  date: '2025-11',
  region: 'us-east-1',
  sources: {
    kinesis: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
    lambda: 'https://aws.amazon.com/lambda/pricing/',
    dynamodb: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    dynamodbProvisioned: 'https://aws.amazon.com/dynamodb/pricing/provisioned/',
    firehose: 'https://aws.amazon.com/kinesis/data-firehose/pricing/',
    sns: 'https://aws.amazon.com/sns/pricing/',
    s3: 'https://aws.amazon.com/s3/pricing/',
    athena: 'https://aws.amazon.com/athena/pricing/',
    cloudwatch: 'https://aws.amazon.com/cloudwatch/pricing/',
    kms: 'https://aws.amazon.com/kms/pricing/',
    flink: 'https://aws.amazon.com/managed-service-apache-flink/pricing/',
    glue: 'https://aws.amazon.com/glue/pricing/',
  },
  kinesisOnDemandStreamHour: 0.04,
  /** Per GB; on-demand bills each record rounded up to 1 KB. */
  kinesisOnDemandIngestGb: 0.08,
  kinesisOnDemandRetrievalGb: 0.04,
  kinesisShardHour: 0.015,
  /** Per million PUT payload units (25 KB each). */
  kinesisPutPayloadUnitsMillion: 0.014,
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequestsMillion: 0.2,
  dynamoWriteRequestUnitsMillion: 0.625,
  dynamoReadRequestUnitsMillion: 0.125,
  /** Provisioned capacity: per write capacity unit-hour (one 1 KB write per second). */
  dynamoWriteCapacityUnitHour: 0.00065,
  /** Provisioned capacity: per read capacity unit-hour (one strongly consistent 4 KB read per second). */
  dynamoReadCapacityUnitHour: 0.00013,
  dynamoStorageGbMonth: 0.25,
  dynamoPitrGbMonth: 0.2,
  /** Per GB ingested; each record is billed in 5 KB increments. */
  firehoseIngestGb: 0.029,
  s3StandardGbMonth: 0.023,
  s3StandardIaGbMonth: 0.0125,
  athenaTbScanned: 5,
  cloudwatchLogsIngestGb: 0.5,
  cloudwatchLogsStorageGbMonth: 0.03,
  cloudwatchCustomMetricMonth: 0.3,
  cloudwatchAlarmMetricMonth: 0.1,
  cloudwatchDashboardMonth: 3,
  kmsKeyMonth: 1,
  /** Per million publish requests (64 KB each); delivery to SQS is free. */
  snsPublishesMillion: 0.5,
  /** Managed Service for Apache Flink: per KPU-hour, plus one KPU per application for orchestration. */
  flinkKpuHour: 0.11,
  /** Managed Service for Apache Flink: running application storage, 50 GB per KPU. */
  flinkRunningStorageGbMonth: 0.1,
  /** Glue streaming ETL: per DPU-hour (a G.025X worker is 0.25 DPU). */
  glueDpuHour: 0.44,
} as const;

export type Prices = typeof PRICES;

const SECONDS_PER_MONTH = 30 * 86_400;
export const HOURS_PER_MONTH = 30 * 24;
const GB = 1024 ** 3;
const KB = 1024;

export interface WindowSetting {
  readonly sizeSeconds: number;
  readonly hopSeconds: number;
}

/** What the pipeline is fed. */
export interface Workload {
  readonly eventsPerSecond: number;
  /** JSON bytes per event. */
  readonly eventBytes: number;
  /** Each (sensor, metric) sends one event this often; sensors × metrics = rate × interval. */
  readonly reportIntervalSeconds: number;
  /** gzip ratio of raw NDJSON. */
  readonly rawCompression: number;
  /** Parquet bytes per event of the curated `events` table. */
  readonly curatedBytesPerEvent: number;
}

/** The Sluice settings that move the bill (config names in comments). */
export interface Settings {
  /** `stream.mode`, `stream.shardCount` */
  readonly stream: { readonly mode: 'on-demand' } | { readonly mode: 'provisioned'; readonly shards: number };
  /** `processor.batchSize` */
  readonly batchSize: number;
  /** `processor.maxBatchingWindow`, seconds */
  readonly maxBatchingWindowSeconds: number;
  /** `processor.memorySize`, MiB */
  readonly memoryMiB: number;
  /** `windows` */
  readonly windows: readonly WindowSetting[];
  /** `aggregateTtl`, seconds */
  readonly aggregateTtlSeconds: number;
  /** `lake.rawInfrequentAccessAfterDays`, `lake.rawExpireAfterDays` */
  readonly rawInfrequentAccessAfterDays: number;
  readonly rawExpireAfterDays: number;
  /** `logRetentionDays` */
  readonly logRetentionDays: number;
}

export interface CostLine {
  readonly service: string;
  readonly usage: string;
  readonly monthlyUsd: number;
}

export interface CostEstimate {
  readonly lines: readonly CostLine[];
  readonly totalUsd: number;
  /** Derived quantities, for the text. */
  readonly shards: number;
  readonly batchIntervalSeconds: number;
  readonly invocationsPerSecond: number;
  readonly dynamoWritesPerEvent: number;
  readonly rawGbPerDay: number;
}

/** Shards Kinesis runs: provisioned as set; on-demand keeps about twice the peak write rate (≥ 4). */
export function shardsOf(workload: Workload, settings: Settings): number {
  if (settings.stream.mode === 'provisioned') return settings.stream.shards;
  const byRecords = workload.eventsPerSecond / 1000;
  const byBytes = (workload.eventsPerSecond * Math.ceil(workload.eventBytes / KB) * KB) / (1024 * KB);
  return Math.max(4, Math.ceil(2 * Math.max(byRecords, byBytes)));
}

/**
 * Seconds of stream one invocation covers per shard: Lambda invokes when the batching window ends
 * or the batch is full, whichever is first, and polls each shard about once a second.
 */
export function batchIntervalSeconds(workload: Workload, settings: Settings, shards: number): number {
  const perShard = workload.eventsPerSecond / shards;
  const untilFull = settings.batchSize / perShard;
  return Math.max(1, Math.min(settings.maxBatchingWindowSeconds, untilFull));
}

/**
 * DynamoDB item updates per event. A batch writes each touched aggregate once: an event joins
 * size/hop instances of every window; the k events of one (sensor, metric) in a batch span
 * (k - 1) × interval and touch that many more hops.
 */
export function dynamoWritesPerEvent(workload: Workload, settings: Settings, batchSeconds: number): number {
  const k = Math.max(1, Math.floor(batchSeconds / workload.reportIntervalSeconds));
  const span = (k - 1) * workload.reportIntervalSeconds;
  const items = settings.windows.reduce(
    (sum, w) => sum + w.sizeSeconds / w.hopSeconds + span / w.hopSeconds,
    0,
  );
  return items / k;
}

/**
 * Lambda milliseconds per invocation: a fixed part, decoding per record, and DynamoDB round trips
 * (`DYNAMO_ROUND_TRIP_MS` each): BatchGetItem 100 keys at a time, then conditional UpdateItems 16 in
 * flight (the aggregate store's default concurrency).
 */
export function invocationMs(records: number, itemUpdates: number): number {
  return (
    40 + 0.05 * records + DYNAMO_ROUND_TRIP_MS * (Math.ceil(itemUpdates / 100) + Math.ceil(itemUpdates / 16))
  );
}

/** Assumed latency of one DynamoDB call from Lambda in the same region. */
export const DYNAMO_ROUND_TRIP_MS = 6;

export function estimate(workload: Workload, settings: Settings, prices: Prices = PRICES): CostEstimate {
  const rate = workload.eventsPerSecond;
  const eventsPerMonth = rate * SECONDS_PER_MONTH;
  const shards = shardsOf(workload, settings);
  const batchSeconds = batchIntervalSeconds(workload, settings, shards);
  const invocationsPerSecond = shards / batchSeconds;
  const invocationsPerMonth = invocationsPerSecond * SECONDS_PER_MONTH;
  const writesPerEvent = dynamoWritesPerEvent(workload, settings, batchSeconds);
  const writesPerMonth = eventsPerMonth * writesPerEvent;
  const recordsPerInvocation = rate / invocationsPerSecond;
  const lines: CostLine[] = [];
  const money = (n: number): number => Math.round(n * 100) / 100;
  const add = (service: string, usage: string, usd: number): void => {
    lines.push({ service, usage, monthlyUsd: money(usd) });
  };
  const fmt = (n: number, digits = 0): string =>
    n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

  // Kinesis: producers write once; the processor and Firehose each read everything.
  if (settings.stream.mode === 'on-demand') {
    const billedGb = (eventsPerMonth * Math.ceil(workload.eventBytes / KB) * KB) / GB;
    add('Kinesis (on-demand)', `stream-hours`, HOURS_PER_MONTH * prices.kinesisOnDemandStreamHour);
    add(
      'Kinesis (on-demand)',
      `${fmt(billedGb)} GB in (1 KB per record)`,
      billedGb * prices.kinesisOnDemandIngestGb,
    );
    add(
      'Kinesis (on-demand)',
      `2 × ${fmt(billedGb)} GB out (processor, Firehose)`,
      2 * billedGb * prices.kinesisOnDemandRetrievalGb,
    );
  } else {
    add('Kinesis (provisioned)', `${shards} shards`, shards * HOURS_PER_MONTH * prices.kinesisShardHour);
    const units = eventsPerMonth * Math.ceil(workload.eventBytes / (25 * KB));
    add(
      'Kinesis (provisioned)',
      `${fmt(units / 1e6)} M PUT payload units`,
      (units / 1e6) * prices.kinesisPutPayloadUnitsMillion,
    );
  }

  // Lambda (arm64).
  const itemsPerInvocation = writesPerMonth / invocationsPerMonth;
  const seconds = invocationMs(recordsPerInvocation, itemsPerInvocation) / 1000;
  const gbSeconds = invocationsPerMonth * seconds * (settings.memoryMiB / 1024);
  add(
    'Lambda',
    `${fmt(invocationsPerMonth / 1e6, 1)} M invocations`,
    (invocationsPerMonth / 1e6) * prices.lambdaRequestsMillion,
  );
  add(
    'Lambda',
    `${fmt(gbSeconds / 1e6, 2)} M GB-s (≈${fmt(seconds * 1000)} ms each)`,
    gbSeconds * prices.lambdaArmGbSecond,
  );

  // DynamoDB on-demand: one conditional UpdateItem (1 WRU, items < 1 KB) and one consistent read
  // (1 RRU, items < 4 KB) per aggregate item per batch.
  add(
    'DynamoDB',
    `${fmt(writesPerMonth / 1e9, 2)} G writes (${fmt(writesPerEvent, 2)} per event)`,
    (writesPerMonth / 1e6) * prices.dynamoWriteRequestUnitsMillion,
  );
  add(
    'DynamoDB',
    `${fmt(writesPerMonth / 1e9, 2)} G consistent reads`,
    (writesPerMonth / 1e6) * prices.dynamoReadRequestUnitsMillion,
  );
  const pairs = rate * workload.reportIntervalSeconds;
  const itemsAlive = settings.windows.reduce(
    (sum, w) => sum + pairs * ((settings.aggregateTtlSeconds + w.sizeSeconds) / w.hopSeconds),
    0,
  );
  const tableGb = (itemsAlive * 450) / GB;
  add(
    'DynamoDB',
    `${fmt(tableGb)} GB stored + PITR`,
    tableGb * (prices.dynamoStorageGbMonth + prices.dynamoPitrGbMonth),
  );

  // Firehose: every record, billed in 5 KB steps.
  const firehoseGb = (eventsPerMonth * Math.ceil(workload.eventBytes / (5 * KB)) * 5 * KB) / GB;
  add('Firehose', `${fmt(firehoseGb)} GB billed (5 KB per record)`, firehoseGb * prices.firehoseIngestGb);

  // S3, twelve months in: raw in Standard then IA until it expires; curated Parquet kept.
  const rawGbPerDay = (rate * 86_400 * workload.eventBytes) / workload.rawCompression / GB;
  const standardDays = Math.min(settings.rawInfrequentAccessAfterDays, 365);
  const iaDays = Math.max(0, Math.min(settings.rawExpireAfterDays, 365) - standardDays);
  const curatedGb = (rate * 86_400 * 365 * workload.curatedBytesPerEvent) / GB;
  add(
    'S3',
    `raw ${fmt(rawGbPerDay * (standardDays + iaDays))} GB (month 12)`,
    rawGbPerDay * (standardDays * prices.s3StandardGbMonth + iaDays * prices.s3StandardIaGbMonth),
  );
  add('S3', `curated ${fmt(curatedGb)} GB (month 12)`, curatedGb * prices.s3StandardGbMonth);

  // Athena: the daily job reads two raw days, then the day's events twice (hourly and daily stats).
  const curatedGbPerDay = (rate * 86_400 * workload.curatedBytesPerEvent) / GB;
  const athenaTb = (30 * (2 * rawGbPerDay + 2 * curatedGbPerDay)) / 1024;
  add('Athena', `${fmt(athenaTb * 1024)} GB scanned by the batch job`, athenaTb * prices.athenaTbScanned);

  // CloudWatch: per invocation START/END/REPORT lines and one EMF document (~1.5 KB).
  const logGb = (invocationsPerMonth * 1.5 * KB) / GB;
  const storedLogGb = logGb * Math.min(1, settings.logRetentionDays / 30);
  add(
    'CloudWatch',
    `${fmt(logGb, 1)} GB logs`,
    logGb * prices.cloudwatchLogsIngestGb + storedLogGb * prices.cloudwatchLogsStorageGbMonth,
  );
  add(
    'CloudWatch',
    '13 custom metrics, 12 alarm metrics, 1 dashboard',
    13 * prices.cloudwatchCustomMetricMonth +
      12 * prices.cloudwatchAlarmMetricMonth +
      prices.cloudwatchDashboardMonth,
  );
  add('KMS', '3 customer-managed keys', 3 * prices.kmsKeyMonth);

  const totalUsd = money(lines.reduce((sum, l) => sum + l.monthlyUsd, 0));
  return {
    lines,
    totalUsd,
    shards,
    batchIntervalSeconds: batchSeconds,
    invocationsPerSecond,
    dynamoWritesPerEvent: writesPerEvent,
    rawGbPerDay,
  };
}

/** 200-byte events, one per (sensor, metric) every 10 s, gzip 5:1, 40 Parquet bytes per event. */
export function workload(eventsPerSecond: number): Workload {
  return {
    eventsPerSecond,
    eventBytes: 200,
    reportIntervalSeconds: 10,
    rawCompression: 5,
    curatedBytesPerEvent: 40,
  };
}

/** The default config (contract/config.ts DEFAULT_CONFIG). */
export const DEFAULT_SETTINGS: Settings = {
  stream: { mode: 'on-demand' },
  batchSize: 500,
  maxBatchingWindowSeconds: 0,
  memoryMiB: 1024,
  windows: [
    { sizeSeconds: 60, hopSeconds: 60 },
    { sizeSeconds: 300, hopSeconds: 60 },
    { sizeSeconds: 3600, hopSeconds: 3600 },
  ],
  aggregateTtlSeconds: 7 * 86_400,
  rawInfrequentAccessAfterDays: 30,
  rawExpireAfterDays: 365,
  logRetentionDays: 30,
};

/**
 * Tuned for cost: batches of up to 10,000 records gathered for up to a minute, enough provisioned
 * shards that a minute of one shard fits one batch (so each sensor's events of a minute share one
 * write per window), and no hopping window.
 */
export function tunedSettings(eventsPerSecond: number): Settings {
  const batchSize = 10_000;
  const window = 60;
  const shards = Math.max(
    Math.ceil((eventsPerSecond * 1.25) / 1000),
    Math.ceil((eventsPerSecond * window) / batchSize),
  );
  return {
    ...DEFAULT_SETTINGS,
    stream: { mode: 'provisioned', shards },
    batchSize,
    maxBatchingWindowSeconds: window,
    windows: [
      { sizeSeconds: 60, hopSeconds: 60 },
      { sizeSeconds: 3600, hopSeconds: 3600 },
    ],
  };
}

export function markdownTable(title: string, result: CostEstimate): string {
  const usd = (n: number): string =>
    `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  const rows = result.lines.map((l) => `| ${l.service} | ${l.usage} | ${usd(l.monthlyUsd)} |`);
  return [
    `**${title}** — ${result.shards} shards, batches of ≈${result.batchIntervalSeconds.toFixed(1)} s, ` +
      `${result.dynamoWritesPerEvent.toFixed(2)} DynamoDB writes per event, ${result.rawGbPerDay.toFixed(1)} GB raw (gzip) per day`,
    '',
    '| Service | Usage per month | USD |',
    '|---|---|---:|',
    ...rows,
    `| **Total** | | **${usd(result.totalUsd)}** |`,
  ].join('\n');
}

if (require.main === module) {
  for (const rate of [1_000, 10_000]) {
    process.stdout.write(
      `${markdownTable(`${rate.toLocaleString('en-US')} events/s, default config`, estimate(workload(rate), DEFAULT_SETTINGS))}\n\n`,
    );
    process.stdout.write(
      `${markdownTable(`${rate.toLocaleString('en-US')} events/s, tuned config`, estimate(workload(rate), tunedSettings(rate)))}\n\n`,
    );
  }
}
