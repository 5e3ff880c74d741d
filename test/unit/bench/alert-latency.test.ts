import type { KinesisStreamEvent } from 'aws-lambda';
import { alertLatencies, ArrivalLog, eventIdOf } from '../../../bench/alert-latency';
import type { BatchResult } from '../../../lambdas/stream-processor/process-batch';

const at = (ms: number): string => new Date(ms).toISOString();

function kinesisEvent(records: Array<{ data: string; arrivalMs: number }>): KinesisStreamEvent {
  return {
    Records: records.map((r, i) => ({
      eventID: `shardId-000000000000:${1000 + i}`,
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/local',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'sensor-001',
        sequenceNumber: String(1000 + i),
        data: Buffer.from(r.data).toString('base64'),
        approximateArrivalTimestamp: r.arrivalMs / 1000,
      },
    })),
  };
}

const resultWith = (outcomes: BatchResult['outcomes']): BatchResult => ({ outcomes }) as BatchResult;

describe('alert latencies', () => {
  test('are received time minus the arrival of the alert record, ascending', () => {
    const arrivals = new Map([
      ['e1', 1_000],
      ['e2', 2_000],
    ]);
    const alerts = [
      { eventId: 'e2', receivedAt: at(2_300) },
      { eventId: 'e1', receivedAt: at(1_900) },
    ];

    const { latencies, unmatched } = alertLatencies(alerts, (id) => arrivals.get(id), 0, 10_000);

    expect([...latencies]).toEqual([300, 900]);
    expect(unmatched).toBe(0);
  });

  test('count only alerts received in the span, and those of a record (window alerts have none)', () => {
    const arrival = (): number => 0;
    const alerts = [
      { eventId: 'before', receivedAt: at(999) },
      { eventId: 'inside', receivedAt: at(1_000) },
      { receivedAt: at(1_500) },
      { eventId: 'at-end', receivedAt: at(2_000) },
    ];

    const { latencies } = alertLatencies(alerts, arrival, 1_000, 2_000);

    expect([...latencies]).toEqual([1_000]);
  });

  test('report alerts whose record arrival is unknown instead of timing them', () => {
    const { latencies, unmatched } = alertLatencies(
      [{ eventId: 'missing', receivedAt: at(5) }],
      () => undefined,
      0,
      10,
    );

    expect(latencies).toHaveLength(0);
    expect(unmatched).toBe(1);
  });
});

describe('arrival log', () => {
  test('keeps the arrival of valid records by eventId while recording, and nothing otherwise', () => {
    const log = new ArrivalLog();
    const event = kinesisEvent([
      { data: JSON.stringify({ eventId: 'a' }), arrivalMs: 1_234 },
      { data: JSON.stringify({ eventId: 'b' }), arrivalMs: 1_500 },
    ]);
    log.observe(resultWith(['valid', 'valid']), event);
    log.startRecording();

    log.observe(resultWith(['valid', 'invalid']), event);
    const arrivalOf = log.stopRecording();

    expect(arrivalOf('a')).toBeCloseTo(1_234);
    expect(arrivalOf('b')).toBeUndefined();
  });

  test('reads no eventId from a record that is not a JSON object with one', () => {
    expect(eventIdOf(Buffer.from('{"eventId":"x"}').toString('base64'))).toBe('x');
    expect(eventIdOf(Buffer.from('{"eventId":1}').toString('base64'))).toBeUndefined();
    expect(eventIdOf(Buffer.from('{"eventId":').toString('base64'))).toBeUndefined();
  });
});
