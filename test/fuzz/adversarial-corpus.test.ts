/**
 * A hand-written corpus of hostile records, each with the outcome worked out by hand from the
 * event contract (not from any code): through the deployed handler in one batch, every record
 * must be applied, skipped as late, or quarantined with exactly this reason.
 */
import { packKpl } from '../../core/record-packing';
import { FuzzRig, quarantineKey, toKinesisRecords, WINDOWS_PER_EVENT, type Observed } from './harness';
import { REASONS } from '../helpers/contract-oracle';
import { LIMIT_BYTES, MINUTE, NOW, paddedEvent, validDoc, type FuzzRecord } from './records';

type Outcome = 'valid' | 'late' | string;

const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
let n = 0;

/** A valid event with fields replaced; `undefined` removes a field. Each gets its own eventId. */
function doc(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  n += 1;
  const fields: Record<string, unknown> = { ...validDoc({ eventId: `corpus-${n}` }), ...overrides };
  for (const key of Object.keys(fields)) if (fields[key] === undefined) delete fields[key];
  return fields;
}
const json = (overrides: Record<string, unknown> = {}) => JSON.stringify(doc(overrides));
/** A valid event's JSON with the value literal replaced by raw text. */
const rawValue = (literal: string) => json({ value: 0 }).replace('"value":0', `"value":${literal}`);
const rawTimestamp = (literal: string) =>
  json({ timestamp: 0 }).replace('"timestamp":0', `"timestamp":${literal}`);
/** A sound KPL aggregate of one valid event with the last byte of its MD5 flipped. */
function brokenMd5(): Buffer {
  const record = packKpl([{ partitionKey: 'corpus', data: Buffer.from(json()) }]);
  record[record.length - 1] ^= 0x01;
  return record;
}
const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

