/**
 * The batch layer end to end on one machine: events (duplicates, malformed records, late arrivals,
 * several event days) go into kinesalite, the local Firehose lands them in a local lake, and the
 * batch SQL runs on DuckDB. The resulting tables must equal an independent recomputation
 * (test/helpers/reference-batch.ts: line-by-line Node.js with core/event.ts validation).
 *
 * Tolerances: count, avg, min and max must be exact (values are multiples of 1/4, so every sum is
 * exact in floating point whatever the order); stddev within 1e-9 relative; p50 and p95 within ±1 %
 * of rank (Athena's approx_percentile accuracy; DuckDB's are exact and interpolated).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CreateStreamCommand,
  waitUntilStreamExists,
  type KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { LocalLake } from '../../local/batch/duckdb-runner';
import { formatDay } from '../../contract/sql-template';
import { mulberry32 } from '../../local/chaos/prng';
import { createLocalClients, destroyLocalClients, type LocalClients } from '../../local/endpoints';
import { LocalFirehose } from '../../local/firehose';
import { type EmulatorProcess, startEmulatorProcess } from '../helpers/emulators';
import {
  isPercentileWithinRank,
  type ReferenceDay,
  referenceBatch,
  type ReferenceStats,
} from '../helpers/reference-batch';

const DAY_MS = 86_400_000;
const MAX_CLOCK_SKEW_MS = 300_000;
const STREAM = 'sluice-batch-pipeline';

let emulators: EmulatorProcess;
let clients: LocalClients;
let lakeDir: string;
let lake: LocalLake;
let days: string[];

async function put(kinesis: KinesisClient, records: readonly { data: string; key: string }[]): Promise<void> {
  for (let i = 0; i < records.length; i += 500) {
    const chunk = records.slice(i, i + 500);
    const result = await kinesis.send(
      new PutRecordsCommand({
        StreamName: STREAM,
        Records: chunk.map((r) => ({ Data: Buffer.from(r.data), PartitionKey: r.key })),
      }),
    );
    expect(result.FailedRecordCount ?? 0).toBe(0);
  }
}

interface Generated {
  readonly first: { data: string; key: string }[];
  readonly second: { data: string; key: string }[];
}

/** Events over the last three days (and some in the future), with duplicates and malformed records. */
function generate(nowMs: number): Generated {
  const next = mulberry32(20241121);
  const startMs = Date.parse(`${formatDay(nowMs - 3 * DAY_MS)}T00:00:00Z`);
  const first: { data: string; key: string }[] = [];
  const second: { data: string; key: string }[] = [];
  for (let i = 0; i < 4000; i++) {
    const sensorId = `sensor-${Math.floor(next() * 6)}`;
    const metric = next() < 0.7 ? 'temperature' : 'humidity';
    // Mostly in the past three days; about 2% in the future (invalid: beyond arrival + skew).
    const eventTime =
      next() < 0.02 ? nowMs + 3 * 3_600_000 : startMs + Math.floor(next() * (nowMs - startMs));
    const event: Record<string, unknown> = {
      eventId: `evt-${i}`,
      sensorId,
      metric,
      value: Math.round((metric === 'temperature' ? 15 + next() * 20 : 30 + next() * 50) * 4) / 4,
      timestamp: next() < 0.5 ? new Date(eventTime).toISOString() : eventTime,
    };
    if (next() < 0.3) event.unit = metric === 'temperature' ? 'C' : '%';
    if (next() < 0.2) event.attributes = { site: `site-${Math.floor(next() * 3)}`, firmware: '1.2.3' };
    const record = { data: JSON.stringify(event), key: sensorId };
    first.push(record);
    const dice = next();
    if (dice < 0.05)
      first.push(record); // exact duplicate, same object
    else if (dice < 0.1)
      second.push(record); // exact duplicate, later object
    else if (dice < 0.13) second.push({ data: JSON.stringify({ ...event, value: -1000 }), key: sensorId }); // conflicting copy, later
  }
  const malformed = [
    'not json at all',
    '{"eventId": "m-1", "sensorId": "sensor-1", "metric": "temperature", "value": 20, "timestamp": ',
    JSON.stringify({
      eventId: 'm-2',
      sensorId: 'bad sensor!',
      metric: 'temperature',
      value: 20,
      timestamp: nowMs - DAY_MS,
    }),
    JSON.stringify({
      eventId: 'm-3',
      sensorId: 'sensor-1',
      metric: 'temperature',
      value: '20',
      timestamp: nowMs - DAY_MS,
    }),
    JSON.stringify({
      eventId: 'm-4',
      sensorId: 'sensor-1',
      metric: 'temperature',
      value: 20,
      timestamp: '2024-01-01 10:00',
    }),
    JSON.stringify({
      eventId: '',
      sensorId: 'sensor-1',
      metric: 'temperature',
      value: 20,
      timestamp: nowMs - DAY_MS,
    }),
    JSON.stringify({
      eventId: 'm-5',
      sensorId: 'sensor-1',
      metric: 'temperature',
      value: 20,
      timestamp: nowMs - DAY_MS,
      attributes: { n: 1 },
    }),
    JSON.stringify([1, 2, 3]),
    '{"eventId":"m-6","sensorId":"sensor-1","metric":"temperature","value":NaN,"timestamp":0}',
  ];
  for (const data of malformed) first.push({ data, key: 'malformed' });
  return { first, second };
}

