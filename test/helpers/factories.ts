/**
 * Test data factories: realistic sensor events and Kinesis stream events (base64 data, shard ids,
 * growing sequence numbers), shared by every test that needs them.
 */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';

export interface RawSensorEvent {
  eventId?: unknown;
  sensorId?: unknown;
  metric?: unknown;
  value?: unknown;
  unit?: unknown;
  timestamp?: unknown;
  attributes?: unknown;
  [extra: string]: unknown;
}

let eventCounter = 0;

export function sensorEvent(overrides: RawSensorEvent = {}): RawSensorEvent {
  eventCounter += 1;
  return {
    eventId: `evt-${eventCounter}`,
    sensorId: 'sensor-1',
    metric: 'temperature',
    value: 21.5,
    unit: 'C',
    timestamp: '2026-11-21T10:00:00.000Z',
    ...overrides,
  };
}

export const STREAM_ARN = 'arn:aws:kinesis:eu-west-1:123456789012:stream/sluice-test';

/** Sequence numbers shaped like Kinesis's (56 digits), increasing with `n`. */
export function sequenceNumber(n: number, shard = 0): string {
  return `4963${String(shard).padStart(4, '0')}${String(n).padStart(48, '0')}`;
}

export interface RecordInput {
  /** A JS value is JSON-encoded; a string or Buffer is sent as is. */
  data: unknown;
  partitionKey?: string;
  shardId?: string;
  sequence?: number;
  arrivalMs?: number;
}

let sequenceCounter = 0;

export function kinesisRecord(input: RecordInput): KinesisStreamRecord {
  sequenceCounter += 1;
  const shardId = input.shardId ?? 'shardId-000000000000';
  const seq = sequenceNumber(input.sequence ?? sequenceCounter, Number(shardId.slice(-4)) || 0);
  const bytes = Buffer.isBuffer(input.data)
    ? input.data
    : Buffer.from(typeof input.data === 'string' ? input.data : JSON.stringify(input.data), 'utf8');
  const partitionKey =
    input.partitionKey ??
    (typeof input.data === 'object' && input.data !== null && 'sensorId' in input.data
      ? String((input.data as { sensorId: unknown }).sensorId)
      : 'unknown');
  return {
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${seq}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::123456789012:role/sluice-test',
    awsRegion: 'eu-west-1',
    eventSourceARN: STREAM_ARN,
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey,
      sequenceNumber: seq,
      data: bytes.toString('base64'),
      approximateArrivalTimestamp: (input.arrivalMs ?? Date.now()) / 1000,
    },
  };
}

export function kinesisEvent(inputs: RecordInput[]): KinesisStreamEvent {
  return { Records: inputs.map(kinesisRecord) };
}
