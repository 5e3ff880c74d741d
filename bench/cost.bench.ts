/**
 * `npm run bench -- cost`: what a deployment costs a month, measured from the code, for the default
 * config, the fresh profile (`examples/fresh.config.json`) and the packed profile (the default
 * config with producers packing NDJSON records of up to 5 KiB, `sluice produce`'s default).
 *
 * The deployed stream-processor handler (`createHandler`, real adapters, real SDK clients over the
 * in-memory AWS services) runs, once per stream processor of the config and in its role
 * (`contract/speed-processors.ts`), over the cost model's workload — 200-byte events, each (sensor,
 * metric) series reporting every 10 s with seeded jitter, so 10,000 series at 1,000 events/s and
 * 100,000 at 10,000 — in batches formed as each event source mapping forms them (its `batchSize`
 * and `maxBatchingWindow`, the stream's shards at that rate), on a virtual clock. Every DynamoDB, SNS and S3 call is metered as AWS bills it
 * (`bench/cost-meter.ts`) and priced at `PRICES` (`bench/cost-model.ts`).
 *
 * Simulated, then scaled: a warm-up (windows, items and alert state reach their steady state),
 * then a measured stretch, on `--shards` of the stream's shards (each holds an even share of the
 * sensors); the counts scale to the whole stream and a 30-day month. Counts are deterministic;
 * durations are measured on this machine.
 *
 *   npm run bench -- cost
 *   npx tsx bench/cost.bench.ts --warm-up 360 --measure 300 --shards 2   (longer, to check the slice)
 */
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { DEFAULT_CONFIG, durationMs, loadConfig, toSpeedConfig, type SluiceConfig } from '../contract/config';
import { speedProcessors } from '../contract/speed-processors';
import { DEFAULT_PACKED_RECORD_BYTES, type PackOptions } from '../core/record-packing';
import { storagePlan } from '../core/panes';
import { measuredBill, type MeasuredBill, type MeasuredStream } from './cost-bill';
import type { CallLatency } from './cost-meter';
import {
  DEFAULT_SETTINGS,
  DYNAMO_ROUND_TRIP_MS,
  estimate,
  HOURS_PER_MONTH,
  PRICES,
  shardsOf,
  workload,
  type CostLine,
} from './cost-model';
import { simulate, type InvocationSample, type SimulationResult } from './cost-simulation';
import { positiveNumber, runBench } from './options';
import { recordResults, type Figures } from './results';
import { percentile } from './stats';

const RATES = [1_000, 10_000] as const;
const REPORT_INTERVAL_MS = 10_000;
const EVENT_BYTES = 200;
const SEED = 17;
/** Assumed round trips from Lambda in the same region (DynamoDB's is the formula model's). */
const LATENCY: CallLatency = { dynamodbMs: DYNAMO_ROUND_TRIP_MS, snsMs: 20, s3Ms: 30 };
/** Lambda gives a function one full vCPU at 1,769 MB and a proportional share below. */
const FULL_VCPU_MIB = 1769;
/** "Well under the batch interval": a shard's invocations may keep it busy at most this share of the time. */
const KEEP_UP_UTILISATION = 0.7;
/** A provisioned shard takes 1,000 records/s; the bench keeps each under this share of it. */
const PROVISIONED_SHARD_LOAD = 0.8;
const FRESH_PROFILE = path.join(__dirname, '..', 'examples', 'fresh.config.json');

interface Profile {
  readonly name: string;
  readonly config: SluiceConfig;
  /** How producers pack events into records. @default - one event per record */
  readonly packing?: PackOptions;
}

interface RateFigures {
  readonly profile: string;
  readonly rate: number;
  readonly streamMode: string;
  readonly shards: number;
  readonly simulatedShards: number;
  readonly result: SimulationResult;
  readonly bill: MeasuredBill;
  readonly lambdaMs: readonly number[];
  /** The busiest simulated shard's busy share, per processor (in `speedProcessors` order). */
  readonly utilisations: readonly { readonly role: string; readonly utilisation: number }[];
  readonly utilisation: number;
  readonly keepsUp: boolean;
  readonly perEvent: {
    readonly writes: number;
    readonly reads: number;
    readonly writeUnits: number;
    readonly readUnits: number;
    readonly snsPublishes: number;
  };
  readonly invocationsPerSecond: number;
}

const round = (n: number, digits = 3): number => Number(n.toFixed(digits));

/** Billed Lambda time of an invocation: CPU time at the function's share of a vCPU, plus waiting on AWS. */
function lambdaMsOf(sample: InvocationSample, memoryMiB: number): number {
  const cpuScale = Math.max(1, FULL_VCPU_MIB / memoryMiB);
  return Math.ceil(sample.wallMs * cpuScale + sample.waitMs);
}

