import type { KinesisStreamEvent } from 'aws-lambda';
import { DEFAULT_CONFIG, toSpeedConfig } from '../../../contract/config';
import type { BatchResult, RecordOutcome } from '../../../lambdas/stream-processor/process-batch';
import { SpeedAccounting } from '../../../local/speed-accounting';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const config = toSpeedConfig(DEFAULT_CONFIG);

function event(records: Array<{ seq: number; key: string; data: string }>): KinesisStreamEvent {
  return {
    Records: records.map((r) => ({
      eventID: `shardId-000000000000:${r.seq}`,
      kinesis: {
        partitionKey: r.key,
        sequenceNumber: String(r.seq),
        data: Buffer.from(r.data).toString('base64'),
      },
    })) as KinesisStreamEvent['Records'],
  };
}

const result = (outcomes: Array<RecordOutcome | RecordOutcome[]>): BatchResult =>
  ({ eventOutcomes: outcomes.map((o) => (Array.isArray(o) ? o : [o])) }) as unknown as BatchResult;
const valid = (sensorId: string, value: number, at = NOW): string =>
  JSON.stringify({
    eventId: `${sensorId}-${at}-${value}`,
    sensorId,
    metric: 'temperature',
    value,
    timestamp: new Date(at).toISOString(),
  });

test('counts each record once when a batch is retried or replayed', () => {
  const accounting = new SpeedAccounting({ config, now: () => NOW });
  const batch = event([
    { seq: 1, key: 's1', data: valid('s1', 20) },
    { seq: 2, key: 's1', data: 'nope' },
    { seq: 3, key: 's2', data: valid('s2', 21) },
  ]);
  accounting.observe(result(['valid', 'invalid', 'valid']), batch);
  accounting.observe(result(['valid', 'invalid', 'valid']), batch);
  accounting.observe(
    result(['invalid', 'valid']),
    event([
      { seq: 2, key: 's1', data: 'nope' },
      { seq: 3, key: 's2', data: valid('s2', 21) },
    ]),
  );
  expect(accounting.totals).toEqual({ records: 3, ingested: 3, valid: 2, invalid: 1, late: 0 });
});

test('counts the events of a packed record once each, however often the record is delivered', () => {
  const accounting = new SpeedAccounting({ config, now: () => NOW });
  const batch = event([{ seq: 1, key: 's1', data: [valid('s1', 20), 'nope', valid('s2', 21)].join('\n') }]);
  accounting.observe(result([['valid', 'invalid', 'valid']]), batch);
  accounting.observe(result([['valid', 'invalid', 'valid']]), batch);
  expect(accounting.totals).toEqual({ records: 1, ingested: 3, valid: 2, invalid: 1, late: 0 });
  expect(accounting.invalidByReason).toEqual({ not_json: 1 });
});

test('counts invalid records by quarantine reason', () => {
  const accounting = new SpeedAccounting({ config, now: () => NOW });
  accounting.observe(
    result(['invalid', 'invalid', 'invalid']),
    event([
      { seq: 1, key: 'a', data: 'nope' },
      { seq: 2, key: 'b', data: '[1]' },
      { seq: 3, key: 'c', data: '{"x":1' },
    ]),
  );
  expect(accounting.invalidByReason).toEqual({ not_json: 2, not_object: 1 });
});

test('keeps the latest reading of each sensor by event time and the event dates seen', () => {
  const accounting = new SpeedAccounting({ config, now: () => NOW });
  accounting.observe(
    result(['valid', 'valid', 'late']),
    event([
      { seq: 1, key: 's1', data: valid('s1', 25, NOW - 1_000) },
      { seq: 2, key: 's1', data: valid('s1', 22, NOW - 5_000) },
      { seq: 3, key: 's1', data: valid('s1', 10, NOW - 3 * 86_400_000) },
    ]),
  );
  expect(accounting.latest()).toEqual([
    { sensorId: 's1', metric: 'temperature', value: 25, eventTime: NOW - 1_000 },
  ]);
  expect(accounting.eventDates).toEqual(['2026-05-29', '2026-06-01']);
});

test('reports throughput over the last complete seconds', () => {
  let now = NOW;
  const accounting = new SpeedAccounting({ config, now: () => now, rateWindowSeconds: 2 });
  accounting.observe(
    result(['valid', 'valid']),
    event([
      { seq: 1, key: 'a', data: valid('a', 1) },
      { seq: 2, key: 'a', data: valid('a', 2) },
    ]),
  );
  now += 1_000;
  accounting.observe(
    result(['valid', 'valid']),
    event([
      { seq: 3, key: 'a', data: valid('a', 3) },
      { seq: 4, key: 'a', data: valid('a', 4) },
    ]),
  );
  now += 1_000;
  expect(accounting.eventsPerSecond()).toBe(2);
});
