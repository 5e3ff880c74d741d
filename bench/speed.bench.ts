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

async function main(): Promise<void> {
  const batches = Array.from({ length: ROUNDS + 1 }, (_, r) => makeBatch(r));

  // Ceiling: base64 decode + JSON.parse of every record, nothing else.
  let sink = 0;
  const parseStart = process.hrtime.bigint();
  for (const batch of batches.slice(1)) {
    for (const r of batch)
      sink += (JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8')) as { value: number }).value;
  }
  const parseSeconds = Number(process.hrtime.bigint() - parseStart) / 1e9;

  await processBatch(batches[0], ports, config, now); // warm-up
  calls.applied.length = 0;
  let events = 0;
  const start = process.hrtime.bigint();
  for (const batch of batches.slice(1)) {
    const result = await processBatch(batch, ports, config, now);
    events += result.stats.valid;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;

  const handlerRate = events / seconds;
  const parseRate = (BATCH * ROUNDS) / parseSeconds;
  const windowsPerEvent = config.windows.reduce((n, w) => n + w.sizeMs / w.hopMs, 0);
  console.log(
    `speed layer: ${ROUNDS} batches of ${BATCH} records, ${SENSORS} sensors, windows ${config.windows.map((w) => w.name).join('/')}`,
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
  if (sink === 0) console.log('');
}

void main();
