/**
 * Kinesis record payloads for the fuzz tests: random events that are valid, nearly valid or wrong
 * in every field, raw-text edits no JSON serializer makes (bare NaN, 1e400, duplicate keys, BOMs,
 * broken UTF-8, truncation), arbitrary bytes, deep nesting and payloads around the size limit.
 *
 * fast-check drives it: each run draws a seed (and batch shapes) from fast-check, and the rich
 * pieces (unicode strings, JSON values of any type, dictionaries, ids matching the contract's
 * patterns) are fast-check samples taken once. A record is then assembled from those with a PRNG
 * seeded by the run's seed, about 10 µs per record: fast-check's own per-value bookkeeping costs
 * some 300 µs per record of this shape, which 100,000 records cannot afford in the CI budget.
 * Shrinking is replaced by naming the exact failing record in the assertion message.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { packEvents, packKpl, type PackMode } from '../../core/record-packing';
import { mulberry32 } from '../../local/chaos/prng';

/** The processing time every fuzz run uses. */
export const NOW = Date.parse('2026-11-21T12:00:00.000Z');
export const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** The record size limit of the event contract (core/event.ts MAX_EVENT_BYTES). */
export const LIMIT_BYTES = 64 * 1024;

export interface FuzzRecord {
  readonly data: Buffer;
  readonly partitionKey: string;
}

/** Most valid events come from a few series, so batches fold into a bounded number of items. */
export const POOL_SENSORS = ['sensor-0', 'sensor-1', '__proto__', 'constructor'];
export const POOL_METRICS = ['temperature', 'humidity'];

/** Strings that break the sensorId / metric patterns in ways people and encoders do. */
export const HOSTILE_IDS: readonly string[] = [
  '',
  ' ',
  'sensor 1',
  ' sensor-1',
  'sénsor-1',
  'sensor-😀',
  '\u202esensor-1', // right-to-left override
  '\u05e1\u05e0\u05e1\u05d5\u05e8', // Hebrew (RTL script)
  'sensor\u200b-1', // zero-width space
  'sensor\u200d1', // zero-width joiner
  '\ufeffsensor-1',
  '\ud800', // lone high surrogate
  '\udfff', // lone low surrogate
  'sensor-\ud83d', // emoji cut in half
  'x'.repeat(129),
  'a/b',
  'a#b',
  'a|b',
  'tab\tbed',
  'line\nbreak',
  '\u0000',
  'ｓｅｎｓｏｒ', // full-width
];

/** Partition keys: Kinesis allows 1–256 Unicode characters; these are all legal ones. */
export const HOSTILE_PARTITION_KEYS: readonly string[] = [
  'sensor-😀',
  '\u202eRTL',
  'zero\u200bwidth',
  'k'.repeat(256),
  '__proto__',
  'constructor',
  ' ',
  '日本語',
];

const iso = (ms: number) => new Date(ms).toISOString();

/** Timestamps at and around every edge the contract has. */
export const EDGE_TIMESTAMPS: readonly unknown[] = [
  '1970-01-01T00:00:00Z',
  '1970-01-01T00:00:00.000Z',
  '1969-12-31T23:59:59.999Z',
  '1970-01-01T00:00:00+00:01',
  '9999-12-31T23:59:59.999Z',
  '9999-12-31T23:59:59.999-01:00',
  '+010000-01-01T00:00:00Z',
  '2024-02-29T12:00:00Z',
  '2023-02-29T12:00:00Z',
  '2026-02-30T12:00:00Z',
  '2026-04-31T00:00:00Z',
  '2026-11-20T24:00:00Z',
  '2026-11-21T24:00:00.000Z',
  '2026-11-21T24:00:01Z',
  '2026-11-21T23:59:60Z',
  '2026-11-21T11:59:00+14:00',
  '2026-11-21T11:59:00-12:00',
  '2026-11-22T01:59:00+14:00',
  '2026-11-20T23:59:00-12:00',
  '2026-11-21T11:59:00+24:00',
  '2026-11-21T11:59:00+99:99',
  '2026-11-21T11:59:00',
  '2026-11-21 11:59:00Z',
  '2026-11-21T11:59Z',
  '2026-11-21T11:59:00.123456789Z',
  '2026-11-21T11:59:00.1234567891Z',
  '2026-13-01T00:00:00Z',
  '2026-00-10T00:00:00Z',
  '2026-11-21t11:59:00z',
  '２０２６-11-21T11:59:00Z',
  '',
  'now',
  iso(NOW),
  iso(NOW + 5 * MINUTE),
  iso(NOW + 5 * MINUTE + 1),
  iso(NOW - DAY),
  iso(NOW - DAY - 1),
  NOW,
  NOW + 5 * MINUTE,
  NOW + 5 * MINUTE + 1,
  NOW + 365 * DAY,
  NOW - 0.5,
  NOW + 0.5,
  -1,
  -NOW,
  0,
  253_402_300_799_999,
  253_402_300_800_000,
  Number.MAX_SAFE_INTEGER,
  2 ** 53 + 2,
  1e21,
  String(NOW),
];

