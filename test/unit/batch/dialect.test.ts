/**
 * The dialect layer: each macro gives DuckDB the Trino function of the same name, with Trino's
 * result on the cases the batch SQL depends on (expected values are Trino's documented behaviour).
 */
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { installTrinoDialect, macroStatement, TRINO_MACROS } from '../../../local/batch/dialect';

let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
  await installTrinoDialect(connection);
});

afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

async function value(expression: string, from = ''): Promise<unknown> {
  const reader = await connection.runAndReadAll(`SELECT ${expression} AS v ${from}`);
  return reader.getRowObjectsJson()[0].v;
}

describe('Trino dialect on DuckDB', () => {
  test.each([
    ['NaN', '{"v":NaN}'],
    ['-Infinity', '{"v":-Infinity}'],
    ['inf', '{"v":inf}'],
    ['a trailing comma in an object', '{"v":1,}'],
    ['a trailing comma in an array', '{"v":[1, ]}'],
    ['a syntax error', '{"v":'],
    ['a NaN token in mixed case', '{"v":nAn}'],
    ['a trailing comma before a tab', '{"v":1,\t}'],
  ])('json_parse rejects %s like Trino (NULL under try)', async (_, json) => {
    expect(await value(`try(json_parse('${json}'))`)).toBeNull();
  });

  test('json_parse accepts arrays of strings (no false trailing comma)', async () => {
    expect(await value(`json_extract(json_parse('{"t":["a", "b"],"u":{"k":"v"}}'), '$.t')`)).toBe(
      '["a","b"]',
    );
  });

  test('json_parse keeps NaN, Infinity and ",]" that are inside strings', async () => {
    expect(await value(`json_extract_scalar(json_parse('{"u":"NaN, Infinity,]"}'), '$.u')`)).toBe(
      'NaN, Infinity,]',
    );
  });

  test('json_format gives the compact JSON text of a value read from a document', async () => {
    expect(
      await value(
        `json_format(element_at(CAST(json_parse(' { "a" : [1, "x"] } ') AS MAP(VARCHAR, JSON)), 'a'))`,
      ),
    ).toBe('[1,"x"]');
  });

  test('element_at gives the JSON value of a key of a document cast to MAP(VARCHAR, JSON)', async () => {
    expect(
      await value(
        `json_format(element_at(CAST(json_parse('{"a":{"k":"v"},"b":"x"}') AS MAP(VARCHAR, JSON)), 'b'))`,
      ),
    ).toBe('"x"');
  });

  test('element_at gives NULL for a key the map does not hold', async () => {
    expect(await value(`element_at(CAST(json_parse('{"a":1}') AS MAP(VARCHAR, JSON)), 'A')`)).toBeNull();
  });

  test('element_at gives the first value of a key the JSON repeats (Trino refuses such a map)', async () => {
    expect(
      await value(`json_format(element_at(CAST(json_parse('{"a":1,"a":2}') AS MAP(VARCHAR, JSON)), 'a'))`),
    ).toBe('1');
  });

  test('a document that is not an object casts to a NULL map under try, like Trino', async () => {
    expect(
      await value(
        `[try(CAST(json_parse('[1]') AS MAP(VARCHAR, JSON))) IS NULL, try(CAST(json_parse('"s"') AS MAP(VARCHAR, JSON))) IS NULL]`,
      ),
    ).toEqual([true, true]);
  });

  test('json_extract_scalar gives NULL for objects and arrays', async () => {
    expect(
      await value(
        `[json_extract_scalar(json_parse('{"o":{"a":1},"l":[1]}'), '$.o'), json_extract_scalar(json_parse('{"l":[1]}'), '$.l')]`,
      ),
    ).toEqual([null, null]);
  });

  test('json_extract_scalar gives strings unescaped and other scalars as text', async () => {
    expect(
      await value(
        `[json_extract_scalar(json_parse('{"s":"a\\"b"}'), '$.s'), json_extract_scalar(json_parse('{"n":2.5}'), '$.n'), json_extract_scalar(json_parse('{"b":true}'), '$.b')]`,
      ),
    ).toEqual(['a"b', '2.5', 'true']);
  });

  test('json_extract_scalar of the whole value gives strings unescaped, numbers as text, NULL for the rest', async () => {
    const whole = (json: string): string => `json_extract_scalar(json_parse('${json}'), '$')`;
    expect(
      await value(
        `[${whole('"a\\"b"')}, ${whole('-2.5')}, ${whole('" x"')}, ${whole('true')}, ${whole('null')}, ${whole('[1]')}, ${whole('{"a":1}')}]`,
      ),
    ).toEqual(['a"b', '-2.5', ' x', 'true', null, null, null]);
  });

  test("date_add adds exact milliseconds to a timestamp, across the contract's whole range", async () => {
    expect(
      await value(
        `[CAST(date_add('millisecond', 253402300799999, TIMESTAMP '1970-01-01 00:00:00.000') AS VARCHAR), ` +
          `CAST(date_add('millisecond', -1, TIMESTAMP '1970-01-01 00:00:00.000') AS VARCHAR), ` +
          `CAST(date_add('hour', 5, TIMESTAMP '2024-02-28 22:00:00') AS VARCHAR)]`,
      ),
    ).toEqual(['9999-12-31 23:59:59.999', '1969-12-31 23:59:59.999', '2024-02-29 03:00:00']);
  });

  test('date_add refuses a unit it does not support', async () => {
    await expect(value(`date_add('month', 1, TIMESTAMP '2024-01-31 00:00:00')`)).rejects.toThrow(/month/);
  });

  test('regexp_like finds a match anywhere, \\A and \\z anchor to the whole text', async () => {
    expect(await value(`[regexp_like('xaby', 'ab'), regexp_like('ab' || chr(10), '\\Aab\\z')]`)).toEqual([
      true,
      false,
    ]);
  });

  test('regexp_count counts non-overlapping matches', async () => {
    expect(await value(`regexp_count('a😀b😀', '[' || chr(65536) || '-' || chr(1114111) || ']')`)).toBe('2');
  });

  test('is_finite is false for infinities', async () => {
    expect(await value(`[is_finite(1e308), is_finite(CAST('Infinity' AS DOUBLE))]`)).toEqual([true, false]);
  });

  test('length(to_hex(to_utf8(...))) counts UTF-8 bytes twice', async () => {
    expect(await value(`length(to_hex(to_utf8('é😀')))`)).toBe('12');
  });

  test('from_utf8 reverses to_utf8', async () => {
    expect(await value(`from_utf8(to_utf8('é😀')) = 'é😀'`)).toBe(true);
  });

  test('from_unixtime rounds to the millisecond, in UTC', async () => {
    expect(await value(`CAST(from_unixtime(1709251200123.4 / 1e3) AT TIME ZONE 'UTC' AS VARCHAR)`)).toBe(
      '2024-03-01 00:00:00.123',
    );
  });

  test('to_unixtime of from_iso8601_timestamp reads the zone offset', async () => {
    expect(await value(`to_unixtime(from_iso8601_timestamp('2024-03-01T02:00:00+02:00'))`)).toBe(1709251200);
  });

  test('date_format formats with %Y-%m-%d', async () => {
    expect(await value(`date_format(TIMESTAMP '2024-03-01 10:00:00', '%Y-%m-%d %H')`)).toBe('2024-03-01 10');
  });

  test('approx_percentile gives the interpolated percentile', async () => {
    expect(await value('approx_percentile(v, 0.5)', 'FROM (VALUES (1e0), (2e0), (4e0), (10e0)) t(v)')).toBe(
      3,
    );
  });

  test('avg and stddev_samp give the same bits whatever the input order', async () => {
    const values = Array.from({ length: 2000 }, (_, i) => Math.sin(i) * 1e6 + 1 / (i + 3));
    const shuffled = [...values].reverse();
    const aggregate = async (list: number[]): Promise<unknown> =>
      value('[avg(v), stddev_samp(v)]', `FROM (SELECT unnest([${list.join(', ')}]::DOUBLE[]) AS v)`);

    expect(await aggregate(shuffled)).toEqual(await aggregate(values));
  });

  test('sets the session time zone to UTC', async () => {
    expect(await value("current_setting('TimeZone')")).toBe('UTC');
  });

  test('defines every macro as a temporary macro', () => {
    expect(TRINO_MACROS.map(macroStatement).every((s) => s.startsWith('CREATE OR REPLACE TEMP MACRO '))).toBe(
      true,
    );
  });
});
