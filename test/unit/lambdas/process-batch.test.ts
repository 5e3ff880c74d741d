import type { KinesisStreamRecord } from 'aws-lambda';
import type { AggregateKey } from '../../../core/aggregate';
import { packKpl, packNdjson } from '../../../core/record-packing';
import type { QuarantinedRecord } from '../../../lambdas/adapters/quarantine-writer';
import { processBatch } from '../../../lambdas/stream-processor/process-batch';
import type { SpeedConfig } from '../../../core/speed-config';
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

const at = (minute: number, seconds = 0) =>
  new Date(Date.parse('2026-11-21T10:00:00Z') + minute * 60_000 + seconds * 1000).toISOString();

describe('processBatch', () => {
  test('classifies every record as valid, invalid or late', async () => {
    const event = kinesisEvent([
      { data: sensorEvent({ timestamp: at(1) }) },
      { data: 'not json' },
      { data: sensorEvent({ timestamp: '2026-11-19T10:00:00Z' }) },
    ]);
    const { ports, counts } = inMemoryPorts();
    const result = await processBatch(event.Records, ports, CONFIG, NOW);
    expect([...result.outcomes.values()]).toEqual(['valid', 'invalid', 'late']);
    expect(result.stats).toMatchObject({ valid: 1, invalid: 1, late: 1, invalidByReason: { not_json: 1 } });
    expect(counts.quarantined).toBe(1);
    expect(result.failures.size).toBe(0);
  });

  test('a failed aggregate item fails only the records folded into it', async () => {
    const event = kinesisEvent([
      { data: sensorEvent({ sensorId: 'a', timestamp: at(1) }) },
      { data: sensorEvent({ sensorId: 'b', timestamp: at(1) }) },
      { data: sensorEvent({ sensorId: 'a', timestamp: at(2) }) },
    ]);
    const { ports } = inMemoryPorts({ failItem: `a|temperature|1m|${Date.parse(at(2))}` });
    const result = await processBatch(event.Records, ports, CONFIG, NOW);
    expect([...result.failures.keys()]).toEqual([event.Records[2].eventID]);
  });

  test('a quarantine write failure fails the invalid records only', async () => {
    const event = kinesisEvent([{ data: sensorEvent({ timestamp: at(1) }) }, { data: '{' }]);
    const { ports } = inMemoryPorts({ failQuarantine: true });
    const result = await processBatch(event.Records, ports, CONFIG, NOW);
    expect([...result.failures.keys()]).toEqual([event.Records[1].eventID]);
  });

  test('a publish failure fails the records whose breaches raised the alert', async () => {
    const event = kinesisEvent([
      { data: sensorEvent({ sensorId: 'a', value: 30, timestamp: at(1) }) },
      { data: sensorEvent({ sensorId: 'b', value: 20, timestamp: at(1) }) },
    ]);
    const { ports } = inMemoryPorts({ failPublish: true });
    const result = await processBatch(event.Records, ports, CONFIG, NOW);
    expect([...result.failures.keys()]).toEqual([event.Records[0].eventID]);
  });

  test('a publish failure of a window alert fails the records folded into that window only', async () => {
    const windowRule = {
      ...CONFIG.alertRules[0],
      id: 'minute-max',
      source: '1m',
      aggregate: 'max' as const,
      threshold: 25,
    };
    const config = { ...CONFIG, alertRules: [windowRule] };
    const event = kinesisEvent([
      { data: sensorEvent({ sensorId: 'a', value: 20, timestamp: at(1, 5) }) },
      { data: sensorEvent({ sensorId: 'a', value: 26, timestamp: at(1, 40) }) },
      { data: sensorEvent({ sensorId: 'a', value: 30, timestamp: at(2, 5) }) },
      { data: sensorEvent({ sensorId: 'b', value: 20, timestamp: at(1, 5) }) },
    ]);
    const { ports } = inMemoryPorts({ failPublish: true });
    const result = await processBatch(event.Records, ports, config, NOW);
    expect([...result.failures.keys()]).toEqual([0, 1, 2].map((i) => event.Records[i].eventID));
  });

  test('hands the alert store one group per sensor and rule, breaches in processing order', async () => {
    const event = kinesisEvent([
      { data: sensorEvent({ sensorId: 'a', value: 30, timestamp: at(3) }) },
      { data: sensorEvent({ sensorId: 'b', value: 31, timestamp: at(1) }) },
      { data: sensorEvent({ sensorId: 'a', value: 20, timestamp: at(4) }) },
      { data: sensorEvent({ sensorId: 'a', value: 32, timestamp: at(2) }) },
    ]);
    const { ports, calls } = inMemoryPorts();
    await processBatch(event.Records, ports, CONFIG, NOW);
    expect(calls.groups).toEqual([
      `a|hot: ${Date.parse(at(3))},${Date.parse(at(2))}`,
      `b|hot: ${Date.parse(at(1))}`,
    ]);
  });

  test('records a group of 250 breaches in rounds of 100, 100 and 50, publishing each round', async () => {
    const event = kinesisEvent(
      Array.from({ length: 250 }, (_, i) => ({
        data: sensorEvent({ sensorId: 'a', value: 30, timestamp: Date.parse(at(0)) + i * 1000 }),
      })),
    );
    const { ports, calls } = inMemoryPorts();

    const result = await processBatch(event.Records, ports, CONFIG, NOW);

    expect(calls.groups.map((g) => g.split(',').length)).toEqual([100, 100, 50]);
    expect(calls.published).toHaveLength(250);
    expect(result.failures.size).toBe(0);
  });

  test('writes one update per touched item, not one per event', async () => {
    const event = kinesisEvent(
      Array.from({ length: 50 }, (_, i) => ({
        data: sensorEvent({ sensorId: `s${i % 2}`, timestamp: at(1, i % 60) }),
      })),
    );
    const { ports, calls } = inMemoryPorts();
    const result = await processBatch(event.Records, ports, CONFIG, NOW);
    expect(calls.applied).toHaveLength(2);
    expect(result.stats.itemsWritten).toBe(2);
  });
  test('records of two shards in one batch keep their own lanes', async () => {
    const event = kinesisEvent([
      { data: sensorEvent({ timestamp: at(1) }), shardId: 'shardId-000000000000' },
      { data: sensorEvent({ timestamp: at(1, 10) }), shardId: 'shardId-000000000001' },
    ]);
    const { ports } = inMemoryPorts();
    let lanes: string[] = [];
    const capturing: typeof ports = {
      ...ports,
      aggregates: {
        apply: async (partials) => {
          lanes = [...partials.values()].flatMap((p) => Object.keys(p.lanes));
          return ports.aggregates.apply(partials, () => []);
        },
        read: ports.aggregates.read,
      },
    };
    await processBatch(event.Records, capturing, CONFIG, NOW);
    expect(lanes.sort()).toEqual(['shardId-000000000000', 'shardId-000000000001']);
  });
});