/**
 * Numbers anywhere in a generated document stay within what DynamoDB can store (magnitude 1e-130
 * to below 1e126), their sums too. Values outside that range are valid by the contract but cannot
 * be stored: storable-values.test.ts covers them.
 */
export function storable(value: unknown): unknown {
  if (typeof value === 'number')
    return value !== 0 && (Math.abs(value) < 1e-100 || Math.abs(value) > 1e100) ? Math.sign(value) : value;
  if (Array.isArray(value)) return value.map(storable);
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setKey(copy, k, storable(v));
    return copy;
  }
  return value;
}

/** `doc[key] = value`, except that `__proto__` becomes a key rather than the prototype. */
function setKey(doc: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(doc, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Rich values sampled once from fast-check arbitraries (fixed seed, so runs are reproducible). */
const POOL_SEED = 7_2026;
const sample = <T>(arbitrary: fc.Arbitrary<T>, numRuns: number): T[] =>
  fc.sample(arbitrary, { seed: POOL_SEED, numRuns });
const POOLS = {
  // Any code point, lone surrogates included (fc.string's 'binary' unit takes a second to build).
  unicode: sample(
    fc
      .array(fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0, max: 0x10ffff })), {
        maxLength: 140,
      })
      .map((points) => String.fromCodePoint(...points)),
    400,
  ),
  // Not unit 'grapheme': building that arbitrary takes seconds. Clusters that matter, hand-picked.
  graphemes: sample(
    fc.string({
      unit: fc.constantFrom(
        'a',
        'Z',
        '9',
        '-',
        'é',
        'e\u0301',
        '😀',
        '👩‍👩‍👧',
        '🇺🇳',
        '\u200d',
        '\u202e',
        '\u05d0',
        '\ufeff',
      ),
      maxLength: 24,
    }),
    200,
  ),
  sensorIds: sample(fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/), 150),
  metrics: sample(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), 80),
  json: sample(fc.jsonValue({ maxDepth: 3 }).map(storable), 400),
  stringMaps: sample(
    fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 4 }),
    100,
  ),
  anyMaps: sample(
    fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }).map(storable), {
      minKeys: 1,
      maxKeys: 3,
    }),
    60,
  ),
  dates: sample(
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    100,
  ),
  doubles: sample(fc.double(), 200),
  values: sample(
    fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((v) => storable(v) as number),
    300,
  ),
};

/** Random choices from a seeded PRNG (mulberry32). */
export class Dice {
  /** A float in [0, 1). */
  readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** One of the options, by weight. */
  weighted<T>(options: ReadonlyArray<readonly [number, () => T]>): T {
    const total = options.reduce((n, [w]) => n + w, 0);
    let roll = this.next() * total;
    for (const [weight, make] of options) {
      if (roll < weight) return make();
      roll -= weight;
    }
    return options[options.length - 1][1]();
  }
}

/** Any JSON value at all: the wrong type for most fields. */
const anyJson = (d: Dice): unknown => d.pick(POOLS.json);

/** A field: usually valid, sometimes absent, null, hostile or of any type. */
function field(d: Dice, valid: () => unknown, hostile: readonly unknown[] = []): unknown {
  return d.weighted<unknown>([
    [40, valid],
    [1, () => undefined],
    [1, () => null],
    [1, () => anyJson(d)],
    [hostile.length > 0 ? 2 : 0, () => d.pick(hostile)],
  ]);
}

/** A time near processing time: valid unless past the clock skew or older than the lateness. */
const recentMs = (d: Dice) => NOW - d.int(0, 60_000) + d.int(0, 20_000);