beforeAll(async () => {
  emulators = await startEmulatorProcess();
  clients = createLocalClients(emulators.endpoints);
  await clients.kinesis.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 3 }));
  await waitUntilStreamExists(
    { client: clients.kinesis, maxWaitTime: 30, minDelay: 0.1, maxDelay: 0.2 },
    { StreamName: STREAM },
  );
  lakeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-batch-pipeline-'));

  const nowMs = Date.now();
  const generated = generate(nowMs);
  const firehose = new LocalFirehose({
    kinesis: clients.kinesis,
    streamName: STREAM,
    lakeDir,
    bufferSizeBytes: 64 * 1024, // several objects per flush
  });
  await put(clients.kinesis, generated.first);
  await firehose.flush();
  await put(clients.kinesis, generated.second);
  await firehose.stop();
  expect(firehose.recordsLanded).toBe(generated.first.length + generated.second.length);

  const today = formatDay(nowMs);
  days = [3, 2, 1, 0].map((back) => formatDay(Date.parse(`${today}T00:00:00Z`) - back * DAY_MS));
  lake = await LocalLake.open({ lakeDir, maxClockSkewMs: MAX_CLOCK_SKEW_MS });
  await lake.runRange(days[0], days[3]);
});

afterAll(async () => {
  lake?.close();
  if (clients) destroyLocalClients(clients);
  await emulators?.stop();
  if (lakeDir) fs.rmSync(lakeDir, { recursive: true, force: true });
});

interface EventRow {
  event_id: string;
  sensor_id: string;
  metric: string;
  value: number;
  unit: string | null;
  event_ms: string;
  attributes: string | null;
  arrival_ms: string;
}

async function eventsOf(day: string): Promise<EventRow[]> {
  return (await lake.query(
    `SELECT event_id, sensor_id, metric, value, unit, epoch_ms(event_time) AS event_ms,
            CAST(to_json(map_from_entries(list_sort(map_entries(attributes)))) AS VARCHAR) AS attributes,
            epoch_ms(arrival_hour) AS arrival_ms
     FROM events WHERE dt = ? ORDER BY event_id`,
    [day],
  )) as unknown as EventRow[];
}

function expectedEvents(day: ReferenceDay): EventRow[] {
  return day.events
    .map((e) => ({
      event_id: e.eventId,
      sensor_id: e.sensorId,
      metric: e.metric,
      value: e.value,
      unit: e.unit ?? null,
      event_ms: String(e.eventTime),
      attributes: e.attributes
        ? JSON.stringify(
            Object.fromEntries(Object.entries(e.attributes).sort(([a], [b]) => (a < b ? -1 : 1))),
          )
        : null,
      arrival_ms: String(e.arrivalHourMs),
    }))
    .sort((a, b) => (a.event_id < b.event_id ? -1 : 1));
}

interface StatsRow {
  sensor_id: string;
  metric: string;
  hour_ms?: string;
  event_count: string;
  avg_value: number;
  min_value: number;
  max_value: number;
  stddev_value: number | null;
  p50_value: number;
  p95_value: number;
}

function statsKey(sensorId: string, metric: string, hourMs?: string | number): string {
  return `${sensorId}|${metric}|${hourMs ?? ''}`;
}

