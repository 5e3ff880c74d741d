/**
 * Runs the deployed stream-processor handler (`createHandler`, its real adapters and SDK clients
 * over the in-memory AWS services) over the cost model's workload, on a virtual clock: one handler
 * per stream processor of the config (`contract/speed-processors.ts`: the aggregate processor and
 * the alert processor, each with its role), each fed batches formed as its event source mapping
 * forms them (`LambdaBatcher`), and meters everything they ask of AWS (`AwsMeter`), per processor.
 * Returns the counts of the measured stretch; pricing is `bench/cost-bill.ts`.
 *
 * With `packing`, producers pack each second's events of a shard into records (contract v1.1), as the
 * KPL aggregates per shard: the handler then reads packed records, and Kinesis and Firehose bill
 * records, not events.
 *
 * Only `simulatedShards` of the stream's shards are fed (the sensors whose partition keys hash to
 * them); every shard gets an even share of the keys, so the counts scale by shards ÷ simulatedShards.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { processorService } from '../contract/metric-names';
import { packEvents, type PackOptions } from '../core/record-packing';
import type { ProcessorRole, SpeedConfig } from '../core/speed-config';
import { pipelineMetrics } from '../lambdas/adapters/pipeline-metrics';
import { createHandler } from '../lambdas/stream-processor/handler';
import { kinesisRecord } from '../test/helpers/factories';
import { InMemoryAws } from '../test/helpers/in-memory-aws';
import { AwsMeter, emptyUsage, type AwsUsage, type CallLatency } from './cost-meter';
import { SensorWorkload, type SensorWorkloadOptions, type StreamEvent } from './cost-workload';
import { LambdaBatcher, shardOf } from './lambda-batching';

/** One event source mapping and its function. */
export interface SimulatedProcessor {
  readonly role: ProcessorRole;
  readonly batchSize: number;
  readonly batchingWindowMs: number;
  /** Its mapping's parallelization factor (the handler's exactly-once lanes follow it). */
  readonly parallelizationFactor: number;
}

export interface SimulationOptions {
  readonly config: SpeedConfig;
  readonly processors: readonly SimulatedProcessor[];
  readonly shards: number;
  /** Shards fed with their records (0 … simulatedShards − 1). */
  readonly simulatedShards: number;
  readonly workload: Omit<SensorWorkloadOptions, 'includeSensor' | 'startMs'>;
  /** Virtual time of the first report slot. */
  readonly startMs: number;
  /** Simulated before counting, so windows, items and alert state are in their steady state. */
  readonly warmUpMs: number;
  /** Simulated and counted. */
  readonly measureMs: number;
  readonly latency: CallLatency;
  /** How producers pack events into records. @default - one event per record */
  readonly packing?: PackOptions;
}

/** One invocation of the measured stretch. */
export interface InvocationSample {
  /** Index of its processor in `SimulationOptions.processors`. */
  readonly processor: number;
  readonly shard: number;
  readonly records: number;
  /** Wall time of the handler on this machine, over the in-memory services. */
  readonly wallMs: number;
  /** Virtual time spent waiting on AWS round trips (`CallLatency` per call, along the critical path). */
  readonly waitMs: number;
  /** Time since the shard's previous batch closed. */
  readonly intervalMs: number;
}

export interface StreamUsage {
  readonly events: number;
  /** Kinesis records (fewer than events when packed). */
  readonly records: number;
  /** Data plus partition key bytes, as produced. */
  readonly bytes: number;
  /** Kinesis on-demand: each record billed as at least 1 KB (in KB steps). */
  readonly kinesisBilledBytes: number;
  /** Firehose: each record billed in 5 KB steps. */
  readonly firehoseBilledBytes: number;
  /** Kinesis provisioned: PUT payload units, 25 KB each (a record takes at least one). */
  readonly putPayloadUnits: number;
}

export interface SimulationResult {
  readonly measuredSeconds: number;
  /** Events that reached the simulated shards in the measured stretch. */
  readonly stream: StreamUsage;
  /** Events the first processor received in the measured stretch (== valid + invalid + late). */
  readonly eventsProcessed: number;
  /** Every processor's calls together. */
  readonly aws: AwsUsage;
  /** Each processor's calls, in the order of `SimulationOptions.processors`. */
  readonly awsByProcessor: readonly AwsUsage[];
  readonly invocations: readonly InvocationSample[];
  readonly alertsPublished: number;
}