describe('processBatch by processor role', () => {
  const windowRule = {
    ...CONFIG.alertRules[0],
    id: 'minute-max',
    source: '1m',
    aggregate: 'max' as const,
    threshold: 25,
  };
  const config: SpeedConfig = { ...CONFIG, alertRules: [CONFIG.alertRules[0], windowRule] };
  // One hot valid event (breaches both rules), one invalid, one late, one cool valid event.
  const event = kinesisEvent([
    { data: sensorEvent({ sensorId: 'a', value: 30, timestamp: at(1) }) },
    { data: 'not json' },
    { data: sensorEvent({ sensorId: 'a', value: 31, timestamp: '2026-11-19T10:00:00Z' }) },
    { data: sensorEvent({ sensorId: 'b', value: 20, timestamp: at(2) }) },
  ]);

  /** In-memory ports whose aggregate and quarantine calls are counted, even with nothing to write. */
  function countingPorts() {
    const memory = inMemoryPorts();
    const touched = { aggregateCalls: 0, quarantineCalls: 0 };
    const ports: typeof memory.ports = {
      ...memory.ports,
      aggregates: {
        apply: (partials, eventsOf) => {
          touched.aggregateCalls++;
          return memory.ports.aggregates.apply(partials, eventsOf);
        },
        read: (keys) => {
          touched.aggregateCalls++;
          return memory.ports.aggregates.read(keys);
        },
      },
      quarantine: {
        write: (records, nowMs) => {
          touched.quarantineCalls++;
          return memory.ports.quarantine.write(records, nowMs);
        },
      },
    };
    return { ...memory, ports, touched };
  }

  test('alerts: makes no aggregate call and no quarantine write', async () => {
    const { ports, touched } = countingPorts();

    await processBatch(event.Records, ports, config, NOW, 'alerts');

    expect(touched).toEqual({ aggregateCalls: 0, quarantineCalls: 0 });
  });

  test('alerts: raises the value-rule alerts only, and still classifies and counts every record', async () => {
    const { ports, calls } = countingPorts();

    const result = await processBatch(event.Records, ports, config, NOW, 'alerts');

    expect(calls.groups).toEqual([`a|hot: ${Date.parse(at(1))}`]);
    expect(result.outcomes).toEqual(['valid', 'invalid', 'late', 'valid']);
    expect(result.stats).toMatchObject({
      valid: 2,
      invalid: 1,
      late: 1,
      itemsWritten: 0,
      alertsPublished: 1,
      invalidByReason: { not_json: 1 },
    });
  });

  test('alerts: a batch without breaches touches no store at all', async () => {
    const { ports, touched, calls } = countingPorts();
    const cool = kinesisEvent([{ data: sensorEvent({ value: 20, timestamp: at(1) }) }]);

    await processBatch(cool.Records, ports, config, NOW, 'alerts');

    expect({ ...touched, alertGroups: calls.groups.length }).toEqual({
      aggregateCalls: 0,
      quarantineCalls: 0,
      alertGroups: 0,
    });
  });

  test('aggregates: raises no value-rule alert, but window-rule alerts, aggregates and quarantine', async () => {
    const { ports, calls, counts } = countingPorts();

    const result = await processBatch(event.Records, ports, config, NOW, 'aggregates');

    expect(calls.groups).toEqual([`a|minute-max: ${Date.parse(at(1))}`]);
    expect(calls.applied.length).toBeGreaterThan(0);
    expect(counts.quarantined).toBe(1);
    expect(result.stats.invalid).toBe(1);
  });

  test('all (the default): raises both kinds of alert, aggregates and quarantines', async () => {
    const { ports, calls, counts } = countingPorts();

    const result = await processBatch(event.Records, ports, config, NOW);

    expect(calls.groups.sort()).toEqual(
      [`a|hot: ${Date.parse(at(1))}`, `a|minute-max: ${Date.parse(at(1))}`].sort(),
    );
    expect(calls.applied.length).toBeGreaterThan(0);
    expect(counts.quarantined).toBe(1);
    expect(result.stats.alertsPublished).toBe(2);
  });

  test('aggregates and alerts together raise exactly the alerts all raises', async () => {
    const split = countingPorts();
    const single = countingPorts();

    const aggregatePath = await processBatch(event.Records, split.ports, config, NOW, 'aggregates');
    const alertPath = await processBatch(event.Records, split.ports, config, NOW, 'alerts');
    const all = await processBatch(event.Records, single.ports, config, NOW, 'all');

    const ids = (alerts: readonly { alertId: string }[]) => alerts.map((a) => a.alertId);
    expect([...ids(aggregatePath.published), ...ids(alertPath.published)].sort()).toEqual(
      ids(all.published).sort(),
    );
  });
});

