/**
 * The batch SQL (sql/events.sql on DuckDB) accepts exactly the records the event contract of
 * core/event.ts accepts. Records are landed as one raw object (arrival 2024-03-01 12:00 UTC), the
 * job builds 2024-02-29 and 2024-03-01, and the event ids in `events` are compared with the ids of
 * the records `decodeRecord` accepts whose event day is one of those two days. Every record has a
 * unique event id, so a record wrongly dropped or wrongly kept shows up.
 *
 * The batch reference clock for future timestamps is the end of the arrival hour + 15 minutes
 * (sql/events.sql), so `decodeRecord` is called with that `nowMs`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { decodeRecord } from '../../../core/event';
import { LocalLake } from '../../../local/batch/duckdb-runner';
import { writeRawObject } from '../../../local/firehose';

const ARRIVAL_MS = Date.parse('2024-03-01T12:00:00Z');
const NOW_MS = ARRIVAL_MS + 3_600_000 + 900_000;
const SKEW_MS = 300_000;
const DAYS = new Set(['2024-02-29', '2024-03-01']);

async function sqlAcceptedIds(records: readonly Uint8Array[]): Promise<string[]> {
  const lakeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-validity-'));
  const lake = await LocalLake.open({ lakeDir, maxClockSkewMs: SKEW_MS });
  try {
    await writeRawObject(lakeDir, 'validity', records, ARRIVAL_MS);
    await lake.runRange('2024-02-29', '2024-03-01');
    const rows = await lake.query('SELECT event_id FROM events');
    return rows.map((r) => String(r.event_id)).sort();
  } finally {
    lake.close();
    fs.rmSync(lakeDir, { recursive: true, force: true });
  }
}

function contractAcceptedIds(records: readonly Uint8Array[]): string[] {
  const ids: string[] = [];
  for (const record of records) {
    const result = decodeRecord(record, NOW_MS, SKEW_MS);
    if (result.ok && DAYS.has(new Date(result.event.eventTime).toISOString().slice(0, 10)))
      ids.push(result.event.eventId);
  }
  return ids.sort();
}

const base = (id: string): Record<string, unknown> => ({
  eventId: id,
  sensorId: 'sensor-1',
  metric: 'temperature',
  value: 21.5,
  timestamp: '2024-03-01T10:00:00Z',
});
const text = (value: unknown): Uint8Array =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

/** Named edge cases of every rule; the id of case n is `c<n>` unless the case is about the id. */
const EDGE_CASES: ReadonlyArray<readonly [string, (id: string) => Uint8Array]> = [
  ['a valid event', (id) => text(base(id))],
  ['extra fields', (id) => text({ ...base(id), extra: { nested: [1, 2] } })],
  ['an extra array of strings', (id) => text({ ...base(id), tags: ['a', 'b,', ']'] })],
  ['surrounding whitespace', (id) => text(`  ${JSON.stringify(base(id))}\t`)],
  ['not JSON', (id) => text(`${id} not json`)],
  ['a JSON array', (id) => text([base(id)])],
  ['a JSON string', (id) => text(JSON.stringify(JSON.stringify(base(id))))],
  ['truncated JSON', (id) => text(JSON.stringify(base(id)).slice(0, -1))],
  ['NaN value token', (id) => text(JSON.stringify(base(id)).replace('21.5', 'NaN'))],
  ['Infinity value token', (id) => text(JSON.stringify(base(id)).replace('21.5', '-Infinity'))],
  ['a trailing comma', (id) => text(JSON.stringify(base(id)).replace(/}$/, ',}'))],
  ['NaN inside a string', (id) => text({ ...base(id), unit: 'NaN,]' })],
  ['an overflowing value', (id) => text(JSON.stringify(base(id)).replace('21.5', '1e400'))],
  ['a value too large for DynamoDB', (id) => text(JSON.stringify(base(id)).replace('21.5', '1e101'))],
  ['the largest value allowed', (id) => text(JSON.stringify(base(id)).replace('21.5', '-1e100'))],
  ['a value too small for DynamoDB', (id) => text(JSON.stringify(base(id)).replace('21.5', '5e-324'))],
  ['the smallest value allowed', (id) => text(JSON.stringify(base(id)).replace('21.5', '1e-100'))],
  ['a zero value', (id) => text(JSON.stringify(base(id)).replace('21.5', '-0'))],
  ['a value in exponent form', (id) => text(JSON.stringify(base(id)).replace('21.5', '-2.5E-3'))],
  ['a string value', (id) => text({ ...base(id), value: '21.5' })],
  ['a null value', (id) => text({ ...base(id), value: null })],
  ['a missing value', (id) => text({ ...base(id), value: undefined })],
  ['a boolean value', (id) => text({ ...base(id), value: true })],
  ['an empty event id', () => text(base(''))],
  ['a numeric event id', () => text({ ...base('x'), eventId: 12345 })],
  ['an event id of 128 chars', (id) => text(base(id.padEnd(128, 'x')))],
  ['an event id of 129 chars', (id) => text(base(id.padEnd(129, 'x')))],
  [
    'an event id of 64 emoji (128 UTF-16 units)',
    (id) => text(base(`${id}-`.padEnd(64 * 2 - 4, 'x') + '😀😀')),
  ],
  ['an event id of 65 emoji (130 UTF-16 units)', (id) => text(base(id + '-' + '😀'.repeat(64)))],
  ['an event id with escapes', (id) => text(base(`${id}"\\\n\u0001é`))],
  ['a sensor id with every allowed char', (id) => text({ ...base(id), sensorId: 'aZ09._:-' })],
  ['a sensor id with a space', (id) => text({ ...base(id), sensorId: 'sensor 1' })],
  ['a sensor id with a trailing newline', (id) => text({ ...base(id), sensorId: 'sensor-1\n' })],
  ['a sensor id of 128 chars', (id) => text({ ...base(id), sensorId: 's'.repeat(128) })],
  ['a sensor id of 129 chars', (id) => text({ ...base(id), sensorId: 's'.repeat(129) })],
  [
    'a sensor id in \\u escapes',
    (id) => text(JSON.stringify(base(id)).replace('"sensor-1"', '"\\u0073ensor-1"')),
  ],
  ['a metric with a colon', (id) => text({ ...base(id), metric: 'temp:c' })],
  ['a metric of 64 chars', (id) => text({ ...base(id), metric: 'm'.repeat(64) })],
  ['a metric of 65 chars', (id) => text({ ...base(id), metric: 'm'.repeat(65) })],
  ['a null sensor id', (id) => text({ ...base(id), sensorId: null })],
  ['a unit of 16 chars', (id) => text({ ...base(id), unit: 'u'.repeat(16) })],
  ['a unit of 17 chars', (id) => text({ ...base(id), unit: 'u'.repeat(17) })],
  ['a unit of 8 emoji', (id) => text({ ...base(id), unit: '😀'.repeat(8) })],
  ['a unit of 9 emoji', (id) => text({ ...base(id), unit: '😀'.repeat(9) })],
  ['an empty unit', (id) => text({ ...base(id), unit: '' })],
  ['a null unit', (id) => text({ ...base(id), unit: null })],
  ['a numeric unit', (id) => text({ ...base(id), unit: 5 })],
  ['epoch milliseconds', (id) => text({ ...base(id), timestamp: Date.parse('2024-02-29T23:59:59.999Z') })],
  [
    'epoch milliseconds in exponent form',
    (id) => text(JSON.stringify({ ...base(id), timestamp: 0 }).replace(':0', ':1.709e12')),
  ],
  ['fractional epoch milliseconds', (id) => text({ ...base(id), timestamp: 1709251200000.5 })],
  ['negative epoch milliseconds', (id) => text({ ...base(id), timestamp: -1 })],
  ['epoch seconds as a string', (id) => text({ ...base(id), timestamp: '1709251200' })],
  ['a boolean timestamp', (id) => text({ ...base(id), timestamp: true })],
  ['a null timestamp', (id) => text({ ...base(id), timestamp: null })],
  ['ISO without seconds', (id) => text({ ...base(id), timestamp: '2024-03-01T10:00Z' })],
  ['ISO with 9 fraction digits', (id) => text({ ...base(id), timestamp: '2024-03-01T10:00:00.123456789Z' })],
  [
    'ISO with 10 fraction digits',
    (id) => text({ ...base(id), timestamp: '2024-03-01T10:00:00.1234567891Z' }),
  ],
  ['ISO with a positive offset', (id) => text({ ...base(id), timestamp: '2024-03-01T01:30:00+02:00' })],
  [
    'ISO with a negative offset across midnight',
    (id) => text({ ...base(id), timestamp: '2024-02-29T23:30:00-00:45' }),
  ],
  ['ISO with offset -00:00', (id) => text({ ...base(id), timestamp: '2024-03-01T00:00:00-00:00' })],
  ['ISO with offset +24:00', (id) => text({ ...base(id), timestamp: '2024-03-01T10:00:00+24:00' })],
  ['ISO with offset +0200', (id) => text({ ...base(id), timestamp: '2024-03-01T10:00:00+0200' })],
  ['ISO without a zone', (id) => text({ ...base(id), timestamp: '2024-03-01T10:00:00' })],
  ['ISO with a space', (id) => text({ ...base(id), timestamp: '2024-03-01 10:00:00Z' })],
  ['ISO date only', (id) => text({ ...base(id), timestamp: '2024-03-01' })],
  ['ISO lowercase z', (id) => text({ ...base(id), timestamp: '2024-03-01T10:00:00z' })],
  ['February 30 (rolls over to March 1)', (id) => text({ ...base(id), timestamp: '2024-02-30T10:00:00Z' })],
  ['February 31 (rolls over to March 2)', (id) => text({ ...base(id), timestamp: '2024-02-31T10:00:00Z' })],
  ['day 32', (id) => text({ ...base(id), timestamp: '2024-02-32T10:00:00Z' })],
  ['day 00', (id) => text({ ...base(id), timestamp: '2024-03-00T10:00:00Z' })],
  ['month 13', (id) => text({ ...base(id), timestamp: '2024-13-01T10:00:00Z' })],
  ['24:00 (next midnight)', (id) => text({ ...base(id), timestamp: '2024-02-29T24:00Z' })],
  ['24:00:00.000', (id) => text({ ...base(id), timestamp: '2024-02-29T24:00:00.000Z' })],
  ['24:00:00.0001', (id) => text({ ...base(id), timestamp: '2024-02-29T24:00:00.0001Z' })],
  ['24:01', (id) => text({ ...base(id), timestamp: '2024-02-29T24:01Z' })],
  ['minute 60', (id) => text({ ...base(id), timestamp: '2024-03-01T10:60:00Z' })],
  ['second 60', (id) => text({ ...base(id), timestamp: '2024-03-01T10:00:60Z' })],
  ['at the future limit', (id) => text({ ...base(id), timestamp: NOW_MS + SKEW_MS })],
  ['just past the future limit', (id) => text({ ...base(id), timestamp: NOW_MS + SKEW_MS + 1 })],
  [
    'ISO just past the future limit',
    (id) => text({ ...base(id), timestamp: new Date(NOW_MS + SKEW_MS + 1).toISOString() }),
  ],
  [
    'attributes of strings',
    (id) => text({ ...base(id), attributes: { site: 'a', 'k"ey': 'v\\al', ü: '😀' } }),
  ],
  ['empty attributes', (id) => text({ ...base(id), attributes: {} })],
  ['null attributes', (id) => text({ ...base(id), attributes: null })],
  ['an attribute that is a number', (id) => text({ ...base(id), attributes: { site: 'a', floor: 3 } })],
  ['an attribute that is null', (id) => text({ ...base(id), attributes: { site: null } })],
  ['an attribute that is an object', (id) => text({ ...base(id), attributes: { site: { a: 'b' } } })],
  ['attributes as an array', (id) => text({ ...base(id), attributes: ['a'] })],
  ['attributes as an array of strings', (id) => text({ ...base(id), attributes: ['a', 'b'] })],
  ['attributes as a string', (id) => text({ ...base(id), attributes: 'site=a' })],
  ['a record over 64 KiB', (id) => text({ ...base(id), padding: 'p'.repeat(65_536) })],
  [
    'a record of exactly 64 KiB',
    (id) =>
      text(
        JSON.stringify({ ...base(id), p: '' }).replace(
          '"p":""',
          `"p":"${'p'.repeat(65_536 - JSON.stringify({ ...base(id), p: '' }).length)}"`,
        ),
      ),
  ],
  [
    'bytes that are not UTF-8',
    (id) => Buffer.concat([text(JSON.stringify(base(id)).slice(0, -2)), Buffer.from([0xff, 0x22, 0x7d])]),
  ],
  ['a control character outside strings', (id) => text(`${JSON.stringify(base(id))}\u0001`)],
  ['a byte order mark', (id) => text(`\uFEFF${JSON.stringify(base(id))}`)],
  ['an empty record', () => text('')],
];

