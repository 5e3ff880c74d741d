import { createHash } from 'node:crypto';
import fc from 'fast-check';
import * as reference from 'aws-kinesis-agg';
import { MAX_EVENT_BYTES } from '../../../core/event';
import {
  decodeRecordEvents,
  KPL_MAGIC,
  kplUserRecords,
  MAX_PACKED_LINES,
  packEvents,
  packKpl,
  packNdjson,
  type DecodedRecord,
  type KplInput,
  type PackMode,
} from '../../../core/record-packing';
import { sensorEvent } from '../../helpers/factories';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const SKEW = 5 * 60_000;

const decode = (bytes: Uint8Array): DecodedRecord => decodeRecordEvents(bytes, NOW, SKEW);
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const reasons = (decoded: DecodedRecord): unknown[] =>
  decoded.subRecords.map((s) => (typeof s.result === 'string' ? s.result : s.result.eventId));

/** The part of aws-kinesis-agg's API its type declarations leave out. */
interface ReferenceModule {
  RecordAggregator: new () => {
    addUserRecord(record: { partitionKey: string; explicitHashKey?: string; data: Buffer }): void;
    build(): { partitionKey: string; data: Buffer };
  };
}

/** awslabs' reference encoder: one aggregated record of `records`. */
function referencePack(records: readonly KplInput[]): Buffer {
  const aggregator = new (reference as unknown as ReferenceModule).RecordAggregator();
  for (const r of records)
    aggregator.addUserRecord({
      partitionKey: r.partitionKey,
      ...(r.explicitHashKey === undefined ? {} : { explicitHashKey: r.explicitHashKey }),
      data: Buffer.from(r.data),
    });
  return aggregator.build().data;
}

/** awslabs' reference decoder (with checksums): the user records, or the error it reports. */
function referenceUnpack(bytes: Buffer): { partitionKey: string; explicitHashKey?: string; data: Buffer }[] {
  let out: { partitionKey: string; explicitHashKey?: string; data: Buffer }[] = [];
  reference.deaggregateSync(
    {
      data: bytes.toString('base64'),
      partitionKey: 'outer',
      sequenceNumber: '1',
      approximateArrivalTimestamp: 0,
      kinesisSchemaVersion: '1.0',
    },
    true,
    (
      error: Error | null,
      records?: { partitionKey: string; explicitPartitionKey?: string; data: string }[],
    ) => {
      if (error) throw error;
      out = (records ?? []).map((r) => ({
        partitionKey: r.partitionKey,
        ...(r.explicitPartitionKey === undefined ? {} : { explicitHashKey: r.explicitPartitionKey }),
        data: Buffer.from(r.data, 'base64'),
      }));
    },
  );
  return out;
}

/**
 * Keys that are not integers: the reference encoder lists its key tables with Object.keys, which
 * puts integer-like keys ("0", "17") first and so points user records at the wrong keys.
 */
const key = fc.string({ minLength: 0, maxLength: 40 }).map((s) => `k${s}`);
const hashKey = fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }).map((n) => `h${n}`);
const userData = fc.uint8Array({ minLength: 1, maxLength: 300 });
const userRecord = (withHashKey: boolean): fc.Arbitrary<KplInput> =>
  withHashKey
    ? fc.record({ partitionKey: key, explicitHashKey: hashKey, data: userData })
    : fc.record({ partitionKey: key, data: userData });
/**
 * User records that all have an explicit hash key or none: the reference decoder reports the
 * table's first hash key for a user record without one (protobufjs reads the absent index as 0).
 */
const userRecords = fc
  .boolean()
  .chain((withHashKey) => fc.array(userRecord(withHashKey), { minLength: 1, maxLength: 20 }));
/** Single-line JSON text of events, valid or not (no newline inside). */
const eventLine = fc.oneof(
  fc
    .record({ id: fc.string({ minLength: 1, maxLength: 20 }), value: fc.double({ noNaN: true }) })
    .map((e) => json(sensorEvent({ eventId: e.id, value: e.value }))),
  fc.string({ minLength: 1, maxLength: 60 }).map((s) => Buffer.from(s.replace(/\n/g, ' '))),
  fc.jsonValue().map((v) => json(v)),
);