const RESOURCES = {
  tableName: 'sluice-cost',
  topicArn: 'arn:aws:sns:us-east-1:000000000000:sluice-cost-alerts',
  bucket: 'sluice-cost-lake',
};

const shardIdOf = (shard: number): string => `shardId-${String(shard).padStart(12, '0')}`;

function countStream(
  records: readonly Sequenced[],
  into: { -readonly [K in keyof StreamUsage]: number },
): void {
  for (const r of records) {
    const data = Buffer.byteLength(r.data);
    const bytes = data + Buffer.byteLength(r.partitionKey);
    into.events += r.events;
    into.records += 1;
    into.bytes += bytes;
    into.kinesisBilledBytes += Math.max(1, Math.ceil(bytes / 1024)) * 1024;
    into.firehoseBilledBytes += Math.max(1, Math.ceil(data / 5120)) * 5120;
    into.putPayloadUnits += Math.max(1, Math.ceil(bytes / 25_600));
  }
}

/** Adds what `after` counted beyond `before` into `into` (the largest item: the larger of the two). */
function addUsage(into: AwsUsage, before: AwsUsage, after: AwsUsage): void {
  for (const key of Object.keys(into) as (keyof AwsUsage)[]) {
    into[key] =
      key === 'maxItemBytes' ? Math.max(into[key], after[key]) : into[key] + after[key] - before[key];
  }
}

/** A record as every mapping of the stream sees it: the same sequence number for all. */
interface Sequenced {
  readonly data: string | Buffer;
  readonly partitionKey: string;
  /** When the record is put: its last event's arrival. */
  readonly arrivalMs: number;
  readonly events: number;
  readonly sequence: number;
}

/**
 * The records producers put for the events of one second: one per event, or with `packing` each
 * shard's events packed together (in arrival order).
 */
function toRecords(
  arrived: readonly StreamEvent[],
  shardOfEvent: (event: StreamEvent) => number,
  packing: PackOptions | undefined,
): { shard: number; record: Omit<Sequenced, 'sequence'> }[] {
  if (packing === undefined)
    return arrived.map((event) => ({
      shard: shardOfEvent(event),
      record: { data: event.data, partitionKey: event.sensorId, arrivalMs: event.arrivalMs, events: 1 },
    }));
  const byShard = new Map<number, { data: Buffer; partitionKey: string; event: StreamEvent }[]>();
  for (const event of arrived) {
    const shard = shardOfEvent(event);
    const list = byShard.get(shard) ?? [];
    list.push({ data: Buffer.from(event.data), partitionKey: event.sensorId, event });
    byShard.set(shard, list);
  }
  return [...byShard].flatMap(([shard, events]) =>
    packEvents(events, packing).map((packed) => ({
      shard,
      record: {
        data: Buffer.from(packed.data),
        partitionKey: packed.partitionKey,
        arrivalMs: Math.max(...packed.events.map((e) => e.event.arrivalMs)),
        events: packed.events.length,
      },
    })),
  );
}