function expectStatsMatch(rows: StatsRow[], expected: readonly ReferenceStats[]): void {
  const byKey = new Map(rows.map((r) => [statsKey(r.sensor_id, r.metric, r.hour_ms), r]));
  expect([...byKey.keys()].sort()).toEqual(
    expected.map((s) => statsKey(s.sensorId, s.metric, s.hourStartMs)).sort(),
  );
  for (const s of expected) {
    const row = byKey.get(statsKey(s.sensorId, s.metric, s.hourStartMs)) as StatsRow;
    expect(Number(row.event_count)).toBe(s.count);
    expect(row.avg_value).toBe(s.avg);
    expect(row.min_value).toBe(s.min);
    expect(row.max_value).toBe(s.max);
    if (s.stddev === null) expect(row.stddev_value).toBeNull();
    else
      expect(Math.abs((row.stddev_value as number) - s.stddev)).toBeLessThanOrEqual(
        1e-9 * Math.max(1, s.stddev),
      );
    expect(isPercentileWithinRank(s.sorted, 0.5, row.p50_value)).toBe(true);
    expect(isPercentileWithinRank(s.sorted, 0.95, row.p95_value)).toBe(true);
  }
}

describe('batch layer: kinesalite -> local Firehose -> local lake -> batch SQL on DuckDB', () => {
  test('the events table of every day equals the recomputation (valid, deduplicated, late arrivals included)', async () => {
    const reference = referenceBatch(lakeDir, days, MAX_CLOCK_SKEW_MS);

    for (const day of days) {
      expect({ day, rows: await eventsOf(day) }).toEqual({
        day,
        rows: expectedEvents(reference.days.get(day) as ReferenceDay),
      });
    }
  });

  test('the recomputation covers what the test means to cover', async () => {
    const reference = referenceBatch(lakeDir, days, MAX_CLOCK_SKEW_MS);
    const counts = days.map((day) => (reference.days.get(day) as ReferenceDay).events.length);

    // Yesterday's events all arrived today (late arrivals in D+1) and are there; the days before
    // yesterday arrived two or more days late, so they stay empty; today has its own events.
    expect(counts[2]).toBeGreaterThan(500);
    expect(counts[3]).toBeGreaterThan(0);
    expect(counts[0] + counts[1]).toBe(0);
    // Duplicates and malformed lines were landed and read, then removed.
    expect(reference.lines).toBeGreaterThan(counts.reduce((a, b) => a + b, 0));
  });

  test('a conflicting copy of an event id that arrived later loses to the first copy', async () => {
    const rows = await lake.query('SELECT count(*) AS n FROM events WHERE value = -1000');

    expect(rows).toEqual([{ n: '0' }]);
  });

  test('hourly statistics equal the recomputation', async () => {
    const reference = referenceBatch(lakeDir, days, MAX_CLOCK_SKEW_MS);

    for (const day of days) {
      const rows = (await lake.query(
        `SELECT *, CAST(epoch_ms(hour_start) AS VARCHAR) AS hour_ms FROM sensor_stats_hourly WHERE dt = ?`,
        [day],
      )) as unknown as StatsRow[];
      expectStatsMatch(rows, (reference.days.get(day) as ReferenceDay).hourly);
    }
  });

  test('daily statistics equal the recomputation', async () => {
    const reference = referenceBatch(lakeDir, days, MAX_CLOCK_SKEW_MS);

    for (const day of days) {
      const rows = (await lake.query('SELECT * FROM sensor_stats_daily WHERE dt = ?', [
        day,
      ])) as unknown as StatsRow[];
      expectStatsMatch(rows, (reference.days.get(day) as ReferenceDay).daily);
    }
  });

  test('running the same day again leaves identical tables', async () => {
    const dump = async (): Promise<unknown[]> => [
      await lake.query(
        'SELECT * EXCLUDE (attributes), CAST(attributes AS VARCHAR) AS attributes FROM events ORDER BY dt, event_id',
      ),
      await lake.query('SELECT * FROM sensor_stats_hourly ORDER BY dt, sensor_id, metric, hour_start'),
      await lake.query('SELECT * FROM sensor_stats_daily ORDER BY dt, sensor_id, metric'),
    ];
    const before = await dump();

    await lake.runDay(days[2]);
    await lake.runDay(days[2]);

    expect(await dump()).toEqual(before);
  });
});