function withOffset(ms: number, offsetMinutes: number): string {
  const local = new Date(ms + offsetMinutes * MINUTE).toISOString().slice(0, 23);
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${offsetMinutes < 0 ? '-' : '+'}${hh}:${mm}`;
}

function timestamp(d: Dice): unknown {
  return d.weighted<unknown>([
    [12, () => iso(recentMs(d))],
    [8, () => recentMs(d)],
    [
      3,
      () => withOffset(recentMs(d), d.int(-12, 14) * 60 + d.pick([0, 0, 30, 45]) * (d.chance(0.5) ? 1 : -1)),
    ],
    [1, () => iso(recentMs(d)).slice(0, 19) + 'Z'],
    [1, () => iso(recentMs(d)).slice(0, 16) + 'Z'],
    [1, () => iso(recentMs(d)).replace('Z', `${d.int(0, 999_999)}Z`)],
    [2, () => NOW - DAY - d.int(1, 6 * 60 * MINUTE)],
    [1, () => iso(NOW + 5 * MINUTE + d.int(1, 60 * MINUTE))],
    [4, () => d.pick(EDGE_TIMESTAMPS)],
    [1, () => d.pick(POOLS.dates)],
    [1, () => d.pick(POOLS.doubles)],
  ]);
}

function value(d: Dice): unknown {
  return d.weighted<unknown>([
    [6, () => d.pick(POOLS.values)],
    [3, () => d.int(-1000, 1000)],
    [
      1,
      () =>
        d.pick([
          0,
          -0,
          2 ** 53 + 1,
          -(2 ** 53),
          1e100,
          -1e100,
          1e-100,
          0.1,
          0.30000000000000004,
          999.99,
          1000.01,
        ]),
    ],
  ]);
}

function attributes(d: Dice): unknown {
  return d.weighted<unknown>([
    [6, () => d.pick(POOLS.stringMaps)],
    [1, () => JSON.parse('{"__proto__":"polluted","constructor":"c","toString":"t"}')],
    [1, () => JSON.parse('{"__proto__":{"isAdmin":"true"}}')],
    [1, () => d.pick(POOLS.anyMaps)],
    [1, () => [d.pick(POOLS.unicode)]],
    [1, () => d.pick(POOLS.unicode)],
  ]);
}

/** An event-shaped document, every field drawn independently. */
export function eventDoc(d: Dice): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  if (d.chance(0.05)) {
    for (const key of ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'])
      if (d.chance(0.4)) setKey(doc, key, anyJson(d));
  }
  const fields: Record<string, unknown> = {
    eventId: field(
      d,
      () =>
        d.chance(0.8) ? `e-${d.int(0, 1e9)}` : d.pick(d.chance(0.5) ? POOLS.unicode : POOLS.graphemes) || 'x',
      ['', 'e'.repeat(128), 'e'.repeat(129), '\ud800', '😀'.repeat(64), '😀'.repeat(65), '\u0000'],
    ),
    sensorId: field(d, () => (d.chance(0.97) ? d.pick(POOL_SENSORS) : d.pick(POOLS.sensorIds)), HOSTILE_IDS),
    metric: field(d, () => (d.chance(0.97) ? d.pick(POOL_METRICS) : d.pick(POOLS.metrics)), [
      ...HOSTILE_IDS,
      'm'.repeat(64),
      'm'.repeat(65),
      'has:colon',
    ]),
    value: field(d, () => value(d), ['20', '', 'NaN', 'Infinity', '1e400', true, [], {}, [1]]),
    unit: d.weighted<unknown>([
      [6, () => d.pick([undefined, 'C', '%', 'hPa'])],
      [2, () => d.pick(POOLS.graphemes)],
      [1, () => d.pick([null, '', '😀'.repeat(8), '😀'.repeat(9), 'u'.repeat(16), 'u'.repeat(17), 12, {}])],
    ]),
    timestamp: field(d, () => timestamp(d), [true, [], {}, 'x', [NOW]]),
    attributes: d.chance(0.15) ? attributes(d) : undefined,
  };
  // Fields in a random order now and then: the reason must not depend on key order.
  const keys = Object.keys(fields);
  if (d.chance(0.1)) keys.reverse();
  for (const key of keys) if (fields[key] !== undefined) setKey(doc, key, fields[key]);
  return doc;
}

/** Raw-text edits JSON.stringify never makes. */
type TextMutation = (json: string, d: Dice) => string | Buffer;

const LITERAL = /(-?[0-9.eE+-]+|"(?:[^"\\]|\\.)*"|null|true|false)/;
const replaceField =
  (name: string, literal: string): TextMutation =>
  (json) =>
    json.replace(new RegExp(`"${name}":${LITERAL.source}`), `"${name}":${literal}`);

const TEXT_MUTATIONS: readonly TextMutation[] = [
  ...[
    'NaN',
    'Infinity',
    '-Infinity',
    '1e400',
    '1e309',
    '-1e400',
    '1e-400',
    '9007199254740993',
    '-0',
    '1E2',
  ].map((literal) => replaceField('value', literal)),
  ...['01', '+1', '.5', '1.', '0x10', '1_000', "'1'", 'undefined'].map((literal) =>
    replaceField('value', literal),
  ),
  ...['1e400', '-0', `${NOW}.0`, `${NOW}e0`, `${NOW / 1000}e3`, 'NaN'].map((literal) =>
    replaceField('timestamp', literal),
  ),
  // Duplicate keys: JSON.parse keeps the last one.
  (json) => json.replace(/}$/, ',"value":"duplicate"}'),
  (json) => json.replace(/}$/, `,"sensorId":"sensor-1","value":1,"timestamp":${NOW}}`),
  (json) => json.replace(/^{/, '{"value":"first",'),
  (json) => json.replace(/^{/, '{"__proto__":{"sensorId":"polluted"},'),
  (json) => json.replace(/^{/, '{"constructor":{"prototype":{"polluted":"yes"}},'),
  // Whitespace JSON allows, and some it does not.
  (json) => ` \t\r\n${json}\n\r\t `,
  (json) => `\u00a0${json}`,
  (json) => `${json}\u2028`,
  (json) => `${json}\u0000`,
  (json) => json.replace(/,/g, ' ,\n '),
  // Byte order marks and broken UTF-8.
  (json) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]),
  (json) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(json)]),
  (json) => Buffer.concat([Buffer.from(json), Buffer.from([0xff])]),
  (json) => Buffer.concat([Buffer.from([0xc0, 0x80]), Buffer.from(json)]),
  (json) =>
    Buffer.concat([Buffer.from(json.slice(0, -1)), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('}')]),
  (json) => Buffer.concat([Buffer.from(json), Buffer.from([0xe2, 0x82])]),
  (json) => Buffer.concat([Buffer.from(json), Buffer.from([0xf4, 0x90, 0x80, 0x80])]),
  (json) => Buffer.from(json, 'latin1'),
  (json) => Buffer.from(json, 'utf16le'),
  (json) => json.replace(/"eventId":"/, '"eventId":"\\ud800'),
  (json) => json.replace(/"eventId":"/, '"eventId":"\\u0000\\uFFFD'),
  (json) => json.replace(/"eventId":"/, '"eventId":"\uFFFD'),
  (json) => json.replace(/"sensorId":"/, '"sensorId":"\\u0073'),
  // Structure broken.
  (json, d) => json.slice(0, d.int(0, json.length)),
  (json) => json.slice(0, -1),
  (json) => `[${json}]`,
  (json) => `${json}${json}`,
  (json) => `${json}\n${json}`,
  (json) => json.replace(/"/g, "'"),
  () => '',
  () => ' ',
  () => 'null',
  () => '"a string"',
  () => '42',
  () => 'true',
  () => '{}',
  () => '[]',
];

function nested(d: Dice): string {
  const depth = d.chance(0.5) ? d.int(1, 100) : d.int(100, 20_000);
  const [open, close] = d.pick([
    ['[', ']'],
    ['{"a":', '}'],
    ['{"attributes":', '}'],
  ]);
  return open.repeat(depth) + (d.chance(0.7) ? '1' + close.repeat(depth) : '');
}

/** A valid event padded with whitespace to exactly `size` bytes (valid JSON at any size). */
export function paddedEvent(size: number, doc: Record<string, unknown>): Buffer {
  const json = JSON.stringify(doc);
  return Buffer.from(json + ' '.repeat(Math.max(0, size - Buffer.byteLength(json))));
}

export function validDoc(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: 'e-1',
    sensorId: 'sensor-0',
    metric: 'temperature',
    value: 21.5,
    timestamp: NOW - MINUTE,
    ...overrides,
  };
}

function randomBytes(d: Dice, length: number): Buffer {
  const bytes = Buffer.alloc(length + 3);
  for (let i = 0; i < length; i += 4) bytes.writeUInt32LE(Math.floor(d.next() * 4_294_967_296), i);
  return bytes.subarray(0, length);
}

/** Any payload a producer could put in a record. */
export function payload(d: Dice): Buffer {
  return d.weighted<Buffer>([
    [60, () => Buffer.from(JSON.stringify(eventDoc(d)))],
    [
      20,
      () => {
        const out = d.pick(TEXT_MUTATIONS)(JSON.stringify(eventDoc(d)), d);
        return Buffer.isBuffer(out) ? out : Buffer.from(out);
      },
    ],
    [
      5,
      () => {
        const bytes = Buffer.from(JSON.stringify(eventDoc(d)));
        if (bytes.length > 0) bytes[d.int(0, bytes.length - 1)] ^= 1 << d.int(0, 7);
        return bytes;
      },
    ],
    [5, () => randomBytes(d, d.int(0, 300))],
    [3, () => Buffer.from(d.pick(POOLS.unicode))],
    [1, () => Buffer.from(nested(d))],
    [
      0.5,
      () =>
        paddedEvent(
          d.pick([LIMIT_BYTES - 1, LIMIT_BYTES, LIMIT_BYTES + 1, 2 * LIMIT_BYTES]),
          validDoc({ eventId: `big-${d.int(0, 1e6)}`, value: d.int(0, 1000), timestamp: recentMs(d) }),
        ),
    ],
  ]);
}

/** The sensor id a payload names, if it is JSON with a string sensorId (for the partition key). */
function sensorIdOf(data: Buffer): string | undefined {
  if (data.length > LIMIT_BYTES) return undefined;
  try {
    const doc: unknown = JSON.parse(data.toString('utf8'));
    const id = (doc as { sensorId?: unknown } | null)?.sensorId;
    return typeof id === 'string' && id.length > 0 && id.length <= 256 ? id : undefined;
  } catch {
    return undefined;
  }
}

/** A record: its payload and the partition key the producer chose (usually the sensor id). */
export function fuzzRecord(d: Dice): FuzzRecord {
  const data = payload(d);
  const roll = d.int(0, 99);
  const sensorId = roll < 90 ? sensorIdOf(data) : undefined;
  return { data, partitionKey: sensorId ?? (roll < 95 ? d.pick(HOSTILE_PARTITION_KEYS) : `pk-${roll}`) };
}

/** `count` records from one seed. */
export function fuzzRecords(seed: number, count: number): FuzzRecord[] {
  const d = new Dice(seed);
  return Array.from({ length: count }, () => fuzzRecord(d));
}

/** A KPL aggregate of `records` broken one of the ways a wire or a producer breaks one. */
function brokenAggregate(d: Dice, records: readonly FuzzRecord[]): Buffer {
  const sound = packKpl(records);
  const body = sound.subarray(4, sound.length - 16);
  const summed = (b: Buffer): Buffer =>
    Buffer.concat([sound.subarray(0, 4), b, createHash('md5').update(b).digest()]);
  const flipped = Buffer.from(sound);
  flipped[d.int(4, flipped.length - 1)] ^= 1 << d.int(0, 7);
  return d.pick([
    () => flipped, // a flipped bit: the MD5 no longer matches
    () => sound.subarray(0, sound.length - d.int(1, 16)), // trailer cut short
    () => summed(body.subarray(0, d.int(0, body.length - 1))), // protobuf cut short, MD5 of what is left
    () => summed(Buffer.concat([body, Buffer.from([0x1a, 0xff, 0x7f])])), // a field running past the end
    () => summed(Buffer.from(Array.from({ length: d.int(0, 64) }, () => d.int(0, 255)))), // random body
    () => sound.subarray(0, d.int(4, 19)), // magic and too little after it
  ])();
}

/**
 * Contract v1.1 traffic from fuzz records: runs of them packed into NDJSON or KPL records (of up
 * to 64 KiB), some aggregates broken, the rest left single. Each record's events are what the
 * oracle (`expectationsForRecord`) reads from it.
 */
export function packSome(records: readonly FuzzRecord[], seed: number): FuzzRecord[] {
  const d = new Dice(seed ^ 0x5a5a5a5a);
  const out: FuzzRecord[] = [];
  for (let i = 0; i < records.length;) {
    const take = Math.min(records.length - i, d.int(2, 40));
    const run = records.slice(i, i + take);
    const roll = d.int(0, 99);
    if (roll < 40) {
      out.push(records[i]);
      i += 1;
      continue;
    }
    i += take;
    if (roll < 45) {
      out.push({ data: brokenAggregate(d, run), partitionKey: run[0].partitionKey });
      continue;
    }
    const mode: PackMode = roll < 75 ? 'ndjson' : 'kpl';
    const maxRecordBytes = d.pick([1024, 5 * 1024, 64 * 1024]);
    for (const packed of packEvents(run, { mode, maxRecordBytes }))
      out.push({ data: Buffer.from(packed.data), partitionKey: packed.partitionKey });
  }
  return out;
}