/** The busiest simulated shard's share of time spent in invocations. */
function busiestUtilisation(
  samples: readonly InvocationSample[],
  lambdaMs: readonly number[],
  seconds: number,
) {
  const busy = new Map<number, number>();
  samples.forEach((s, i) => busy.set(s.shard, (busy.get(s.shard) ?? 0) + lambdaMs[i]));
  return Math.max(0, ...busy.values()) / (seconds * 1000);
}

/**
 * The formula model's lines for what the handler does not exercise (storage, S3, Athena,
 * CloudWatch, KMS), with the windows the speed layer stores (`core/panes.ts`).
 */
function modelledLines(rate: number, config: SluiceConfig): CostLine[] {
  const stored = storagePlan(toSpeedConfig(config).windows).stored;
  const settings = {
    ...DEFAULT_SETTINGS,
    windows: stored.map((w) => ({ sizeSeconds: w.sizeMs / 1000, hopSeconds: w.hopMs / 1000 })),
  };
  return [
    ...estimate(workload(rate), settings).lines.filter(
      (l) => ['S3', 'Athena', 'CloudWatch', 'KMS'].includes(l.service) || /stored/.test(l.usage),
    ),
    windowIndexLine(rate, config),
  ];
}

/**
 * The window index (`WINDOW_INDEX`, contract/table-keys.ts): keys only, written once per series and
 * hour, when the hour's item is created (later updates change no indexed attribute). The simulated
 * span does not cross an hour, so this line is counted from the workload, not metered: provisioned,
 * its capacity is the minimum the table's settings allow (auto scaling keeps it there).
 */
function windowIndexLine(rate: number, config: SluiceConfig): CostLine {
  const w = workload(rate);
  const writesPerSecond = (w.eventsPerSecond * w.reportIntervalSeconds) / 3600;
  const table = config.aggregatesTable;
  const writesPerMonth = writesPerSecond * 3600 * HOURS_PER_MONTH;
  if (table.billingMode === 'on-demand')
    return {
      service: 'DynamoDB',
      usage: `window index: ${(writesPerMonth / 1e6).toFixed(1)} M writes (one per series and hour)`,
      monthlyUsd: (writesPerMonth / 1e6) * PRICES.dynamoWriteRequestUnitsMillion,
    };
  const writeCapacity = Math.max(
    table.writeCapacity.min,
    Math.ceil(writesPerSecond / table.targetUtilization),
  );
  const readCapacity = table.readCapacity.min;
  return {
    service: 'DynamoDB',
    usage: `window index: ${writeCapacity} write + ${readCapacity} read capacity units (one write per series and hour)`,
    monthlyUsd:
      (writeCapacity * PRICES.dynamoWriteCapacityUnitHour +
        readCapacity * PRICES.dynamoReadCapacityUnitHour) *
      HOURS_PER_MONTH,
  };
}

/**
 * The stream at a rate: on-demand as Kinesis scales it; provisioned as configured, or, where that is
 * too few, as docs/cost.md tells the user to size it: enough shards to take the rate at 80 % of a
 * shard's 1,000 records/s, and that a batching window of one shard's records fits one batch
 * (shards ≥ rate × window ÷ batchSize), or a full batch cuts the window short and each write
 * absorbs fewer events.
 */
function streamAt(rate: number, config: SluiceConfig): MeasuredStream & { shards: number } {
  if (config.stream.mode === 'on-demand')
    return {
      mode: 'on-demand',
      shards: shardsOf(workload(rate), { ...DEFAULT_SETTINGS, stream: { mode: 'on-demand' } }),
    };
  const configured = config.stream.shardCount ?? 1;
  const { settings } = speedProcessors(config)[0];
  const byRecords = Math.ceil(rate / (1000 * PROVISIONED_SHARD_LOAD));
  const byWindow = Math.ceil((rate * durationMs(settings.maxBatchingWindow)) / 1000 / settings.batchSize);
  return { mode: 'provisioned', shards: Math.max(configured, byRecords, byWindow) };
}

