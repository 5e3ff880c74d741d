/**
 * A read-only lake (local/batch/read-only.ts): users' SQL reads the lake's tables and nothing else,
 * and writes nothing, inside the lake or out of it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { LocalLake } from '../../../local/batch/duckdb-runner';
import { confineToLake, ReadOnlyQueryError } from '../../../local/batch/read-only';
import { readSql } from '../../../contract/sql-template';
import { writeRawObject } from '../../../local/firehose';

const DAY = '2024-05-01';

let work: string;
let lakeDir: string;
let reader: LocalLake;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-read-only-'));
  lakeDir = path.join(work, 'lake');
  const event = {
    eventId: 'a',
    sensorId: 's1',
    metric: 'temperature',
    value: 21,
    timestamp: `${DAY}T10:00:00Z`,
  };
  await writeRawObject(
    lakeDir,
    'sluice-test-raw',
    [Buffer.from(JSON.stringify(event))],
    Date.parse(`${DAY}T10:01:00Z`),
  );
  const writer = await LocalLake.open({ lakeDir });
  await writer.runDay(DAY);
  writer.close();
  reader = await LocalLake.open({ lakeDir, readOnly: true });
});

afterAll(() => {
  reader.close();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Every file under `dir`, relative to it. */
const filesUnder = (dir: string): string[] =>
  fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();

test('reads the lake tables', async () => {
  expect(await reader.query('SELECT event_id, value FROM events')).toEqual([{ event_id: 'a', value: 21 }]);
});

test.each([
  'SELECT sensor_id, metric, avg_value FROM sensor_stats_daily ORDER BY avg_value DESC LIMIT 5',
  'SELECT reason, count(*) AS n FROM quarantine GROUP BY reason',
  "SELECT json_extract_scalar(line, '$.eventId') AS event_id, count(*) AS copies FROM raw_events GROUP BY 1",
  'DESCRIBE sensor_stats_hourly',
  'SHOW TABLES',
  'EXPLAIN SELECT * FROM events',
])('runs %s', async (sql) => {
  await expect(reader.query(sql)).resolves.toEqual(expect.any(Array));
});

test.each(['hottest_sensors_yesterday.sql', 'quarantine_reasons_by_day.sql'])(
  'runs the saved query %s',
  async (file) => {
    await expect(reader.query(readSql(`queries/${file}`))).resolves.toEqual(expect.any(Array));
  },
);

test('refuses COPY TO outside the lake and writes nothing', async () => {
  const target = path.join(work, 'pwned.csv');

  await expect(reader.query(`COPY (SELECT 1 AS x) TO '${target}'`)).rejects.toThrow();

  expect(fs.existsSync(target)).toBe(false);
});

test('refuses COPY TO inside the lake and writes nothing', async () => {
  const before = filesUnder(lakeDir);

  await expect(reader.query(`COPY (SELECT 1 AS x) TO '${path.join(lakeDir, 'pwned.csv')}'`)).rejects.toThrow(
    ReadOnlyQueryError,
  );

  expect(filesUnder(lakeDir)).toEqual(before);
});

test.each([
  ["read_text('/etc/passwd')", (): string => "SELECT * FROM read_text('/etc/passwd')"],
  [
    'a path that climbs out of the lake',
    (): string => `SELECT * FROM read_text('${lakeDir}/../../etc/passwd')`,
  ],
  ['a URL', (): string => "SELECT * FROM read_csv('https://example.com/x.csv')"],
])('refuses to read %s', async (_what, sql) => {
  await expect(reader.query(sql())).rejects.toThrow(/Permission Error/);
});

test.each(['INSTALL httpfs', 'LOAD httpfs', 'ATTACH', 'CREATE TABLE t AS SELECT 1', 'SET threads = 1'])(
  'refuses %s',
  async (sql) => {
    const attach = `ATTACH '${path.join(work, 'x.db')}'`;

    await expect(reader.query(sql === 'ATTACH' ? attach : sql)).rejects.toThrow(ReadOnlyQueryError);

    expect(fs.existsSync(path.join(work, 'x.db'))).toBe(false);
  },
);

test('refuses two statements, even if both read', async () => {
  await expect(reader.query('SELECT 1; SELECT 2')).rejects.toThrow(/exactly one SQL statement \(got 2\)/);
});

describe('confineToLake, on its own (for statements that get past the SELECT check)', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;

  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    await confineToLake(connection, lakeDir);
  });

  afterAll(() => {
    connection.closeSync();
    instance.closeSync();
  });

  test('refuses COPY TO outside the lake', async () => {
    const target = path.join(work, 'confined.csv');

    await expect(connection.run(`COPY (SELECT 1 AS x) TO '${target}'`)).rejects.toThrow(/Permission Error/);

    expect(fs.existsSync(target)).toBe(false);
  });

  test('refuses to install an extension', async () => {
    await expect(connection.run('INSTALL httpfs')).rejects.toThrow(/Permission Error/);
  });

  test('cannot be lifted', async () => {
    await expect(connection.run('SET enable_external_access = true')).rejects.toThrow(/locked/);
  });
});

test('cannot build a day', async () => {
  await expect(reader.runDay(DAY)).rejects.toThrow(ReadOnlyQueryError);
});