const CORPUS: ReadonlyArray<readonly [string, string | Buffer, Outcome]> = [
  // Bytes and encodings
  ['empty record', '', 'not_json'],
  ['whitespace only', ' \t\r ', 'not_json'],
  ['empty lines only (no event to split out)', '\n\n', 'not_json'],
  ['valid event wrapped in JSON whitespace', ` \n\t${json()}\r\n `, 'valid'],
  ['no-break space before the event', `\u00a0${json()}`, 'not_json'],
  ['line separator after the event', `${json()}\u2028`, 'not_json'],
  ['NUL after the event', `${json()}\u0000`, 'not_json'],
  ['byte 0xFF', bytes(json(), [0xff]), 'not_utf8'],
  ['overlong NUL (C0 80)', bytes([0xc0, 0x80], json()), 'not_utf8'],
  ['CESU-8 surrogate (ED A0 80) in a string', bytes('{"eventId":"', [0xed, 0xa0, 0x80], '"}'), 'not_utf8'],
  ['multi-byte sequence cut at the end', bytes(json(), [0xe2, 0x82]), 'not_utf8'],
  ['code point above U+10FFFF', bytes(json(), [0xf4, 0x90, 0x80, 0x80]), 'not_utf8'],
  ['Latin-1 é', Buffer.from(json({ unit: 'é' }), 'latin1'), 'not_utf8'],
  ['UTF-16LE text', Buffer.from(json(), 'utf16le'), 'not_json'],
  ['UTF-8 byte order mark', bytes([0xef, 0xbb, 0xbf], json()), 'not_json'],
  ['U+FFFD written as UTF-8 in a string', json({ eventId: 'replacement \uFFFD char' }), 'valid'],
  ['two events concatenated', `${json()}${json()}`, 'not_json'],
  ['a pretty-printed event (parses whole: one event)', JSON.stringify(JSON.parse(json()), null, 2), 'valid'],
  // Packed records (contract v1.1) broken as a whole; their sound forms are in test/fuzz/handler.test.ts
  ['a KPL aggregate with a wrong MD5', brokenMd5(), 'bad_aggregate'],
  ['a KPL aggregate without user records', packKpl([]), 'bad_aggregate'],
  ['the KPL magic and nothing else', Buffer.from('f3899ac2', 'hex'), 'bad_aggregate'],
  ['an NDJSON record of 501 lines', Array.from({ length: 501 }, () => json()).join('\n'), 'too_many_lines'],
  ['single-quoted JSON', json().replace(/"/g, "'"), 'not_json'],
  ['truncated event', json().slice(0, 20), 'not_json'],
  // Not an object
  ['JSON null', 'null', 'not_object'],
  ['JSON number', '42', 'not_object'],
  ['JSON string', '"sensor-0"', 'not_object'],
  ['JSON true', 'true', 'not_object'],
  ['empty array', '[]', 'not_object'],
  ['an event inside an array', `[${json()}]`, 'not_object'],
  ['empty object', '{}', 'missing_field:eventId'],
  // Nesting and size
  ['100,000 unclosed [', '['.repeat(100_000), 'too_large'],
  ['100,000 unclosed {"a":', '{"a":'.repeat(100_000), 'too_large'],
  ['30,000 nested arrays, closed', `${'['.repeat(30_000)}1${']'.repeat(30_000)}`, 'not_object'],
  ['30,000 unclosed [', '['.repeat(30_000), 'not_json'],
  [
    '10,000 nested objects in attributes',
    json({ attributes: 0 }).replace(
      '"attributes":0',
      `"attributes":${'{"a":'.repeat(10_000)}"x"${'}'.repeat(10_000)}`,
    ),
    'bad_value:attributes',
  ],
  ['1 MiB event', paddedEvent(1024 * 1024, doc()), 'too_large'],
  ['event of exactly the limit (64 KiB)', paddedEvent(LIMIT_BYTES, doc()), 'valid'],
  ['event one byte under the limit', paddedEvent(LIMIT_BYTES - 1, doc()), 'valid'],
  ['event one byte over the limit', paddedEvent(LIMIT_BYTES + 1, doc()), 'too_large'],
  // Numbers
  ['value 1e400 (overflows to Infinity)', rawValue('1e400'), 'bad_value:value'],
  ['value 1e309 (1e308 × 10)', rawValue('1e309'), 'bad_value:value'],
  ['value -1e400', rawValue('-1e400'), 'bad_value:value'],
  ['value 1e-400 (underflows to 0)', rawValue('1e-400'), 'valid'],
  ['value 2^53 + 1', rawValue('9007199254740993'), 'valid'],
  ['value -0', rawValue('-0'), 'valid'],
  ['value 1E2', rawValue('1E2'), 'valid'],
  ['bare NaN', rawValue('NaN'), 'not_json'],
  ['bare Infinity', rawValue('Infinity'), 'not_json'],
  ['bare -Infinity', rawValue('-Infinity'), 'not_json'],
  ['value with a leading zero', rawValue('01'), 'not_json'],
  ['value with a plus sign', rawValue('+1'), 'not_json'],
  ['value .5', rawValue('.5'), 'not_json'],
  ['value 1.', rawValue('1.'), 'not_json'],
  ['hex value', rawValue('0x10'), 'not_json'],
  ['value "NaN" as a string', json({ value: 'NaN' }), 'bad_type:value'],
  ['value "Infinity" as a string', json({ value: 'Infinity' }), 'bad_type:value'],
  ['value "21.5" as a string', json({ value: '21.5' }), 'bad_type:value'],
  ['value true', json({ value: true }), 'bad_type:value'],
  ['value []', json({ value: [] }), 'bad_type:value'],
  ['value {}', json({ value: {} }), 'bad_type:value'],
  ['value null', json({ value: null }), 'missing_field:value'],
  ['no value', json({ value: undefined }), 'missing_field:value'],
  // eventId
  ['eventId a number', json({ eventId: 42 }), 'bad_type:eventId'],
  ['eventId null', json({ eventId: null }), 'missing_field:eventId'],
  ['eventId empty', json({ eventId: '' }), 'bad_value:eventId'],
  ['eventId of 128 characters', json({ eventId: 'e'.repeat(128) }), 'valid'],
  ['eventId of 129 characters', json({ eventId: 'e'.repeat(129) }), 'bad_value:eventId'],
  ['eventId of 64 emoji (128 UTF-16 units)', json({ eventId: '😀'.repeat(64) }), 'valid'],
  ['eventId of 65 emoji (130 UTF-16 units)', json({ eventId: '😀'.repeat(65) }), 'bad_value:eventId'],
  ['eventId a lone surrogate (escaped)', json({ eventId: 'x' }).replace('"x"', '"\\ud800"'), 'valid'],
  ['eventId right-to-left and zero-width', json({ eventId: '\u202eabc\u200b' }), 'valid'],
  // sensorId
  ['sensorId a number', json({ sensorId: 1 }), 'bad_type:sensorId'],
  ['sensorId an object', json({ sensorId: {} }), 'bad_type:sensorId'],
  ['no sensorId', json({ sensorId: undefined }), 'missing_field:sensorId'],
  ['sensorId with a space', json({ sensorId: 'sensor 0' }), 'bad_value:sensorId'],
  ['sensorId with an emoji', json({ sensorId: 'sensor-😀' }), 'bad_value:sensorId'],
  ['sensorId with an accent', json({ sensorId: 'sénsor-0' }), 'bad_value:sensorId'],
  ['sensorId in Hebrew (RTL)', json({ sensorId: '\u05e1\u05e0\u05e1\u05d5\u05e8' }), 'bad_value:sensorId'],
  ['sensorId with a right-to-left override', json({ sensorId: '\u202esensor-0' }), 'bad_value:sensorId'],
  ['sensorId with a zero-width space', json({ sensorId: 'sensor\u200b-0' }), 'bad_value:sensorId'],
  ['sensorId with a zero-width joiner', json({ sensorId: 'sensor\u200d0' }), 'bad_value:sensorId'],
  ['sensorId with a BOM', json({ sensorId: '\ufeffsensor-0' }), 'bad_value:sensorId'],
  ['sensorId full-width', json({ sensorId: 'ｓｅｎｓｏｒ' }), 'bad_value:sensorId'],
  ['sensorId a lone surrogate', json({ sensorId: 'x' }).replace('"x"', '"\\udfff"'), 'bad_value:sensorId'],
  ['sensorId escaped as \\u0073', json({ sensorId: 'x' }).replace('"x"', '"\\u0073ensor-0"'), 'valid'],
  ['sensorId of 128 characters', json({ sensorId: 's'.repeat(128) }), 'valid'],
  ['sensorId of 129 characters', json({ sensorId: 's'.repeat(129) }), 'bad_value:sensorId'],
  ['sensorId with every allowed punctuation', json({ sensorId: 'a:b.c_d-e' }), 'valid'],
  ['sensorId __proto__', json({ sensorId: '__proto__' }), 'valid'],
  ['sensorId constructor', json({ sensorId: 'constructor' }), 'valid'],
  // metric
  ['metric an array', json({ metric: [] }), 'bad_type:metric'],
  ['no metric', json({ metric: undefined }), 'missing_field:metric'],
  ['metric with a colon', json({ metric: 'has:colon' }), 'bad_value:metric'],
  ['metric of 64 characters', json({ metric: 'm'.repeat(64) }), 'valid'],
  ['metric of 65 characters', json({ metric: 'm'.repeat(65) }), 'bad_value:metric'],
  ['metric hasOwnProperty', json({ metric: 'hasOwnProperty' }), 'valid'],
  // unit
  ['unit of 16 characters', json({ unit: 'u'.repeat(16) }), 'valid'],
  ['unit of 17 characters', json({ unit: 'u'.repeat(17) }), 'bad_value:unit'],
  ['unit of 8 emoji (16 UTF-16 units)', json({ unit: '😀'.repeat(8) }), 'valid'],
  ['unit of 9 emoji', json({ unit: '😀'.repeat(9) }), 'bad_value:unit'],
  ['unit a number', json({ unit: 12 }), 'bad_type:unit'],
  ['unit null', json({ unit: null }), 'valid'],
  ['unit empty', json({ unit: '' }), 'valid'],
  // timestamp
  ['timestamp true', json({ timestamp: true }), 'bad_type:timestamp'],
  ['timestamp an object', json({ timestamp: {} }), 'bad_type:timestamp'],
  ['timestamp null', json({ timestamp: null }), 'missing_field:timestamp'],
  ['no timestamp', json({ timestamp: undefined }), 'missing_field:timestamp'],
  ['timestamp 1970-01-01T00:00:00Z (the epoch, old)', json({ timestamp: '1970-01-01T00:00:00Z' }), 'late'],
  ['timestamp epoch ms 0', json({ timestamp: 0 }), 'late'],
  ['timestamp epoch ms -1', json({ timestamp: -1 }), 'bad_value:timestamp'],
  ['timestamp 1 ms before the epoch', json({ timestamp: '1969-12-31T23:59:59.999Z' }), 'bad_value:timestamp'],
  [
    'timestamp 1970-01-01 at +00:01 (before the epoch)',
    json({ timestamp: '1970-01-01T00:00:00+00:01' }),
    'bad_value:timestamp',
  ],
  [
    'timestamp 9999-12-31T23:59:59.999Z (future)',
    json({ timestamp: '9999-12-31T23:59:59.999Z' }),
    'future_timestamp',
  ],
  [
    'timestamp 9999-12-31 at -01:00 (after year 9999)',
    json({ timestamp: '9999-12-31T23:59:59.999-01:00' }),
    'bad_value:timestamp',
  ],
  [
    'timestamp epoch ms of 9999-12-31T23:59:59.999Z',
    json({ timestamp: 253_402_300_799_999 }),
    'future_timestamp',
  ],
  ['timestamp epoch ms of year 10000', json({ timestamp: 253_402_300_800_000 }), 'bad_value:timestamp'],
  ['timestamp with an expanded year', json({ timestamp: '+010000-01-01T00:00:00Z' }), 'bad_value:timestamp'],
  ['timestamp on a leap day', json({ timestamp: '2024-02-29T12:00:00Z' }), 'late'],
  [
    'timestamp on 2026-02-30 (rolls over, as Date.parse does)',
    json({ timestamp: '2026-02-30T12:00:00Z' }),
    'late',
  ],
  ['timestamp 24:00 (the next midnight)', json({ timestamp: '2026-11-20T24:00:00Z' }), 'valid'],
  ['timestamp 24:00:01', json({ timestamp: '2026-11-21T24:00:01Z' }), 'bad_value:timestamp'],
  ['timestamp with a leap second', json({ timestamp: '2026-11-21T23:59:60Z' }), 'bad_value:timestamp'],
  ['timestamp at +14:00', json({ timestamp: '2026-11-22T01:59:00+14:00' }), 'valid'],
  ['timestamp at -12:00', json({ timestamp: '2026-11-20T23:59:00-12:00' }), 'valid'],
  ['timestamp at +24:00', json({ timestamp: '2026-11-21T11:59:00+24:00' }), 'bad_value:timestamp'],
  ['timestamp without a zone', json({ timestamp: '2026-11-21T11:59:00' }), 'bad_value:timestamp'],
  ['timestamp with a space for T', json({ timestamp: '2026-11-21 11:59:00Z' }), 'bad_value:timestamp'],
  ['timestamp in lower case', json({ timestamp: '2026-11-21t11:59:00z' }), 'bad_value:timestamp'],
  ['timestamp in full-width digits', json({ timestamp: '２０２６-11-21T11:59:00Z' }), 'bad_value:timestamp'],
  ['timestamp without seconds', json({ timestamp: '2026-11-21T11:59Z' }), 'valid'],
  ['timestamp with nanoseconds', json({ timestamp: '2026-11-21T11:59:00.123456789Z' }), 'valid'],
  [
    'timestamp with 10 fraction digits',
    json({ timestamp: '2026-11-21T11:59:00.1234567891Z' }),
    'bad_value:timestamp',
  ],
  [
    'timestamp at the clock-skew limit',
    json({ timestamp: new Date(NOW + 5 * MINUTE).toISOString() }),
    'valid',
  ],
  ['timestamp 1 ms past the clock skew', json({ timestamp: NOW + 5 * MINUTE + 1 }), 'future_timestamp'],
  ['timestamp a year ahead', json({ timestamp: NOW + 365 * DAY }), 'future_timestamp'],
  ['timestamp exactly the lateness ago', json({ timestamp: NOW - DAY }), 'valid'],
  ['timestamp 1 ms older than the lateness', json({ timestamp: NOW - DAY - 1 }), 'late'],
  ['timestamp epoch ms with a fraction', json({ timestamp: NOW - 0.5 }), 'bad_value:timestamp'],
  ['timestamp epoch ms written as 1795262400000.0', rawTimestamp(`${NOW - MINUTE}.0`), 'valid'],
  ['timestamp epoch ms as a string', json({ timestamp: String(NOW) }), 'bad_value:timestamp'],
  ['timestamp 1e21', json({ timestamp: 1e21 }), 'bad_value:timestamp'],
  ['timestamp 1e400', rawTimestamp('1e400'), 'bad_value:timestamp'],
  ['timestamp "now"', json({ timestamp: 'now' }), 'bad_value:timestamp'],
  // attributes
  ['attributes an array', json({ attributes: [] }), 'bad_type:attributes'],
  ['attributes a string', json({ attributes: 'x' }), 'bad_type:attributes'],
  ['attributes with a number', json({ attributes: { a: 1 } }), 'bad_value:attributes'],
  ['attributes empty', json({ attributes: {} }), 'valid'],
  ['attributes null', json({ attributes: null }), 'valid'],
  [
    'attributes with a __proto__ string',
    json({ attributes: 0 }).replace('"attributes":0', '"attributes":{"__proto__":"x"}'),
    'valid',
  ],
  [
    'attributes with a __proto__ object',
    json({ attributes: 0 }).replace('"attributes":0', '"attributes":{"__proto__":{"isAdmin":"true"}}'),
    'bad_value:attributes',
  ],
  // Duplicate keys, prototype keys, field order
  ['duplicate value key, the last a string', json().replace(/}$/, ',"value":"dup"}'), 'bad_type:value'],
  ['duplicate value key, the first a string', json().replace(/^{/, '{"value":"first",'), 'valid'],
  [
    '__proto__ key carrying a sensorId',
    json({ sensorId: undefined }).replace(/^{/, '{"__proto__":{"sensorId":"sensor-0"},'),
    'missing_field:sensorId',
  ],
  [
    'constructor.prototype key',
    json().replace(/^{/, '{"constructor":{"prototype":{"polluted":"yes"}},'),
    'valid',
  ],
  ['fields in reverse order', JSON.stringify(Object.fromEntries(Object.entries(doc()).reverse())), 'valid'],
  [
    'two broken fields: the first in contract order wins',
    '{"timestamp":"x","eventId":5}',
    'bad_type:eventId',
  ],
];

/** Reasons no record can have: unit and attributes are optional. */
const UNREACHABLE = new Set(['missing_field:unit', 'missing_field:attributes']);

const rig = new FuzzRig();
const records: FuzzRecord[] = CORPUS.map(([, payload]) => ({
  data: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
  partitionKey: 'corpus',
}));
const kinesis = toKinesisRecords(records);
let response: unknown;
let observed: Observed;

beforeAll(async () => {
  response = await rig.invoke(kinesis).catch((error: unknown) => error);
  observed = rig.observe();
});
afterAll(() => rig.destroy());

test('the batch succeeds as a whole', () => {
  expect(response).toEqual({ batchItemFailures: [] });
});

test.each(CORPUS.map(([name, , outcome], i) => [name, outcome, i] as const))(
  '%s: %s',
  (_name, outcome, i) => {
    const got = rig.results[0].outcomes[i];
    const quarantined = observed.quarantine.get(quarantineKey(kinesis[i].kinesis.sequenceNumber));
    const where = got === 'invalid' ? quarantined?.reason : got;
    expect(`${where}`).toBe(outcome);
    if (outcome === 'valid' || outcome === 'late') expect(quarantined).toBeUndefined();
    else
      expect(
        Buffer.from(quarantined!.data, quarantined!.dataEncoding === 'base64' ? 'base64' : 'utf8'),
      ).toEqual(records[i].data);
  },
);

test('the valid records, and only they, are in the aggregates, once in every window covering them', () => {
  const valid = CORPUS.filter(([, , outcome]) => outcome === 'valid').length;
  const counted = [...observed.aggregates.values()].reduce((sum, a) => sum + a.count, 0);

  expect(counted).toBe(valid * WINDOWS_PER_EVENT);
});

test('the corpus reaches every reason of the documented set that a record can have', () => {
  const reasons = new Set(CORPUS.map(([, , outcome]) => outcome));

  expect([...REASONS].filter((r) => !UNREACHABLE.has(r) && !reasons.has(r))).toEqual([]);
});

test('no record pollutes Object.prototype', () => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  expect(({} as Record<string, unknown>).sensorId).toBeUndefined();
});