async function measureRate(
  profile: Profile,
  rate: number,
  warmUpMs: number,
  measureMs: number,
  maxShards: number,
): Promise<RateFigures> {
  const { config } = profile;
  const plans = speedProcessors(config);
  const stream = streamAt(rate, config);
  const shards = stream.shards;
  const simulatedShards = Math.min(shards, maxShards);
  const result = await simulate({
    config: toSpeedConfig(config),
    processors: plans.map((plan) => ({
      role: plan.role,
      batchSize: plan.settings.batchSize,
      batchingWindowMs: durationMs(plan.settings.maxBatchingWindow),
      parallelizationFactor: plan.settings.parallelizationFactor,
    })),
    shards,
    simulatedShards,
    workload: {
      seriesCount: (rate * REPORT_INTERVAL_MS) / 1000,
      reportIntervalMs: REPORT_INTERVAL_MS,
      eventBytes: EVENT_BYTES,
      jitterMs: 1000,
      arrivalDelayMs: 200,
      anomalyRate: 0.002,
      seed: SEED,
    },
    startMs: Date.parse('2026-11-21T11:00:00Z'),
    warmUpMs,
    measureMs,
    latency: LATENCY,
    packing: profile.packing,
  });
  const scale = shards / simulatedShards;
  const events = result.eventsProcessed;
  const aws = result.aws;
  const lambdaMs = result.invocations.map((s) => lambdaMsOf(s, plans[s.processor].settings.memorySize));
  const invocationsPerSecond = (result.invocations.length / result.measuredSeconds) * scale;
  const perEvent = {
    writes: (aws.updateItemCalls + aws.putItemCalls) / events,
    reads: aws.itemsRequested / events,
    writeUnits: aws.writeUnits / events,
    readUnits: aws.readUnits / events,
    snsPublishes: aws.snsPublishes / events,
  };
  const functions = plans.map((plan, index) => {
    const ms = lambdaMs.filter((_, i) => result.invocations[i].processor === index);
    return {
      name: { alerts: 'alert processor', aggregates: 'aggregate processor', all: 'stream processor' }[
        plan.role
      ],
      invocationsPerSecond: (ms.length / result.measuredSeconds) * scale,
      billedMsPerInvocation: ms.length ? ms.reduce((a, b) => a + b, 0) / ms.length : 0,
      memoryMiB: plan.settings.memorySize,
    };
  });
  const bill = measuredBill(
    {
      eventsPerSecond: rate,
      functions,
      stream,
      table:
        config.aggregatesTable.billingMode === 'on-demand'
          ? { mode: 'on-demand' }
          : {
              mode: 'provisioned',
              targetUtilization: config.aggregatesTable.targetUtilization,
              minWriteCapacity: config.aggregatesTable.writeCapacity.min,
              minReadCapacity: config.aggregatesTable.readCapacity.min,
            },
      kinesisBilledBytesPerEvent: result.stream.kinesisBilledBytes / result.stream.events,
      putPayloadUnitsPerEvent: result.stream.putPayloadUnits / result.stream.events,
      kinesisReaders: plans.length + 1,
      firehoseBilledBytesPerEvent: result.stream.firehoseBilledBytes / result.stream.events,
      writeUnitsPerEvent: perEvent.writeUnits,
      readUnitsPerEvent: perEvent.readUnits,
      snsPublishesPerEvent: perEvent.snsPublishes,
    },
    modelledLines(rate, config),
    PRICES,
  );
  const utilisations = plans.map((plan, index) => {
    const picked = result.invocations
      .map((s, i) => ({ s, ms: lambdaMs[i] }))
      .filter((x) => x.s.processor === index);
    return {
      role: plan.role,
      utilisation: busiestUtilisation(
        picked.map((x) => x.s),
        picked.map((x) => x.ms),
        result.measuredSeconds,
      ),
    };
  });
  const utilisation = Math.max(...utilisations.map((u) => u.utilisation));
  return {
    profile: profile.name,
    rate,
    streamMode: stream.mode,
    shards,
    simulatedShards,
    result,
    bill,
    lambdaMs,
    utilisations,
    utilisation,
    keepsUp: utilisation <= KEEP_UP_UTILISATION,
    perEvent,
    invocationsPerSecond,
  };
}

