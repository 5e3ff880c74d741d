/**
 * Fuzzing `decodeRecord` on its own: arbitrary bytes never make it throw, every reason is one of
 * the documented set, and its verdict on any payload (fast-check's arbitrary bytes and JSON, and
 * the fuzz generator's adversarial records) is the contract oracle's.
 */
import fc from 'fast-check';
import { decodeRecord } from '../../core/event';
import { describeRecord, ORACLE_CONFIG } from './harness';
import { expectationFor, REASONS } from '../helpers/contract-oracle';
import { fuzzRecords, NOW, validDoc } from './records';

const SKEW = ORACLE_CONFIG.maxClockSkewMs;
const SEED = 4_242;

/** The oracle's verdict as decodeRecord states it (late events are valid events to the decoder). */
function oracleVerdict(bytes: Uint8Array): string {
  const expectation = expectationFor(bytes, ORACLE_CONFIG);
  return expectation.outcome === 'invalid' ? expectation.reason : 'ok';
}

function verdict(bytes: Uint8Array | string): string {
  const result = decodeRecord(bytes, NOW, SKEW);
  return result.ok ? 'ok' : result.reason;
}

test('never throws on arbitrary bytes, and always answers with an event or a documented reason', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      const result = decodeRecord(bytes, NOW, SKEW);
      expect(result.ok || REASONS.has(result.reason)).toBe(true);
    }),
    { seed: SEED, numRuns: 20_000 },
  );
});

test('agrees with the contract on arbitrary JSON documents and on objects shaped almost like events', () => {
  const nearEvent = fc.record(
    {
      eventId: fc.oneof(fc.string({ maxLength: 130 }), fc.jsonValue()),
      sensorId: fc.oneof(
        fc.constantFrom('sensor-1', 'a:b.c_d-e'),
        fc.string({ maxLength: 130 }),
        fc.jsonValue(),
      ),
      metric: fc.oneof(fc.constant('temperature'), fc.string({ maxLength: 66 }), fc.jsonValue()),
      value: fc.oneof(fc.double(), fc.jsonValue()),
      unit: fc.oneof(fc.string({ maxLength: 18 }), fc.jsonValue()),
      timestamp: fc.oneof(
        fc.integer({ min: -1, max: NOW + 3_600_000 }),
        fc.date().map(String),
        fc.jsonValue(),
      ),
      attributes: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), nearEvent), (doc) => {
      const bytes = Buffer.from(JSON.stringify(doc) ?? 'undefined');
      expect(verdict(bytes)).toBe(oracleVerdict(bytes));
    }),
    { seed: SEED + 1, numRuns: 10_000 },
  );
});

test('agrees with the contract on every adversarial record of the fuzz generator', () => {
  const disagreements: string[] = [];
  for (const record of fuzzRecords(SEED + 2, 30_000)) {
    const got = verdict(record.data);
    const want = oracleVerdict(record.data);
    if (got !== want && disagreements.length < 3)
      disagreements.push(`decodeRecord says ${got}, contract says ${want}: ${describeRecord(record)}`);
  }
  expect(disagreements).toEqual([]);
});

test("gives the same verdict on Lambda's base64 data as on the raw bytes", () => {
  for (const record of fuzzRecords(SEED + 3, 3_000))
    expect(verdict(record.data.toString('base64'))).toBe(verdict(record.data));
});

// Found by the fuzz: strict UTF-8 decoding (taken only when the lenient decode produced U+FFFD)
// used to strip a leading byte order mark that the lenient one keeps, so a BOM made a record
// not_json unless it also held a U+FFFD character somewhere, and then it was valid.
test('a byte order mark gives the same verdict whether or not the record contains U+FFFD', () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  const plain = Buffer.concat([bom, Buffer.from(JSON.stringify(validDoc({ eventId: 'plain' })))]);
  const withReplacementChar = Buffer.concat([
    bom,
    Buffer.from(JSON.stringify(validDoc({ eventId: 'with \uFFFD' }))),
  ]);

  expect(verdict(plain)).toBe('not_json');
  expect(verdict(withReplacementChar)).toBe(verdict(plain));
});
