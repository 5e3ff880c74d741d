import fc from 'fast-check';
import {
  decodeRecord,
  isLate,
  MAX_EVENT_BYTES,
  METRIC_PATTERN,
  parseTimestamp,
  SENSOR_ID_PATTERN,
  validateEvent,
} from '../../../core/event';
import { sensorEvent } from '../../helpers/factories';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const SKEW = 5 * 60_000;

function decodeJson(value: unknown) {
  return decodeRecord(Buffer.from(JSON.stringify(value)), NOW, SKEW);
}

describe('decodeRecord', () => {
  test('decodes a valid base64 record into a typed event with event time in ms', () => {
    const data = Buffer.from(JSON.stringify(sensorEvent({ eventId: 'e1', value: 3.5 }))).toString('base64');
    const result = decodeRecord(data, NOW, SKEW);
    expect(result).toEqual({
      ok: true,
      event: expect.objectContaining({
        eventId: 'e1',
        value: 3.5,
        eventTime: Date.parse('2026-11-21T10:00:00Z'),
      }),
    });
  });

  test('accepts epoch-millisecond timestamps', () => {
    const result = decodeJson(sensorEvent({ timestamp: 1_700_000_000_123 }));
    expect(result.ok && result.event.eventTime).toBe(1_700_000_000_123);
  });

  test('accepts ISO timestamps with an offset and converts them to UTC', () => {
    const result = decodeJson(sensorEvent({ timestamp: '2026-11-21T12:00:00+02:00' }));
    expect(result.ok && result.event.eventTime).toBe(Date.parse('2026-11-21T10:00:00Z'));
  });

  test('keeps unit and attributes when present', () => {
    const result = decodeJson(sensorEvent({ unit: 'C', attributes: { site: 'a' } }));
    expect(result.ok && result.event).toMatchObject({ unit: 'C', attributes: { site: 'a' } });
  });

  test.each([
    ['not_json', Buffer.from('{"eventId": ')],
    ['not_utf8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['not_object', Buffer.from('[1,2]')],
    ['not_object', Buffer.from('null')],
    ['too_large', Buffer.alloc(MAX_EVENT_BYTES + 1, 0x20)],
  ])('rejects with %s', (reason, bytes) => {
    expect(decodeRecord(bytes, NOW, SKEW)).toEqual({ ok: false, reason });
  });

  test.each([
    ['missing_field:eventId', { eventId: undefined }],
    ['missing_field:eventId', { eventId: null }],
    ['bad_type:eventId', { eventId: 7 }],
    ['bad_value:eventId', { eventId: '' }],
    ['bad_value:eventId', { eventId: 'x'.repeat(129) }],
    ['missing_field:sensorId', { sensorId: undefined }],
    ['bad_value:sensorId', { sensorId: 'has space' }],
    ['bad_value:sensorId', { sensorId: 's'.repeat(129) }],
    ['bad_type:metric', { metric: ['t'] }],
    ['bad_value:metric', { metric: 'temp:c' }],
    ['missing_field:value', { value: undefined }],
    ['bad_type:value', { value: '21.5' }],
    ['bad_type:unit', { unit: 5 }],
    ['bad_value:unit', { unit: 'u'.repeat(17) }],
    ['missing_field:timestamp', { timestamp: undefined }],
    ['bad_type:timestamp', { timestamp: true }],
    ['bad_value:timestamp', { timestamp: '2026-11-21 10:00:00' }],
    ['bad_value:timestamp', { timestamp: '2026-11-21T10:00:00' }],
    ['bad_value:timestamp', { timestamp: '2026-13-45T10:00:00Z' }],
    ['bad_value:timestamp', { timestamp: 1.5 }],
    ['bad_value:timestamp', { timestamp: -1 }],
    ['bad_type:attributes', { attributes: 'site=a' }],
    ['bad_value:attributes', { attributes: { floor: 3 } }],
  ])('reports %s', (reason, overrides) => {
    expect(decodeJson(sensorEvent(overrides))).toEqual({ ok: false, reason });
  });

  test('rejects a value that overflows to Infinity', () => {
    const text = JSON.stringify(sensorEvent({ value: 1 })).replace('"value":1', '"value":1e400');
    expect(decodeRecord(Buffer.from(text), NOW, SKEW)).toEqual({ ok: false, reason: 'bad_value:value' });
  });

  test.each([[1e101], [-1e101], [1e-101], [-5e-324]])(
    'rejects a value DynamoDB cannot hold with room for sums: %s',
    (value) => {
      expect(decodeJson(sensorEvent({ value }))).toEqual({ ok: false, reason: 'bad_value:value' });
    },
  );

  test.each([[0], [-0], [1e100], [-1e100], [1e-100], [-1e-100]])('accepts the value %s', (value) => {
    expect(decodeJson(sensorEvent({ value })).ok).toBe(true);
  });

  test('a byte order mark makes a record not_json, whether or not it also needs strict decoding', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const plain = Buffer.concat([bom, Buffer.from(JSON.stringify(sensorEvent({})))]);
    const withReplacement = Buffer.concat([
      bom,
      Buffer.from(JSON.stringify(sensorEvent({ eventId: 'e\uFFFD' }))),
    ]);
    expect(decodeRecord(plain, NOW, SKEW)).toEqual({ ok: false, reason: 'not_json' });
    expect(decodeRecord(withReplacement, NOW, SKEW)).toEqual({ ok: false, reason: 'not_json' });
  });

  test('rejects events further in the future than the allowed clock skew', () => {
    const tooFar = new Date(NOW + SKEW + 1).toISOString();
    expect(decodeJson(sensorEvent({ timestamp: tooFar }))).toEqual({ ok: false, reason: 'future_timestamp' });
  });

  test('accepts events exactly at the clock-skew limit', () => {
    expect(decodeJson(sensorEvent({ timestamp: NOW + SKEW })).ok).toBe(true);
  });

  test('reports the first broken rule in field order', () => {
    expect(decodeJson({ eventId: 'a', sensorId: 'bad id', metric: '', value: 'x' })).toEqual({
      ok: false,
      reason: 'bad_value:sensorId',
    });
  });

  test('never throws and always returns a valid event or a reason, for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const result = decodeRecord(bytes, NOW, SKEW);
        return result.ok ? typeof result.event.eventId === 'string' : typeof result.reason === 'string';
      }),
      { numRuns: 2000 },
    );
  });

  test('never throws for any JSON value, including near-valid events', () => {
    const nearValid = fc.record(
      {
        eventId: fc.oneof(fc.string({ maxLength: 140 }), fc.jsonValue()),
        sensorId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,10}$/), fc.jsonValue()),
        metric: fc.oneof(fc.constantFrom('temperature', 'humidity'), fc.jsonValue()),
        value: fc.oneof(fc.double(), fc.jsonValue()),
        timestamp: fc.oneof(
          fc.integer(),
          fc.date().map((d) => (isNaN(d.getTime()) ? 'x' : d.toISOString())),
          fc.jsonValue(),
        ),
        attributes: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(nearValid, fc.jsonValue()), (value) => {
        const result = decodeRecord(Buffer.from(JSON.stringify(value) ?? 'undefined'), NOW, SKEW);
        if (!result.ok) return /^[a-z_]+(:[A-Za-z]+)?$/.test(result.reason);
        return Number.isFinite(result.event.value) && Number.isInteger(result.event.eventTime);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('isLate', () => {
  test('an event older than the lateness is late, one just inside is not', () => {
    const late = validateEvent(sensorEvent({ timestamp: NOW - 3_600_001 }), NOW, SKEW);
    const onTime = validateEvent(sensorEvent({ timestamp: NOW - 3_600_000 }), NOW, SKEW);
    expect(late.ok && isLate(late.event, NOW, 3_600_000)).toBe(true);
    expect(onTime.ok && isLate(onTime.event, NOW, 3_600_000)).toBe(false);
  });
});

describe('sensor id and metric rules', () => {
  test('sensor ids and metrics are accepted exactly when their documented patterns match', () => {
    const text = fc.string({
      unit: fc.constantFrom(...'aZ09._:-/ é\u0000\u007f\u0080'.split('')),
      maxLength: 140,
    });
    fc.assert(
      fc.property(text, text, (sensorId, metric) => {
        const result = decodeJson(sensorEvent({ sensorId, metric }));
        const expected = !SENSOR_ID_PATTERN.test(sensorId)
          ? 'bad_value:sensorId'
          : !METRIC_PATTERN.test(metric)
            ? 'bad_value:metric'
            : 'ok';
        return (result.ok ? 'ok' : result.reason) === expected;
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseTimestamp', () => {
  test('the fast path for canonical ISO timestamps agrees with Date.parse', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        (d) => {
          const iso = d.toISOString();
          return parseTimestamp(iso) === Date.parse(iso);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('out-of-range fields fall back to the general rules', () => {
    expect(parseTimestamp('2026-02-30T10:00:00.000Z')).toBe(Date.parse('2026-02-30T10:00:00.000Z'));
    expect(parseTimestamp('2026-11-21T10:60:00.000Z')).toBeUndefined();
    expect(parseTimestamp('2026-13-21T10:00:00.000Z')).toBeUndefined();
  });
});