function rateFigures(f: RateFigures): Figures {
  const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);
  const samples = f.result.invocations;
  const lambdaMs = sorted(f.lambdaMs);
  const wall = sorted(samples.map((s) => s.wallMs));
  const wait = sorted(samples.map((s) => s.waitMs));
  const intervals = samples.map((s) => s.intervalMs).filter(Number.isFinite);
  return {
    shards: f.shards,
    simulatedShards: f.simulatedShards,
    measuredSeconds: f.result.measuredSeconds,
    eventsMeasured: f.result.eventsProcessed,
    invocationsMeasured: samples.length,
    invocationsPerSecond: round(f.invocationsPerSecond, 2),
    invocationsPerMonth: Math.round(f.invocationsPerSecond * 30 * 86_400),
    recordsPerInvocation: round(f.result.eventsProcessed / samples.length, 1),
    batchIntervalMsMean: Math.round(intervals.reduce((a, b) => a + b, 0) / intervals.length),
    dynamoWritesPerEvent: round(f.perEvent.writes),
    dynamoReadsPerEvent: round(f.perEvent.reads),
    writeUnitsPerEvent: round(f.perEvent.writeUnits),
    readUnitsPerEvent: round(f.perEvent.readUnits),
    snsPublishesPerEvent: round(f.perEvent.snsPublishes, 5),
    conditionalFailures: f.result.aws.conditionalFailures,
    writtenItemBytesMean: Math.round(
      f.result.aws.writtenItemBytes / (f.result.aws.updateItemCalls + f.result.aws.putItemCalls),
    ),
    writtenItemBytesMax: f.result.aws.maxItemBytes,
    kinesisBilledKbPerEvent: round(f.result.stream.kinesisBilledBytes / f.result.stream.events / 1024, 2),
    firehoseBilledKbPerEvent: round(f.result.stream.firehoseBilledBytes / f.result.stream.events / 1024, 2),
    eventsPerRecord: round(f.result.stream.events / f.result.stream.records, 1),
    wallMsP50: round(percentile(wall, 50), 1),
    wallMsP99: round(percentile(wall, 99), 1),
    awsWaitMsP50: percentile(wait, 50),
    awsWaitMsP99: percentile(wait, 99),
    lambdaMsP50: percentile(lambdaMs, 50),
    lambdaMsP99: percentile(lambdaMs, 99),
    busiestShardUtilisation: round(f.utilisation),
    busiestShardUtilisationByRole: Object.fromEntries(
      f.utilisations.map((u) => [u.role, round(u.utilisation)]),
    ),
    streamMode: f.streamMode,
    keepsUp: f.keepsUp,
    monthlyUsd: Math.round(f.bill.totalUsd),
    byService: Object.fromEntries(Object.entries(f.bill.byService).map(([k, v]) => [k, Math.round(v)])),
  };
}

