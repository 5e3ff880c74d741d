import type { KinesisStreamRecord } from 'aws-lambda';
import { packKpl, packNdjson } from '../../../core/record-packing';
import type { SpeedConfig } from '../../../core/speed-config';
import type { QuarantinedRecord } from '../../../lambdas/adapters/quarantine-writer';
import { processBatch } from '../../../lambdas/stream-processor/process-batch';
import { inMemoryPorts } from '../../helpers/batch-ports';
import { kinesisEvent, sensorEvent } from '../../helpers/factories';

const NOW = Date.parse('2026-11-21T10:30:00Z');
const CONFIG: SpeedConfig = {
  windows: [{ name: '1m', sizeMs: 60_000, hopMs: 60_000 }],
  alertRules: [
    {
      id: 'hot',
      metric: 'temperature',
      source: 'value',
      aggregate: 'value',
      op: '>',
      threshold: 28,
      cooldownMs: 300_000,
      severity: 'warning',
    },
  ],
  latenessMs: 3_600_000,
  maxClockSkewMs: 300_000,
  aggregateTtlMs: 86_400_000,
  parallelizationFactor: 1,
};
const at = (minute: number) => new Date(Date.parse('2026-11-21T10:00:00Z') + minute * 60_000).toISOString();
const line = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** processBatch over in-memory ports, keeping what it quarantined. */
async function run(records: KinesisStreamRecord[]) {
  const { ports, calls } = inMemoryPorts();
  const quarantined: QuarantinedRecord[] = [];
  const write = ports.quarantine.write;
  const result = await processBatch(
    records,
    {
      ...ports,
      quarantine: {
        write: (batch, nowMs) => {
          quarantined.push(...batch);
          return write(batch, nowMs);
        },
      },
    },
    CONFIG,
    NOW,
  );
  return { result, quarantined, calls };
}

const EVENTS = [
  sensorEvent({ eventId: 'a', sensorId: 's1', value: 20, timestamp: at(1) }),
  sensorEvent({ eventId: 'b', sensorId: 's2', value: 30, timestamp: at(1) }),
  sensorEvent({ eventId: 'c', sensorId: 's1', value: 22, timestamp: '2026-11-19T10:00:00Z' }),
  sensorEvent({ eventId: 'd', sensorId: 's1', value: 24, timestamp: at(2) }),
];

describe('processBatch on packed records', () => {
  test('an NDJSON record quarantines its bad line alone, with its index and its record', async () => {
    const record = packNdjson([line(EVENTS[0]), Buffer.from('not json'), line(EVENTS[1])]);
    const event = kinesisEvent([{ data: record, partitionKey: 's1' }]);
    const { result, quarantined } = await run(event.Records);
    expect(result.eventOutcomes).toEqual([['valid', 'invalid', 'valid']]);
    expect(result.outcomes).toEqual(['valid']);
    expect(result.stats).toMatchObject({ records: 1, events: 3, valid: 2, invalid: 1, late: 0 });
    expect(quarantined).toEqual([
      expect.objectContaining({
        reason: 'not_json',
        data: 'not json',
        dataEncoding: 'utf8',
        sequenceNumber: event.Records[0].kinesis.sequenceNumber,
        packing: 'ndjson',
        subRecordIndex: 1,
      }),
    ]);
    expect(result.failures.size).toBe(0);
  });

  test('a KPL record with a wrong MD5 is quarantined whole as bad_aggregate and fails nothing', async () => {
    const record = packKpl(EVENTS.map((e) => ({ partitionKey: 's1', data: line(e) })));
    record[record.length - 1] ^= 0xff;
    const event = kinesisEvent([{ data: record, partitionKey: 's1' }, { data: EVENTS[3] }]);
    const { result, quarantined } = await run(event.Records);
    expect(result.eventOutcomes).toEqual([['invalid'], ['valid']]);
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]).toMatchObject({ reason: 'bad_aggregate', packing: 'kpl', dataEncoding: 'base64' });
    expect(quarantined[0]).not.toHaveProperty('subRecordIndex');
    expect(Buffer.from(quarantined[0].data, 'base64')).toEqual(record);
    expect(result.failures.size).toBe(0);
  });

  test('the same events as single, NDJSON and KPL records give the same items, alerts and counts', async () => {
    const single = kinesisEvent(EVENTS.map((e) => ({ data: e })));
    const ndjson = kinesisEvent([{ data: packNdjson(EVENTS.map(line)), partitionKey: 's1' }]);
    const kpl = kinesisEvent([
      { data: packKpl(EVENTS.map((e) => ({ partitionKey: String(e.sensorId), data: line(e) }))) },
    ]);
    const runs = await Promise.all([single, ndjson, kpl].map((e) => run(e.Records)));
    const seen = runs.map(({ result, calls }) => ({
      applied: [...calls.applied].sort(),
      published: result.published.map((a) => a.eventTime),
      counts: [result.stats.events, result.stats.valid, result.stats.invalid, result.stats.late],
    }));
    expect(seen[0].counts).toEqual([4, 3, 0, 1]);
    expect(seen[0].published).toHaveLength(1);
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[2]).toEqual(seen[0]);
  });

  test('a failed aggregate item fails the packed record that holds one of its events', async () => {
    const event = kinesisEvent([
      { data: EVENTS[1] },
      { data: packNdjson([line(EVENTS[0]), line(EVENTS[3])]), partitionKey: 's1' },
    ]);
    const { ports } = inMemoryPorts({ failItem: `s1|temperature|1m|${Date.parse(at(2))}` });
    const result = await processBatch(event.Records, ports, CONFIG, NOW);
    expect([...result.failures.keys()]).toEqual([event.Records[1].eventID]);
  });
});