describe('event validity in the batch SQL', () => {
  test('agrees with core/event.ts on every edge case', async () => {
    const records = EDGE_CASES.map(([, make], n) => make(`c${n}`));

    const sql = await sqlAcceptedIds(records);
    const contract = contractAcceptedIds(records);

    const name = (id: string): string => {
      const n = EDGE_CASES.findIndex(
        (_, i) => id.startsWith(`c${i}`) && !/^\d/.test(id.slice(`c${i}`.length)),
      );
      return n >= 0 ? EDGE_CASES[n][0] : id;
    };
    expect({ acceptedOnlyBySql: sql.filter((id) => !contract.includes(id)).map(name) }).toEqual({
      acceptedOnlyBySql: [],
    });
    expect({ acceptedOnlyByContract: contract.filter((id) => !sql.includes(id)).map(name) }).toEqual({
      acceptedOnlyByContract: [],
    });
    expect(contract.length).toBeGreaterThanOrEqual(25);
  });

  test('agrees with core/event.ts on generated records', async () => {
    const twoDigits = (lo: number, hi: number): fc.Arbitrary<string> =>
      fc.integer({ min: lo, max: hi }).map((n) => String(n).padStart(2, '0'));
    const isoTimestamp = fc
      .record({
        date: fc.constantFrom(
          '2024-02-28',
          '2024-02-29',
          '2024-02-30',
          '2024-02-31',
          '2024-03-01',
          '2024-03-00',
          '2024-13-01',
        ),
        hour: twoDigits(0, 25),
        minute: twoDigits(0, 60),
        second: fc.option(twoDigits(0, 60)),
        fraction: fc.option(
          fc.string({ unit: fc.constantFrom('0', '1', '5', '9'), minLength: 0, maxLength: 10 }),
        ),
        zone: fc.oneof(
          fc.constant('Z'),
          fc.constant(''),
          fc
            .tuple(fc.constantFrom('+', '-'), twoDigits(0, 25), twoDigits(0, 60))
            .map(([s, h, m]) => `${s}${h}:${m}`),
        ),
      })
      .map(({ date, hour, minute, second, fraction, zone }) => {
        const seconds = second === null ? '' : `:${second}${fraction === null ? '' : `.${fraction}`}`;
        return `${date}T${hour}:${minute}${seconds}${zone}`;
      });
    const epoch = fc.oneof(
      fc.integer({ min: Date.parse('2024-02-28T00:00:00Z'), max: NOW_MS + 2 * SKEW_MS }),
      fc.double({
        min: Date.parse('2024-02-29T00:00:00Z'),
        max: Date.parse('2024-03-01T12:00:00Z'),
        noNaN: true,
      }),
      fc.constantFrom(-1, 0, NOW_MS + SKEW_MS, NOW_MS + SKEW_MS + 1),
    );
    const anyString = (maxLength: number): fc.Arbitrary<string> =>
      fc.oneof(
        fc.string({ maxLength }),
        fc.string({ unit: 'grapheme', maxLength }),
        fc.string({ unit: 'binary', maxLength }),
      );
    const field = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
      fc.oneof(
        { weight: 8, arbitrary: valid },
        { weight: 1, arbitrary: fc.constantFrom(null, undefined, 7, true, [], {}) },
        { weight: 1, arbitrary: anyString(20) },
      );
    const event = fc.record({
      idSuffix: fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 1, arbitrary: anyString(140) }),
      sensorId: field(
        fc.string({ unit: fc.constantFrom(...'aZ09._:- é/'.split('')), minLength: 0, maxLength: 130 }),
      ),
      metric: field(
        fc.string({ unit: fc.constantFrom(...'mX1._-:'.split('')), minLength: 0, maxLength: 66 }),
      ),
      value: field(fc.double({ noNaN: true, noDefaultInfinity: true })),
      unit: fc.oneof(fc.constant(undefined), field(anyString(18))),
      timestamp: field(fc.oneof(isoTimestamp, epoch)),
      tags: fc.option(fc.array(anyString(4), { maxLength: 3 })),
      attributes: fc.oneof(
        fc.constant(undefined),
        field(
          fc.dictionary(
            anyString(6),
            fc.oneof({ weight: 9, arbitrary: anyString(6) }, { weight: 1, arbitrary: fc.integer() }),
          ),
        ),
      ),
    });

    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 50, maxLength: 200 }), async (events) => {
        const records = events.map((e, i) =>
          text({
            eventId: `g${i}:${e.idSuffix}`,
            sensorId: e.sensorId,
            metric: e.metric,
            value: e.value,
            unit: e.unit,
            timestamp: e.timestamp,
            attributes: e.attributes,
            ...(e.tags === null ? {} : { tags: e.tags }),
          }),
        );
        expect(await sqlAcceptedIds(records)).toEqual(contractAcceptedIds(records));
      }),
      { numRuns: 12, seed: 20241121 },
    );
  });
});