export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  // Powertools Metrics would print an EMF document per batch; it reads this when constructed.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const aws = new InMemoryAws(RESOURCES);
  // The SDK's own option to resolve each command's middleware once (nothing changes it afterwards):
  // millions of calls otherwise spend a fifth of the run rebuilding the same stack.
  for (const client of [aws.dynamodb, aws.sns, aws.s3]) (client.config as any).cacheMiddleware = true;
  const meter = new AwsMeter(aws, options.latency);
  let nowMs = options.startMs;
  let counting = false;
  let eventsProcessed = 0;
  let alertsPublished = 0;
  const processors = options.processors.map((processor, index) => ({
    handler: createHandler({
      dynamodb: aws.dynamodb,
      sns: aws.sns,
      s3: aws.s3,
      tableName: RESOURCES.tableName,
      alertsTopicArn: RESOURCES.topicArn,
      lakeBucket: RESOURCES.bucket,
      config: { ...options.config, parallelizationFactor: processor.parallelizationFactor },
      role: processor.role,
      now: () => nowMs,
      logger: new Logger({ serviceName: processorService(processor.role), logLevel: 'SILENT' }),
      metrics: pipelineMetrics(processorService(processor.role), 'cost'),
      onResult: (result) => {
        if (!counting) return;
        if (index === 0) eventsProcessed += result.stats.events;
        alertsPublished += result.stats.alertsPublished;
      },
    }),
    batcher: new LambdaBatcher<Sequenced>({
      shardCount: options.shards,
      batchSize: processor.batchSize,
      batchingWindowMs: processor.batchingWindowMs,
      startMs: options.startMs,
    }),
    lastCloseMs: new Array<number>(options.shards).fill(Number.NaN),
  }));
  const awsByProcessor = processors.map(() => emptyUsage());

  const workload = new SensorWorkload({
    ...options.workload,
    startMs: options.startMs,
    includeSensor: (sensorId) => shardOf(sensorId, options.shards) < options.simulatedShards,
  });
  const shardOfSensor = new Map<string, number>();
  const sequences = new Array<number>(options.shards).fill(0);
  const stream = {
    events: 0,
    records: 0,
    bytes: 0,
    kinesisBilledBytes: 0,
    firehoseBilledBytes: 0,
    putPayloadUnits: 0,
  };
  const invocations: InvocationSample[] = [];
  const measureFromMs = options.startMs + options.warmUpMs;
  const endMs = measureFromMs + options.measureMs;
  const STEP_MS = 1000;

  try {
    for (let t = options.startMs; t < endMs; t += STEP_MS) {
      if (!counting && t >= measureFromMs) {
        counting = true;
        meter.reset();
        awsByProcessor.forEach((_, i) => (awsByProcessor[i] = emptyUsage()));
      }
      // Everything arriving up to t, then every batch closing by t.
      const arrived = workload.takeUntil(t + 1);
      const shardOfEvent = (event: StreamEvent): number => {
        let shard = shardOfSensor.get(event.sensorId);
        if (shard === undefined) {
          shard = shardOf(event.sensorId, options.shards);
          shardOfSensor.set(event.sensorId, shard);
        }
        return shard;
      };
      const put = toRecords(arrived, shardOfEvent, options.packing).map(({ shard, record }) => ({
        shard,
        sequenced: { ...record, sequence: ++sequences[shard] },
      }));
      if (counting)
        countStream(
          put.map((p) => p.sequenced),
          stream,
        );
      for (const { shard, sequenced } of put)
        for (const p of processors) p.batcher.add(shard, sequenced.arrivalMs, sequenced);
      for (const [index, p] of processors.entries()) {
        for (const batch of p.batcher.closeUntil(t)) {
          const shardId = shardIdOf(batch.shard);
          const records: KinesisStreamRecord[] = batch.records.map(
            ({ data, partitionKey, sequence, arrivalMs }) =>
              kinesisRecord({ data, partitionKey, shardId, sequence, arrivalMs }),
          );
          // As the Lambda runtime hands them over: parsed from the invocation's JSON payload.
          const invocation = JSON.parse(JSON.stringify({ Records: records })) as KinesisStreamEvent;
          nowMs = batch.closedAtMs;
          const waitedBefore = meter.clock.nowMs;
          const usageBefore = { ...meter.usage };
          const began = process.hrtime.bigint();
          const response = await p.handler(invocation);
          const wallMs = Number(process.hrtime.bigint() - began) / 1e6;
          if (response.batchItemFailures.length > 0)
            throw new Error(`the handler failed ${response.batchItemFailures.length} records`);
          if (counting) {
            addUsage(awsByProcessor[index], usageBefore, meter.usage);
            invocations.push({
              processor: index,
              shard: batch.shard,
              records: records.length,
              wallMs,
              waitMs: meter.clock.nowMs - waitedBefore,
              intervalMs: batch.closedAtMs - p.lastCloseMs[batch.shard],
            });
          }
          p.lastCloseMs[batch.shard] = batch.closedAtMs;
        }
      }
    }
  } finally {
    aws.destroy();
  }
  return {
    measuredSeconds: options.measureMs / 1000,
    stream,
    eventsProcessed,
    aws: meter.usage,
    awsByProcessor,
    invocations,
    alertsPublished,
  };
}
