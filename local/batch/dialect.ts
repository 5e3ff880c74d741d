/**
 * The dialect layer: the batch SQL is written in Athena (Trino) SQL, and DuckDB runs the same text
 * once these macros have supplied the Trino functions it lacks, with Trino's behaviour (plus two
 * that make floating-point aggregates deterministic). Nothing is rewritten in the SQL text itself.
 *
 * Macros are temporary (per connection) and shadow any DuckDB function of the same name.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

export interface DialectMacro {
  readonly name: string;
  readonly params: readonly string[];
  /** DuckDB expression giving the Trino function's result. */
  readonly body: string;
  /** Why the mapping is what it is, where it is not a plain rename. */
  readonly note?: string;
}

export const TRINO_MACROS: readonly DialectMacro[] = [
  {
    name: 'json_parse',
    params: ['text'],
    // Outside string literals (each replaced by "" first), strict JSON has no NaN/Infinity tokens
    // and no trailing commas; the cheaper first test skips the replace for almost every record (in
    // text DuckDB accepts, those tokens are ASCII and JSON whitespace is space, \t, \r and \n,
    // so plain character classes, faster than (?i) and \s, find the same).
    // Invalid text gives NULL instead of Trino's error, which is what try(json_parse(...)) gives on
    // both. TRY_CAST validates in one parse and, unlike try(), never makes DuckDB retry a vector
    // row by row. The JSON value keeps the text as written (Trino re-serialises it compactly): what
    // reads it (json_extract, a cast to MAP) sees the same value either way.
    body:
      `CASE WHEN regexp_matches(text, '[nN][aA][nN]|[iI][nN][fF]|,[ \\t\\r\\n]*[\\]}]') ` +
      `AND regexp_matches(regexp_replace(text, '"(?:[^"\\\\]|\\\\.)*"', '""', 'g'), '(?i)nan|inf|,\\s*[\\]}]') ` +
      `THEN NULL ELSE TRY_CAST(text AS JSON) END`,
    note: "DuckDB's parser also accepts NaN, Infinity and trailing commas, which Trino (and JSON.parse) reject",
  },
  { name: 'json_format', params: ['doc'], body: 'CAST(doc AS VARCHAR)' },
  {
    name: 'element_at',
    params: ['container', 'key'],
    body: 'map_extract_value(container, key)',
    note:
      "Trino gives the key's value or NULL; DuckDB's element_at gives a list. Only for maps: the batch " +
      'SQL never calls element_at on an array. A map cast from JSON with a repeated key (Trino refuses ' +
      'to make one) gives the first value',
  },
  {
    name: 'json_extract_scalar',
    params: ['doc', 'path'],
    // The whole value ('$') of a JSON text that starts with '"', '-' or a digit (a string or a
    // number; every character in between starts no JSON value) is a scalar: one parse, not two.
    body:
      `CASE WHEN path = '$' AND CAST(doc AS VARCHAR) >= '"' AND CAST(doc AS VARCHAR) < '[' ` +
      `THEN json_extract_string(doc, path) ` +
      `WHEN json_type(doc, path) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(doc, path) END`,
    note: "Trino returns NULL for objects and arrays; DuckDB's json_extract_string returns their JSON text",
  },
  { name: 'regexp_like', params: ['text', 'pattern'], body: 'regexp_matches(text, pattern)' },
  { name: 'regexp_count', params: ['text', 'pattern'], body: 'len(regexp_extract_all(text, pattern))' },
  { name: 'is_finite', params: ['x'], body: 'isfinite(x)' },
  { name: 'to_utf8', params: ['text'], body: 'encode(text)' },
  { name: 'from_utf8', params: ['bytes'], body: 'decode(bytes)' },
  { name: 'to_unixtime', params: ['ts'], body: 'epoch(ts)' },
  {
    name: 'from_unixtime',
    params: ['seconds'],
    body: "timezone('UTC', make_timestamp(CAST(round(seconds * 1000) AS BIGINT) * 1000))",
    note: 'Trino rounds to milliseconds and returns a timestamp with time zone',
  },
  { name: 'from_iso8601_timestamp', params: ['text'], body: 'CAST(text AS TIMESTAMPTZ)' },
  {
    name: 'date_add',
    params: ['unit', 'value', 'ts'],
    body:
      `make_timestamp(epoch_us(ts) + CAST(value AS BIGINT) * CASE unit WHEN 'millisecond' THEN 1000 ` +
      `WHEN 'second' THEN 1000000 WHEN 'minute' THEN 60000000 WHEN 'hour' THEN 3600000000 ` +
      `WHEN 'day' THEN 86400000000 ELSE error('date_add: unit ' || unit || ' is not supported locally') END)`,
    note: "Trino's date_add on a timestamp without time zone, in integer microseconds (exact for years 1-9999)",
  },
  {
    name: 'date_format',
    params: ['ts', 'format'],
    body: 'strftime(ts, format)',
    note: '%Y, %m, %d and %H mean the same in both',
  },
  // Not naming differences but determinism: DuckDB aggregates in parallel, so the rounding of a
  // floating-point sum varies from run to run. Aggregating sorted values makes re-runs bit-identical.
  {
    name: 'avg',
    params: ['x'],
    body: "list_aggregate(list_sort(list(x)), 'avg')",
    note: 'Sorted first, so a re-run of a day yields the same bits',
  },
  {
    name: 'stddev_samp',
    params: ['x'],
    body: "list_aggregate(list_sort(list(x)), 'stddev_samp')",
    note: 'Sorted first, so a re-run of a day yields the same bits',
  },
  {
    name: 'approx_percentile',
    params: ['x', 'percentage'],
    body: 'quantile_cont(x, percentage)',
    note: 'Exact and interpolated locally, so local results are deterministic; Athena estimates',
  },
];

/** The `CREATE MACRO` statement of one mapping. */
export function macroStatement(macro: DialectMacro): string {
  return `CREATE OR REPLACE TEMP MACRO ${macro.name}(${macro.params.join(', ')}) AS ${macro.body}`;
}

/** Defines every Trino function the batch SQL uses on a DuckDB connection, and pins the session to UTC. */
export async function installTrinoDialect(connection: DuckDBConnection): Promise<void> {
  await connection.run("SET TimeZone = 'UTC'");
  for (const macro of TRINO_MACROS) await connection.run(macroStatement(macro));
}