function markdownBill(f: RateFigures): string {
  const usd = (n: number) =>
    `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  return [
    `**${f.rate.toLocaleString('en-US')} events/s, ${f.profile}, measured** — ${f.shards} ${f.streamMode} shards ` +
      `(${f.simulatedShards} simulated), ${f.perEvent.writes.toFixed(2)} DynamoDB writes and ` +
      `${f.perEvent.reads.toFixed(2)} reads per event`,
    '',
    '| Service | Usage per month | USD |',
    '|---|---|---:|',
    ...f.bill.lines.map((l) => `| ${l.service} | ${l.usage} | ${usd(l.monthlyUsd)} |`),
    `| **Total** | | **${usd(f.bill.totalUsd)}** |`,
  ].join('\n');
}

function summary(all: readonly RateFigures[]): string {
  const rows: [string, (f: RateFigures) => string][] = [
    ['profile', (f) => f.profile],
    ['shards (simulated)', (f) => `${f.shards} ${f.streamMode} (${f.simulatedShards})`],
    ['events measured', (f) => f.result.eventsProcessed.toLocaleString('en-US')],
    ['invocations/s (whole stream)', (f) => f.invocationsPerSecond.toFixed(1)],
    ['records per invocation', (f) => (f.result.eventsProcessed / f.result.invocations.length).toFixed(1)],
    ['DynamoDB writes per event', (f) => f.perEvent.writes.toFixed(3)],
    ['DynamoDB reads per event', (f) => f.perEvent.reads.toFixed(3)],
    ['WRU per event', (f) => f.perEvent.writeUnits.toFixed(3)],
    ['RRU per event', (f) => f.perEvent.readUnits.toFixed(3)],
    ['SNS publishes per 1,000 events', (f) => (f.perEvent.snsPublishes * 1000).toFixed(2)],
    [
      'handler wall ms p50/p99 (in-memory)',
      (f) => rateFigures(f).wallMsP50 + ' / ' + rateFigures(f).wallMsP99,
    ],
    ['waiting on AWS ms p50/p99', (f) => `${rateFigures(f).awsWaitMsP50} / ${rateFigures(f).awsWaitMsP99}`],
    ['Lambda ms p50/p99 (modelled)', (f) => `${rateFigures(f).lambdaMsP50} / ${rateFigures(f).lambdaMsP99}`],
    [
      'busiest shard busy, per processor',
      (f) => f.utilisations.map((u) => `${u.role} ${(u.utilisation * 100).toFixed(0)} %`).join(', '),
    ],
    ['keeps up', (f) => (f.keepsUp ? 'yes' : 'NO')],
    ['USD per month', (f) => `$${Math.round(f.bill.totalUsd).toLocaleString('en-US')}`],
  ];
  const header = ['', ...all.map((f) => `${f.rate.toLocaleString('en-US')} events/s`)];
  const body = rows.map(([label, value]) => [label, ...all.map(value)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'warm-up': { type: 'string' },
      measure: { type: 'string' },
      shards: { type: 'string' },
      config: { type: 'string' },
    },
  });
  const warmUpMs = positiveNumber('--warm-up', values['warm-up'], 90) * 1000;
  const measureMs = positiveNumber('--measure', values.measure, 150) * 1000;
  const maxShards = positiveNumber('--shards', values.shards, 1);
  const began = Date.now();
  // --config FILE measures that config in the default's place (and records nothing).
  const defaults: Profile = values.config
    ? { name: path.basename(values.config), config: loadConfig(values.config) }
    : { name: 'default config', config: DEFAULT_CONFIG };
  const fresh: Profile = { name: 'fresh profile', config: loadConfig(FRESH_PROFILE) };
  const packed: Profile = {
    name: 'packed profile',
    config: defaults.config,
    packing: { mode: 'ndjson', maxRecordBytes: DEFAULT_PACKED_RECORD_BYTES },
  };
  const all: RateFigures[] = [];
  for (const rate of RATES) all.push(await measureRate(defaults, rate, warmUpMs, measureMs, maxShards));
  all.push(await measureRate(fresh, RATES[0], warmUpMs, measureMs, maxShards));
  all.push(await measureRate(packed, RATES[0], warmUpMs, measureMs, maxShards));
  const [at1k, at10k, fresh1k, packed1k] = all;

  console.log(
    `cost: the deployed handler, once per stream processor, over ${warmUpMs / 1000} s of warm-up and ` +
      `${measureMs / 1000} s measured per rate (virtual time), prices ${PRICES.region} ${PRICES.date}; ` +
      `AWS round trips assumed: DynamoDB ${LATENCY.dynamodbMs} ms, SNS ${LATENCY.snsMs} ms, S3 ${LATENCY.s3Ms} ms; ` +
      `Lambda CPU scaled by ${FULL_VCPU_MIB} MiB / the function's memory`,
  );
  console.log(summary(all));
  for (const f of all) console.log(`\n${markdownBill(f)}`);
  console.log(`\n(${((Date.now() - began) / 1000).toFixed(1)} s)`);

  const assumptions = {
    eventBytes: EVENT_BYTES,
    reportIntervalMs: REPORT_INTERVAL_MS,
    seed: SEED,
    warmUpSeconds: warmUpMs / 1000,
    measuredSeconds: measureMs / 1000,
    dynamodbCallMs: LATENCY.dynamodbMs,
    snsCallMs: LATENCY.snsMs,
    s3CallMs: LATENCY.s3Ms,
    fullVcpuMiB: FULL_VCPU_MIB,
    keepUpUtilisation: KEEP_UP_UTILISATION,
    prices: `${PRICES.region} ${PRICES.date}`,
  };
  if (values.config) return;
  recordResults({
    cost: {
      default: {
        monthlyUsdAt1k: Math.round(at1k.bill.totalUsd),
        monthlyUsdAt10k: Math.round(at10k.bill.totalUsd),
        dynamoWritesPerEvent: round(at1k.perEvent.writes),
        dynamoReadsPerEvent: round(at1k.perEvent.reads),
        writeUnitsPerEvent: round(at1k.perEvent.writeUnits),
        readUnitsPerEvent: round(at1k.perEvent.readUnits),
        keepsUpAt1k: at1k.keepsUp,
        keepsUpAt10k: at10k.keepsUp,
        at1k: rateFigures(at1k),
        at10k: rateFigures(at10k),
        assumptions,
      },
      fresh: {
        monthlyUsdAt1k: Math.round(fresh1k.bill.totalUsd),
        dynamoWritesPerEvent: round(fresh1k.perEvent.writes),
        keepsUpAt1k: fresh1k.keepsUp,
        at1k: rateFigures(fresh1k),
        assumptions,
      },
      packed: {
        monthlyUsdAt1k: Math.round(packed1k.bill.totalUsd),
        eventsPerRecord: round(packed1k.result.stream.events / packed1k.result.stream.records, 1),
        keepsUpAt1k: packed1k.keepsUp,
        at1k: rateFigures(packed1k),
        assumptions: { ...assumptions, packing: 'ndjson', packedRecordBytes: DEFAULT_PACKED_RECORD_BYTES },
      },
    },
  });
}

runBench(main);
