/**
 * Speed-layer benchmark: the stream processor's per-batch work in-process (decode, validate, window,
 * aggregate, alert rules, failure mapping) with zero-latency in-memory ports, so emulator and network
 * I/O are excluded. Compared with base64 + JSON.parse alone, the ceiling for any handler.
 *
 *   npx tsx bench/speed.bench.ts
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import { toSpeedConfig, DEFAULT_CONFIG } from '../lib/config';
import { processBatch } from '../lambdas/stream-processor/process-batch';
import { fakePorts } from '../test/helpers/batch-ports';

const BATCH = 10_000;
const SENSORS = 100;
const ROUNDS = 8;
const REPEATS = 3;
const config = toSpeedConfig(DEFAULT_CONFIG);
const now = Date.parse('2026-11-21T12:00:00Z');

function makeBatch(round: number): KinesisStreamRecord[] {
  const records: KinesisStreamRecord[] = [];
  for (let i = 0; i < BATCH; i++) {
    const sensorId = `sensor-${String(i % SENSORS).padStart(3, '0')}`;
    // ~2 minutes of traffic per batch, slightly out of order.
    const eventTime = now - 120_000 + Math.floor((i / BATCH) * 120_000) - (i % 7) * 500;
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
  return records;
}

const { ports, calls } = fakePorts();

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function parseOnly(batch: readonly KinesisStreamRecord[]): number {
  let sink = 0;
  for (const r of batch) {
    sink += (JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8')) as { value: number }).value;
  }
  return sink;
}

async function main(): Promise<void> {
  const batches = Array.from({ length: ROUNDS }, (_, r) => makeBatch(r));
  // Warm both sides up (JIT), then time each batch on each side, alternating, REPEATS times over;
  // the medians are robust against GC pauses and other processes on the machine.
  for (const batch of batches) {
    parseOnly(batch);
    await processBatch(batch, ports, config, now);
  }
  calls.applied.length = 0;
  const parseRates: number[] = [];
  const handlerRates: number[] = [];
  let events = 0;
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    for (const batch of batches) {
      let start = process.hrtime.bigint();
      parseOnly(batch);
      parseRates.push(batch.length / (Number(process.hrtime.bigint() - start) / 1e9));
      start = process.hrtime.bigint();
      const result = await processBatch(batch, ports, config, now);
      handlerRates.push(result.stats.valid / (Number(process.hrtime.bigint() - start) / 1e9));
      events += result.stats.valid;
    }
  }
  const handlerRate = median(handlerRates);
  const parseRate = median(parseRates);
  const windowsPerEvent = config.windows.reduce((n, w) => n + w.sizeMs / w.hopMs, 0);
  console.log(
    `speed layer: ${ROUNDS} batches of ${BATCH} records (median of ${REPEATS} passes), ${SENSORS} sensors, windows ${config.windows.map((w) => w.name).join('/')}`,
  );
  console.log(
    `  handler (in-process, no I/O)    ${Math.round(handlerRate).toLocaleString('en-US')} events/s`,
  );
  console.log(
    `  base64 + JSON.parse only        ${Math.round(parseRate).toLocaleString('en-US')} events/s (ceiling)`,
  );
  console.log(`  ratio handler / ceiling         ${(handlerRate / parseRate).toFixed(2)} (target >= 0.5)`);
  console.log(
    `  DynamoDB updates per 1,000 events: ${((calls.applied.length / events) * 1000).toFixed(1)} (one per touched item)`,
  );
  console.log(
    `    vs one update per event:         1,000.0 (and ${(windowsPerEvent * 1000).toLocaleString('en-US')} per event-window)`,
  );
}

void main();
