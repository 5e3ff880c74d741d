/**
 * Speed-layer benchmark: the stream processor's per-batch work in-process (decode, validate, window,
 * aggregate, alert rules, failure mapping) with zero-latency in-memory ports, so emulator and network
 * I/O are excluded. Compared with base64 + JSON.parse alone, the ceiling for any handler.
 *
 *   npx tsx bench/speed.bench.ts
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import { toSpeedConfig, DEFAULT_CONFIG } from '../contract/config';
import { processBatch } from '../lambdas/stream-processor/process-batch';
import { inMemoryPorts } from '../test/helpers/batch-ports';
import { recordResults } from './results';
import { formatCount, median } from './stats';

const BATCH = 10_000;
const SENSORS = 100;
const ROUNDS = 8;
const REPEATS = 5;
const config = toSpeedConfig(DEFAULT_CONFIG);
const start = Date.parse('2026-11-21T12:00:00Z');
/** Each batch holds the next ~2 minutes of traffic and is processed as it ends. */
const BATCH_SPAN_MS = 120_000;
const nowOf = (round: number): number => start + (round + 1) * BATCH_SPAN_MS;

function makeBatch(round: number): KinesisStreamRecord[] {
  const now = nowOf(round);
  const records: KinesisStreamRecord[] = [];
  for (let i = 0; i < BATCH; i++) {
    const sensorId = `sensor-${String(i % SENSORS).padStart(3, '0')}`;
    // Slightly out of order.
    const eventTime = now - BATCH_SPAN_MS + Math.floor((i / BATCH) * BATCH_SPAN_MS) - (i % 7) * 500;
    const body = {
      eventId: `r${round}-e${i}`,
      sensorId,
      metric: 'temperature',
      value: 20 + ((i * 7919) % 1000) / 100,
      unit: 'C',
      timestamp: new Date(eventTime).toISOString(),
    };
    const seq = `4963${String(round).padStart(6, '0')}${String(i).padStart(46, '0')}`;
    records.push({
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${seq}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/bench',
      awsRegion: 'eu-west-1',
      eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/bench',
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: sensorId,
        sequenceNumber: seq,
        data: Buffer.from(JSON.stringify(body)).toString('base64'),
        approximateArrivalTimestamp: now / 1000,
      },
    });
  }
  // As the Lambda runtime hands them over: parsed from the invocation's JSON payload (flat strings and
  // JSON-shaped objects, where records built here would hold concatenated strings).
  return JSON.parse(JSON.stringify(records)) as KinesisStreamRecord[];
}

function parseOnly(batch: readonly KinesisStreamRecord[]): number {
  let sink = 0;
  for (const r of batch) {
    sink += (JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8')) as { value: number }).value;
  }
  return sink;
}

/** Ports with the alert store's cooldown, so only real alerts are published, as on AWS; nothing recorded. */
const BENCH_PORTS = { alerts: 'cooldown', record: false } as const;

async function main(): Promise<void> {
  const batches = Array.from({ length: ROUNDS }, (_, r) => makeBatch(r));
  // Warm both sides up (JIT), then time each batch on each side, alternating, REPEATS times over;
  // the medians are robust against GC pauses and other processes on the machine. Each pass starts
  // from empty stores, so every pass sees the stream for the first time (no replays).
  let { ports, counts } = inMemoryPorts(BENCH_PORTS);
  for (let round = 0; round < ROUNDS; round++) {
    parseOnly(batches[round]);
    await processBatch(batches[round], ports, config, nowOf(round));
  }
  const parseRates: number[] = [];
  const handlerRates: number[] = [];
  // Each batch is timed on both sides back to back, so each pair saw the same machine conditions;
  // the ratio is the median of the pairs' ratios.
  const pairRatios: number[] = [];
  let events = 0;
  let updates = 0;
  let alerts = 0;
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    ({ ports, counts } = inMemoryPorts(BENCH_PORTS));
    for (let round = 0; round < ROUNDS; round++) {
      const batch = batches[round];
      let begin = process.hrtime.bigint();
      parseOnly(batch);
      parseRates.push(batch.length / (Number(process.hrtime.bigint() - begin) / 1e9));
      begin = process.hrtime.bigint();
      const result = await processBatch(batch, ports, config, nowOf(round));
      handlerRates.push(result.stats.valid / (Number(process.hrtime.bigint() - begin) / 1e9));
      pairRatios.push(handlerRates[handlerRates.length - 1] / parseRates[parseRates.length - 1]);
      events += result.stats.valid;
    }
    updates += counts.updates;
    alerts += counts.published;
  }
  const handlerRate = median(handlerRates);
  const parseRate = median(parseRates);
  const ratio = median(pairRatios);
  const windowsPerEvent = config.windows.reduce((n, w) => n + w.sizeMs / w.hopMs, 0);
  const updatesPer1000 = (updates / events) * 1000;
  // The naive speed layer: one UpdateItem (ADD count, sum; min/max) per event and window instance.
  const naivePer1000 = windowsPerEvent * 1000;
  console.log(
    `speed layer: ${ROUNDS} batches of ${BATCH} records (median of ${REPEATS} passes), ${SENSORS} sensors, windows ${config.windows.map((w) => w.name).join('/')}`,
  );
  console.log(`  handler (in-process, no I/O)    ${formatCount(handlerRate)} events/s`);
  console.log(`  base64 + JSON.parse only        ${formatCount(parseRate)} events/s (ceiling)`);
  console.log(
    `  ratio handler / ceiling         ${ratio.toFixed(2)} (target >= 0.5; median of ${pairRatios.length} paired batches)`,
  );
  console.log(`  DynamoDB updates per 1,000 events: ${updatesPer1000.toFixed(1)} (one per touched item)`);
  console.log(
    `    naive, one per event and window: ${formatCount(naivePer1000)} (${((updatesPer1000 / naivePer1000) * 100).toFixed(2)} %, target <= 2 %)`,
  );
  console.log(
    `  alerts published per pass:       ${formatCount(alerts / REPEATS)} (after the 5 min cooldown)`,
  );
  recordResults({
    handler: {
      eventsPerSec: Math.round(handlerRate),
      ratio: Number(ratio.toFixed(3)),
      batchSize: BATCH,
      sensors: SENSORS,
    },
    ceiling: { eventsPerSec: Math.round(parseRate) },
    dynamo: { updatesPer1000Events: Number(updatesPer1000.toFixed(1)) },
    naive: { updatesPer1000Events: naivePer1000 },
  });
}

void main();