describe('decodeRecordEvents: any bytes', () => {
  test('give events or reasons, never a throw, and one sub-record per event at most 500', () => {
    const kplLike = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([KPL_MAGIC, b]));
    // A body of any bytes under its right MD5: the protobuf parser meets everything broken.
    const summed = fc
      .uint8Array({ maxLength: 200 })
      .map((b) => Buffer.concat([KPL_MAGIC, b, createHash('md5').update(b).digest()]));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), kplLike, summed), (bytes) => {
        const decoded = decode(bytes);
        expect(decoded.subRecords.length).toBeGreaterThanOrEqual(1);
        expect(decoded.subRecords.length).toBeLessThanOrEqual(MAX_PACKED_LINES);
        for (const s of decoded.subRecords) expect(['string', 'object']).toContain(typeof s.result);
      }),
      { numRuns: 2000 },
    );
  });

  test('a record with the KPL magic but a wrong MD5 or broken protobuf is bad_aggregate as a whole', () => {
    const sound = packKpl([{ partitionKey: 's1', data: json(sensorEvent()) }]);
    fc.assert(
      fc.property(
        fc.integer({ min: KPL_MAGIC.length, max: sound.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (at, flip) => {
          const broken = Buffer.from(sound);
          broken[at] ^= flip;
          const decoded = decode(broken);
          expect(decoded).toEqual({
            packing: 'kpl',
            whole: true,
            subRecords: [{ data: broken, result: 'bad_aggregate' }],
          });
        },
      ),
    );
  });
});

describe('decodeRecordEvents: packing', () => {
  test('a single event (with or without a trailing newline) is one event, as in contract v1', () => {
    const event = json(sensorEvent({ eventId: 'single' }));
    for (const bytes of [event, Buffer.concat([event, Buffer.from('\n')])]) {
      const decoded = decode(bytes);
      expect(decoded.packing).toBe('single');
      expect(decoded.whole).toBe(true);
      expect(reasons(decoded)).toEqual(['single']);
    }
  });

  test('a pretty-printed event parses whole and stays one event', () => {
    const decoded = decode(Buffer.from(JSON.stringify(sensorEvent({ eventId: 'pretty' }), null, 2)));
    expect(decoded.packing).toBe('single');
    expect(reasons(decoded)).toEqual(['pretty']);
  });

  test('an NDJSON record is its lines; empty lines are no events; a bad line is its own reason', () => {
    const record = Buffer.from(
      [
        JSON.stringify(sensorEvent({ eventId: 'a' })),
        '',
        'not json',
        JSON.stringify(sensorEvent({ eventId: 'b', sensorId: 'bad id' })),
        JSON.stringify(sensorEvent({ eventId: 'c' })),
        '',
      ].join('\n'),
    );
    const decoded = decode(record);
    expect(decoded.packing).toBe('ndjson');
    expect(decoded.whole).toBe(false);
    expect(reasons(decoded)).toEqual(['a', 'not_json', 'bad_value:sensorId', 'c']);
    expect(decoded.subRecords[1].data.toString()).toBe('not json');
  });

  test('a line that is not UTF-8 is not_utf8 alone', () => {
    const record = Buffer.concat([json(sensorEvent({ eventId: 'a' })), Buffer.from([0x0a, 0xff, 0xfe])]);
    expect(reasons(decode(record))).toEqual(['a', 'not_utf8']);
  });

  test('an NDJSON record over 64 KiB is split; a line over 64 KiB is too_large alone', () => {
    const big = Buffer.alloc(MAX_EVENT_BYTES + 1, 0x20);
    const record = Buffer.concat([json(sensorEvent({ eventId: 'a' })), Buffer.from('\n'), big]);
    expect(reasons(decode(record))).toEqual(['a', 'too_large']);
  });

  test('more than 500 lines is too_many_lines for the record as a whole', () => {
    const line = json(sensorEvent({ eventId: 'x' }));
    const record = packNdjson(Array.from({ length: MAX_PACKED_LINES + 1 }, () => line));
    expect(decode(record)).toEqual({
      packing: 'ndjson',
      whole: true,
      subRecords: [{ data: record, result: 'too_many_lines' }],
    });
    expect(decode(packNdjson(Array.from({ length: MAX_PACKED_LINES }, () => line))).subRecords).toHaveLength(
      MAX_PACKED_LINES,
    );
  });

  test('a KPL record is its user records, each one event whatever it holds', () => {
    const record = packKpl([
      { partitionKey: 's1', data: json(sensorEvent({ eventId: 'a' })) },
      { partitionKey: 's2', data: Buffer.from('garbage') },
      { partitionKey: 's1', data: json(sensorEvent({ eventId: 'c' })) },
    ]);
    const decoded = decode(record);
    expect(decoded.packing).toBe('kpl');
    expect(reasons(decoded)).toEqual(['a', 'not_json', 'c']);
  });

  test('a KPL body that does not parse, under its right MD5, is bad_aggregate as a whole', () => {
    const sound = packKpl([{ partitionKey: 's1', data: json(sensorEvent()) }]);
    const body = sound.subarray(KPL_MAGIC.length, sound.length - 16);
    const summed = (b: Buffer): Buffer => Buffer.concat([KPL_MAGIC, b, createHash('md5').update(b).digest()]);
    for (const broken of [
      summed(body.subarray(0, body.length - 3)), // the user record cut short
      summed(Buffer.concat([body, Buffer.from([0x1a, 0x05, 0x08])])), // a record running past the end
      summed(Buffer.concat([body, Buffer.from([0x1a, 0x04, 0x08, 0x07, 0x1a, 0x00])])), // a key index outside the table
    ])
      expect(reasons(decode(broken))).toEqual(['bad_aggregate']);
  });

  test('a KPL aggregate without user records is bad_aggregate', () => {
    expect(decode(packKpl([])).subRecords.map((s) => s.result)).toEqual(['bad_aggregate']);
  });
});