describe('window rules on a hopping window (composed from panes)', () => {
  const MINUTE = 60_000;
  const HOPPING: SpeedConfig = {
    ...CONFIG,
    windows: [
      { name: '1m', sizeMs: MINUTE, hopMs: MINUTE },
      { name: '5m', sizeMs: 5 * MINUTE, hopMs: MINUTE },
    ],
    alertRules: [
      {
        id: 'busy-5m',
        metric: 'temperature',
        source: '5m',
        aggregate: 'count',
        op: '>=',
        threshold: 2,
        cooldownMs: 300_000,
        severity: 'warning',
      },
    ],
  };
  const minuteStart = (minute: number) => Date.parse('2026-11-21T10:00:00Z') + minute * MINUTE;
  /** The 1m pane of minute 1 as stored by an earlier batch: one event. */
  const earlierPane = {
    sensorId: 'sensor-1',
    metric: 'temperature',
    window: '1m',
    windowStart: minuteStart(1),
    windowEnd: minuteStart(2),
    count: 1,
    sum: 21.5,
    min: 21.5,
    max: 21.5,
    firstEventTime: minuteStart(1),
    lastEventTime: minuteStart(1),
    marks: {},
    version: 1,
  };

  function withStoredPanes(read: (keys: readonly AggregateKey[]) => Promise<unknown[]>) {
    const { ports } = inMemoryPorts();
    const asked: string[] = [];
    return {
      asked,
      ports: {
        ...ports,
        aggregates: {
          apply: ports.aggregates.apply,
          read: async (keys: readonly AggregateKey[]) => {
            asked.push(...keys.map((k) => `${k.window}@${(k.windowStart - minuteStart(0)) / MINUTE}`));
            return (await read(keys)) as Awaited<ReturnType<typeof ports.aggregates.read>>;
          },
        },
      } satisfies typeof ports,
    };
  }

  test("fires when a stored pane and the batch's pane together breach an instance", async () => {
    const event = kinesisEvent([{ data: sensorEvent({ timestamp: at(3) }) }]);
    const { ports, asked } = withStoredPanes(async (keys) =>
      keys.map((k) => (k.windowStart === earlierPane.windowStart ? earlierPane : undefined)),
    );

    const result = await processBatch(event.Records, ports, HOPPING, NOW);

    // The instances holding minute 3 start at minutes -1 … 3; their panes are -1 … 7, minus 3 (written).
    expect(asked.sort()).toEqual(['1m@-1', '1m@0', '1m@1', '1m@2', '1m@4', '1m@5', '1m@6', '1m@7'].sort());
    // Instances starting at -1, 0 and 1 hold minutes 1 and 3: count 2.
    expect(result.published.map((a) => a.windowStart).sort()).toEqual(
      [minuteStart(-1), minuteStart(0), minuteStart(1)].sort(),
    );
  });

  test('stays quiet when no stored pane adds to the batch', async () => {
    const event = kinesisEvent([{ data: sensorEvent({ timestamp: at(3) }) }]);
    const { ports } = withStoredPanes(async (keys) => keys.map(() => undefined));

    const result = await processBatch(event.Records, ports, HOPPING, NOW);

    expect(result.published).toEqual([]);
  });

  test('a failed pane read fails the records of the instances it was for', async () => {
    const event = kinesisEvent([
      { data: sensorEvent({ timestamp: at(3) }) },
      { data: sensorEvent({ metric: 'humidity', timestamp: at(3) }) },
    ]);
    const { ports } = withStoredPanes(async () => {
      throw new Error('throttled');
    });

    const result = await processBatch(event.Records, ports, HOPPING, NOW);

    // Only temperature has a rule on the hopping window.
    expect([...result.failures.keys()]).toEqual([event.Records[0].eventID]);
  });
});

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
