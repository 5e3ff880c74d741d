/**
 * The local batch job (local/batch/duckdb-runner.ts) on small hand-made lakes: which raw partitions
 * a day reads, deduplication, exact replacement of partitions, the shape of the output, and the
 * lake's other tables.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CURATED_TABLES, EVENTS } from '../../../contract/lake-tables';
import { LocalLake, profileOperators } from '../../../local/batch/duckdb-runner';
import { batchParams, readSql, renderSql, SqlTemplateError } from '../../../contract/sql-template';
import { writeRawObject } from '../../../local/firehose';

let lakeDir: string;
let lake: LocalLake;

beforeEach(async () => {
  lakeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-runner-'));
  lake = await LocalLake.open({ lakeDir, maxClockSkewMs: 300_000 });
});

afterEach(() => {
  lake.close();
  fs.rmSync(lakeDir, { recursive: true, force: true });
});

function event(
  eventId: string,
  timestamp: string,
  value = 20,
  sensorId = 'sensor-1',
  metric = 'temperature',
): object {
  return { eventId, sensorId, metric, value, timestamp };
}

async function land(arrival: string, events: readonly (object | string)[]): Promise<string> {
  const records = events.map((e) => Buffer.from(typeof e === 'string' ? e : JSON.stringify(e)));
  return writeRawObject(lakeDir, 'sluice-test-raw', records, Date.parse(arrival));
}

async function eventIds(day: string): Promise<string[]> {
  const rows = await lake.query('SELECT event_id FROM events WHERE dt = ? ORDER BY event_id', [day]);
  return rows.map((r) => String(r.event_id));
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

describe('LocalLake.runDay', () => {
  test('includes events that arrived on the day after their event day', async () => {
    await land('2024-05-02T03:00:00Z', [event('late', '2024-05-01T23:59:00Z')]);

    await lake.runDay('2024-05-01');

    expect(await eventIds('2024-05-01')).toEqual(['late']);
  });

  test('leaves out events that arrived two days after their event day', async () => {
    await land('2024-05-03T00:10:00Z', [event('too-late', '2024-05-01T23:59:00Z')]);

    await lake.runDay('2024-05-01');

    expect(await eventIds('2024-05-01')).toEqual([]);
  });

  test('puts each event in the day of its event time, not of its arrival', async () => {
    await land('2024-05-02T00:30:00Z', [
      event('yesterday', '2024-05-01T22:00:00Z'),
      event('today', '2024-05-02T00:20:00Z'),
    ]);

    await lake.runRange('2024-05-01', '2024-05-02');

    expect({ first: await eventIds('2024-05-01'), second: await eventIds('2024-05-02') }).toEqual({
      first: ['yesterday'],
      second: ['today'],
    });
  });

  test('keeps the copy of a duplicated event id from the earliest-arriving object', async () => {
    await land('2024-05-01T11:00:00Z', [event('dup', '2024-05-01T10:00:00Z', 1)]);
    await land('2024-05-01T09:00:00Z', [event('dup', '2024-05-01T08:00:00Z', 2)]);
    await land('2024-05-02T01:00:00Z', [event('dup', '2024-05-01T10:00:00Z', 3)]);

    await lake.runDay('2024-05-01');

    expect(await lake.query('SELECT event_id, value FROM events')).toEqual([{ event_id: 'dup', value: 2 }]);
  });

  test('of two copies of an event id in one object, keeps the one whose record text sorts first', async () => {
    // {"eventId":"dup",...,"value":10,...} sorts before {... "value":9 ...}
    await land('2024-05-01T11:00:00Z', [
      event('dup', '2024-05-01T10:00:00Z', 9),
      event('dup', '2024-05-01T10:00:00Z', 10),
    ]);

    await lake.runDay('2024-05-01');

    expect(await lake.query('SELECT event_id, value FROM events')).toEqual([{ event_id: 'dup', value: 10 }]);
  });

  test('skips invalid records without failing the day', async () => {
    await land('2024-05-01T11:00:00Z', ['{not json', '', event('ok', '2024-05-01T10:00:00Z'), '[1]']);

    await lake.runDay('2024-05-01');

    expect(await eventIds('2024-05-01')).toEqual(['ok']);
  });

  test('replaces a partition on a re-run instead of adding to it', async () => {
    await land('2024-05-01T11:00:00Z', [
      event('a', '2024-05-01T10:00:00Z'),
      event('b', '2024-05-01T10:05:00Z'),
    ]);
    await lake.runDay('2024-05-01');
    await land('2024-05-01T12:00:00Z', [event('c', '2024-05-01T11:00:00Z')]);

    await lake.runDay('2024-05-01');

    expect(await eventIds('2024-05-01')).toEqual(['a', 'b', 'c']);
    expect(filesUnder(lake.partitionDir(EVENTS, '2024-05-01'))).toEqual(['part-00000.parquet']);
  });

  test('reports the steps of each table build in order', async () => {
    await land('2024-05-01T11:00:00Z', [event('a', '2024-05-01T10:00:00Z')]);
    await lake.runDay('2024-05-01');
    const steps: string[] = [];
    const observed = await LocalLake.open({
      lakeDir,
      maxClockSkewMs: 300_000,
      onBuildStep: (step) => steps.push(`${step.table} ${step.day} ${step.phase}`),
    });

    try {
      await observed.runDay('2024-05-01');
    } finally {
      observed.close();
    }

    const phases = ['writing', 'staged', 'old-moved-aside', 'swapped', 'done'];
    expect(steps).toEqual(CURATED_TABLES.flatMap((t) => phases.map((p) => `${t.name} 2024-05-01 ${p}`)));
  });

  test('writes the profile of each table build to profileDir, and nothing else there', async () => {
    await land('2024-05-01T11:00:00Z', [
      event('a', '2024-05-01T10:00:00Z'),
      event('a', '2024-05-01T10:00:00Z'),
    ]);
    const profileDir = path.join(lakeDir, '.profile');
    const profiled = await LocalLake.open({ lakeDir, maxClockSkewMs: 300_000, profileDir });

    try {
      await profiled.runDay('2024-05-01');
    } finally {
      profiled.close();
    }

    expect(fs.readdirSync(profileDir).sort()).toEqual(CURATED_TABLES.map((t) => `${t.name}.json`).sort());
    // The events profile is the build's COPY, not a later query: its plan holds the de-duplicating GROUP BY.
    const operators = profileOperators(path.join(profileDir, 'events.json'));
    expect(operators.map((o) => o.type)).toEqual(
      expect.arrayContaining(['COPY_TO_FILE', 'HASH_GROUP_BY', 'TABLE_SCAN']),
    );
    expect(operators.find((o) => o.type === 'HASH_GROUP_BY')?.detail).toMatch(/min_by/);
    expect(await eventIds('2024-05-01')).toEqual(['a']);
  });

  test('removes the partitions of a day that no longer has events', async () => {
    const object = await land('2024-05-01T11:00:00Z', [event('a', '2024-05-01T10:00:00Z')]);
    await lake.runDay('2024-05-01');
    fs.rmSync(object);

    const build = await lake.runDay('2024-05-01');

    expect(build.tables.map((t) => t.rows)).toEqual([0, 0, 0]);
    expect(CURATED_TABLES.map((t) => fs.existsSync(lake.partitionDir(t, '2024-05-01')))).toEqual([
      false,
      false,
      false,
    ]);
  });

  test('writes every curated table as Parquet under curated/<table>/dt=<day>/', async () => {
    await land('2024-05-01T11:00:00Z', [event('a', '2024-05-01T10:00:00Z')]);

    await lake.runDay('2024-05-01');

    expect(CURATED_TABLES.map((t) => filesUnder(path.join(lakeDir, t.prefix)))).toEqual([
      ['dt=2024-05-01/part-00000.parquet'],
      ['dt=2024-05-01/part-00000.parquet'],
      ['dt=2024-05-01/part-00000.parquet'],
    ]);
  });

  test('reports the rows written per table', async () => {
    await land('2024-05-01T11:00:00Z', [
      event('a', '2024-05-01T09:10:00Z', 1),
      event('b', '2024-05-01T10:10:00Z', 2),
      event('c', '2024-05-01T10:20:00Z', 3, 'sensor-2'),
    ]);

    const build = await lake.runDay('2024-05-01');

    expect(build).toEqual({
      day: '2024-05-01',
      tables: [
        { table: 'events', rows: 3 },
        { table: 'sensor_stats_hourly', rows: 3 },
        { table: 'sensor_stats_daily', rows: 2 },
      ],
    });
  });

  test('computes the statistics of each sensor and metric per hour and per day', async () => {
    await land('2024-05-01T11:00:00Z', [
      event('a', '2024-05-01T10:00:00Z', 1),
      event('b', '2024-05-01T10:30:00Z', 2),
      event('c', '2024-05-01T10:59:59.999Z', 4),
      event('d', '2024-05-01T09:00:00Z', 9),
      event('e', '2024-05-01T10:00:00Z', 100, 'sensor-1', 'humidity'),
    ]);

    await lake.runDay('2024-05-01');

    const stats =
      'event_count, avg_value, min_value, max_value, round(stddev_value, 12) AS stddev_value, round(p50_value, 9) AS p50_value, round(p95_value, 9) AS p95_value';
    expect(
      await lake.query(
        `SELECT metric, strftime(hour_start, '%H') AS hour, ${stats} FROM sensor_stats_hourly ORDER BY metric, hour`,
      ),
    ).toEqual([
      {
        metric: 'humidity',
        hour: '10',
        event_count: '1',
        avg_value: 100,
        min_value: 100,
        max_value: 100,
        stddev_value: null,
        p50_value: 100,
        p95_value: 100,
      },
      {
        metric: 'temperature',
        hour: '09',
        event_count: '1',
        avg_value: 9,
        min_value: 9,
        max_value: 9,
        stddev_value: null,
        p50_value: 9,
        p95_value: 9,
      },
      {
        metric: 'temperature',
        hour: '10',
        event_count: '3',
        avg_value: 7 / 3,
        min_value: 1,
        max_value: 4,
        stddev_value: 1.527525231652,
        p50_value: 2,
        p95_value: 3.8,
      },
    ]);
    expect(await lake.query(`SELECT metric, ${stats} FROM sensor_stats_daily ORDER BY metric`)).toEqual([
      {
        metric: 'humidity',
        event_count: '1',
        avg_value: 100,
        min_value: 100,
        max_value: 100,
        stddev_value: null,
        p50_value: 100,
        p95_value: 100,
      },
      {
        metric: 'temperature',
        event_count: '4',
        avg_value: 4,
        min_value: 1,
        max_value: 9,
        stddev_value: 3.55902608401,
        p50_value: 3,
        p95_value: 8.25,
      },
    ]);
  });

  test('keeps unit, attributes, event time and arrival hour of each event', async () => {
    await land('2024-05-01T11:20:00Z', [
      { ...event('a', '2024-05-01T12:30:00.123+02:00'), unit: 'C', attributes: { site: 'north', rack: '7' } },
    ]);

    await lake.runDay('2024-05-01');

    expect(
      await lake.query(
        `SELECT unit, attributes['site'] AS site, cardinality(attributes) AS n, CAST(event_time AS VARCHAR) AS event_time,
                CAST(arrival_hour AS VARCHAR) AS arrival_hour FROM events`,
      ),
    ).toEqual([
      {
        unit: 'C',
        site: 'north',
        n: '2',
        event_time: '2024-05-01 10:30:00.123',
        arrival_hour: '2024-05-01 11:00:00',
      },
    ]);
  });

  test('rejects a day that is not a calendar date', async () => {
    await expect(lake.runDay('2024-02-30')).rejects.toThrow(SqlTemplateError);
  });
});

describe('LocalLake tables', () => {
  test('every curated SQL file yields exactly the catalog columns, in order, then dt', async () => {
    await land('2024-05-01T11:00:00Z', [event('a', '2024-05-01T10:00:00Z')]);
    await lake.runDay('2024-05-01');
    const params = batchParams('2024-05-01', 300_000);

    for (const table of CURATED_TABLES) {
      const columns = await lake.query(`DESCRIBE ${renderSql(readSql(table.sqlFile), params)}`);
      expect({ table: table.name, columns: columns.map((c) => c.column_name) }).toEqual({
        table: table.name,
        columns: [...table.columns.map((c) => c.name), 'dt'],
      });
    }
  });

  test('are empty, with their columns, before anything has landed', async () => {
    expect(await lake.query('SELECT * FROM raw_events')).toEqual([]);
    expect(await lake.query('SELECT * FROM events')).toEqual([]);
    expect((await lake.query('DESCRIBE sensor_stats_daily')).map((c) => c.column_name)).toContain(
      'p95_value',
    );
  });

  test('raw_events has one row per landed line with its arrival partition and object path', async () => {
    const object = await land('2024-05-01T11:00:00Z', ['first', 'second']);

    expect(await lake.query('SELECT line, dt, hour, "$path" AS path FROM raw_events ORDER BY line')).toEqual([
      { line: 'first', dt: '2024-05-01', hour: '11', path: object },
      { line: 'second', dt: '2024-05-01', hour: '11', path: object },
    ]);
  });

  test('quarantine reads the stream processor NDJSON objects with snake_case columns', async () => {
    const dir = path.join(lakeDir, 'quarantine', 'dt=2024-05-01');
    fs.mkdirSync(dir, { recursive: true });
    const record = {
      reason: 'not_json',
      data: 'oops',
      dataEncoding: 'utf8',
      shardId: 'shardId-000000000000',
      sequenceNumber: '495',
      partitionKey: 'sensor-1',
      arrivalTime: '2024-05-01T10:00:00.000Z',
      sensorId: 'sensor-1',
    };
    // An event of a packed record (contract v1.1) also says how the record was packed and where in it the event sat.
    const subRecord = {
      ...record,
      reason: 'missing_field',
      data: '{}',
      packing: 'ndjson',
      subRecordIndex: 2,
    };
    fs.writeFileSync(
      path.join(dir, 'shardId-000000000000-495-495.ndjson'),
      `${JSON.stringify(record)}\n${JSON.stringify(subRecord)}\n`,
    );

    const row = {
      reason: 'not_json',
      data: 'oops',
      data_encoding: 'utf8',
      sensor_id: 'sensor-1',
      shard_id: 'shardId-000000000000',
      sequence_number: '495',
      partition_key: 'sensor-1',
      arrival_time: '2024-05-01T10:00:00.000Z',
      packing: null,
      sub_record_index: null,
      dt: '2024-05-01',
    };
    expect(await lake.query('SELECT * FROM quarantine ORDER BY reason DESC')).toEqual([
      row,
      { ...row, reason: 'missing_field', data: '{}', packing: 'ndjson', sub_record_index: '2' }, // BIGINT as JSON text
    ]);
  });

  test.each([
    ['hottest_sensors_yesterday.sql', []],
    ['sensor_hourly_trend.sql', ['sensor-1']],
    ['quarantine_reasons_by_day.sql', []],
  ])('the saved query %s runs on the local lake', async (file, values) => {
    await land(new Date().toISOString(), [event('a', new Date(Date.now() - 3_600_000).toISOString())]);
    await lake.runDay(new Date(Date.now() - 3_600_000).toISOString().slice(0, 10));

    await expect(lake.query(readSql(`queries/${file}`), values)).resolves.toEqual(expect.any(Array));
  });
});