describe('pack then decode is the identity', () => {
  test('NDJSON: the events come back in order, byte for byte', () => {
    fc.assert(
      fc.property(fc.array(eventLine, { minLength: 2, maxLength: 30 }), (lines) => {
        const events = lines.filter((l) => l.toString().trim() !== '' && l.byteLength > 0);
        fc.pre(events.length >= 2);
        const decoded = decode(packNdjson(events));
        // Two lines or more never parse whole (JSON has one value per text) unless blank.
        expect(decoded.subRecords.map((s) => Buffer.from(s.data).toString('hex'))).toEqual(
          events.map((e) => e.toString('hex')),
        );
        expect(decoded.subRecords.map((s) => s.result)).toEqual(
          events.map((e) => decode(e).subRecords[0].result),
        );
      }),
    );
  });

  test('KPL: ours decodes what the reference encoder packs', () => {
    fc.assert(
      fc.property(userRecords, (records) => {
        const unpacked = kplUserRecords(referencePack(records));
        expect(unpacked?.map((r) => ({ ...r, data: Buffer.from(r.data) }))).toEqual(
          records.map((r) => ({ ...r, data: Buffer.from(r.data) })),
        );
      }),
    );
  });

  test('KPL: the reference decodes what ours packs', () => {
    fc.assert(
      fc.property(userRecords, (records) => {
        expect(referenceUnpack(packKpl(records))).toEqual(
          records.map((r) => ({ ...r, data: Buffer.from(r.data) })),
        );
      }),
    );
  });
});

describe('packEvents', () => {
  const keyed = fc.record({ data: eventLine, partitionKey: fc.constantFrom('s1', 's2', 's3') });
  const modes = fc.constantFrom<PackMode>('none', 'ndjson', 'kpl');

  test('records decode into the same events, each key in its order, within the size limit', () => {
    fc.assert(
      fc.property(
        fc.array(keyed, { maxLength: 80 }),
        modes,
        fc.boolean(),
        fc.integer({ min: 200, max: 3000 }),
        (events, mode, perPartitionKey, maxRecordBytes) => {
          const records = packEvents(events, { mode, perPartitionKey, maxRecordBytes });
          const decoded = records.flatMap((r) => decode(r.data).subRecords.map((s) => s.result));
          const carried = records.flatMap((r) => r.events);
          expect(decoded).toEqual(carried.map((e) => decode(e.data).subRecords[0].result));
          for (const k of ['s1', 's2', 's3'])
            expect(carried.filter((e) => e.partitionKey === k)).toEqual(
              events.filter((e) => e.partitionKey === k),
            );
          for (const r of records)
            if (r.events.length > 1) expect(r.data.byteLength).toBeLessThanOrEqual(maxRecordBytes);
          if (mode !== 'none' && perPartitionKey)
            for (const r of records) expect(new Set(r.events.map((e) => e.partitionKey)).size).toBe(1);
        },
      ),
    );
  });

  test('packs about 25 events of 200 bytes into each 5 KiB record', () => {
    const events = Array.from({ length: 100 }, (_, i) => ({
      data: json(
        sensorEvent({ eventId: `e-${String(i).padStart(3, '0')}`, attributes: { site: 'x'.repeat(48) } }),
      ),
      partitionKey: 's1',
    }));
    expect(events[0].data.byteLength).toBe(200);
    for (const mode of ['ndjson', 'kpl'] as const) {
      const sizes = packEvents(events, { mode }).map((r) => r.events.length);
      expect(sizes.slice(0, -1).every((n) => n >= 23 && n <= 25)).toBe(true);
      expect(sizes.reduce((a, b) => a + b)).toBe(100);
    }
  });
});
