/**
 * Event contract v1 (DESIGN.md): decoding a Kinesis record and validating it.
 *
 * Never throws: any input yields either a typed event or an invalid result whose `reason` is a
 * stable, machine-readable string (quarantine, metrics and the batch SQL use the same reasons).
 */

export interface SensorEvent {
  readonly eventId: string;
  readonly sensorId: string;
  readonly metric: string;
  readonly value: number;
  readonly unit?: string;
  /** Event time, epoch milliseconds. */
  readonly eventTime: number;
  readonly attributes?: Readonly<Record<string, string>>;
}

export type InvalidReason =
  | 'too_large'
  | 'not_utf8'
  | 'not_json'
  | 'not_object'
  | 'future_timestamp'
  /** A KPL aggregated record with a wrong MD5 or a broken protobuf (core/record-packing.ts), as a whole. */
  | 'bad_aggregate'
  /** An NDJSON record of more than 500 events (core/record-packing.ts), as a whole. */
  | 'too_many_lines'
  | `missing_field:${string}`
  | `bad_type:${string}`
  | `bad_value:${string}`;

export type Validation =
  { readonly ok: true; readonly event: SensorEvent } | { readonly ok: false; readonly reason: InvalidReason };

/** Larger records are quarantined unparsed; sensor events are a few hundred bytes. */
export const MAX_EVENT_BYTES = 64 * 1024;

export const MAX_SENSOR_ID_LENGTH = 128;
export const MAX_METRIC_LENGTH = 64;
export const SENSOR_ID_PATTERN = new RegExp(`^[A-Za-z0-9._:-]{1,${MAX_SENSOR_ID_LENGTH}}$`);
export const METRIC_PATTERN = new RegExp(`^[A-Za-z0-9._-]{1,${MAX_METRIC_LENGTH}}$`);
export const MAX_EVENT_ID_LENGTH = 128;
export const MAX_UNIT_LENGTH = 16;
/** ISO-8601 date-time with a zone (`Z` or `±hh:mm`); seconds and fractions optional. */
export const ISO_TIMESTAMP_PATTERN =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
/**
 * `value` is 0 or has a magnitude in [MIN_VALUE_MAGNITUDE, MAX_VALUE_MAGNITUDE]: DynamoDB numbers
 * hold magnitudes from 1e-130 to below 1e126, and a window's sum of up to 1e25 values must fit too.
 */
export const MAX_VALUE_MAGNITUDE = 1e100;
export const MIN_VALUE_MAGNITUDE = 1e-100;
/** Epoch-millisecond timestamps must fall in years 1970–9999. */
export const MAX_EPOCH_MS = 253_402_300_799_999;

/** Strict UTF-8; a byte order mark is kept (as the lenient decoder keeps it), so it fails JSON.parse either way. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

type Fields = Record<string, unknown>;

/** The hot path's form of a validation: the event, or the reason it is invalid (no wrapper object). */
export type EventOrReason = SensorEvent | InvalidReason;

function asValidation(result: EventOrReason): Validation {
  return typeof result === 'string' ? { ok: false, reason: result } : { ok: true, event: result };
}

/** Decodes a record's bytes (or Lambda's base64 `data`) and validates the event in it. */
export function decodeRecord(data: string | Uint8Array, nowMs: number, maxClockSkewMs: number): Validation {
  return asValidation(decodeEvent(data, nowMs, maxClockSkewMs));
}

/** `decodeRecord` for the stream processor's hot loop. */
export function decodeEvent(data: string | Uint8Array, nowMs: number, maxClockSkewMs: number): EventOrReason {
  const bytes =
    typeof data === 'string'
      ? Buffer.from(data, 'base64')
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength > MAX_EVENT_BYTES) return 'too_large';
  let text = bytes.toString('utf8');
  // Lenient decoding is fast but replaces bad bytes with U+FFFD; only then check strictly.
  if (text.includes('\uFFFD')) {
    try {
      text = utf8.decode(bytes);
    } catch {
      return 'not_utf8';
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'not_json';
  }
  return checkEvent(parsed, nowMs, maxClockSkewMs);
}

function digits(text: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * Fast path for the form producers nearly always send, `YYYY-MM-DDTHH:MM:SS.sssZ` with every field
 * in its ordinary range; anything else returns `undefined` and takes the general path.
 */
function parseCanonicalIso(t: string): number | undefined {
  if (t.length !== 24 || t.charCodeAt(4) !== 45 || t.charCodeAt(7) !== 45 || t.charCodeAt(10) !== 84)
    return undefined;
  if (
    t.charCodeAt(13) !== 58 ||
    t.charCodeAt(16) !== 58 ||
    t.charCodeAt(19) !== 46 ||
    t.charCodeAt(23) !== 90
  )
    return undefined;
  const year = digits(t, 0, 4);
  const month = digits(t, 5, 2);
  const day = digits(t, 8, 2);
  const hour = digits(t, 11, 2);
  const minute = digits(t, 14, 2);
  const second = digits(t, 17, 2);
  const ms = digits(t, 20, 3);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 28 || hour < 0 || hour > 23)
    return undefined;
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0) return undefined;
  return ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** Returns the event time in epoch ms, or `undefined` when the timestamp is not allowed. */
export function parseTimestamp(timestamp: string | number): number | undefined {
  if (typeof timestamp === 'number') {
    return Number.isInteger(timestamp) && timestamp >= 0 && timestamp <= MAX_EPOCH_MS ? timestamp : undefined;
  }
  const canonical = parseCanonicalIso(timestamp);
  if (canonical !== undefined) return canonical;
  if (!ISO_TIMESTAMP_PATTERN.test(timestamp)) return undefined;
  const ms = Date.parse(timestamp);
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_EPOCH_MS ? ms : undefined;
}

const validEventId = (s: string): boolean => s.length >= 1 && s.length <= MAX_EVENT_ID_LENGTH;
/** The characters SENSOR_ID_PATTERN and METRIC_PATTERN allow, as tables: a lookup per char beats the regex engine. */
const SENSOR_ID_CHARS = charTable(SENSOR_ID_PATTERN);
const METRIC_CHARS = charTable(METRIC_PATTERN);

/** The ASCII characters that `pattern` accepts on their own (both patterns allow nothing else). */
function charTable(pattern: RegExp): Uint8Array {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) if (pattern.test(String.fromCharCode(c))) table[c] = 1;
  return table;
}

function onlyChars(s: string, table: Uint8Array, maxLength: number): boolean {
  if (s.length < 1 || s.length > maxLength) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || table[c] === 0) return false;
  }
  return true;
}

const validSensorId = (s: string): boolean => onlyChars(s, SENSOR_ID_CHARS, MAX_SENSOR_ID_LENGTH);
const validMetric = (s: string): boolean => onlyChars(s, METRIC_CHARS, MAX_METRIC_LENGTH);
const validUnit = (s: string): boolean => s.length <= MAX_UNIT_LENGTH;

function checkString(
  value: unknown,
  name: string,
  valid: (s: string) => boolean,
  required: boolean,
): InvalidReason | undefined {
  if (value === undefined || value === null) return required ? `missing_field:${name}` : undefined;
  if (typeof value !== 'string') return `bad_type:${name}`;
  return valid(value) ? undefined : `bad_value:${name}`;
}

/** Validates a parsed JSON value against the contract; the first broken rule (in field order) is the reason. */
export function validateEvent(parsed: unknown, nowMs: number, maxClockSkewMs: number): Validation {
  return asValidation(checkEvent(parsed, nowMs, maxClockSkewMs));
}

function checkEvent(parsed: unknown, nowMs: number, maxClockSkewMs: number): EventOrReason {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'not_object';
  // Named reads (not fields[name]) keep the property loads monomorphic on the hot path.
  const { eventId, sensorId, metric, value, unit, timestamp, attributes } = parsed as Fields;

  const stringProblem =
    checkString(eventId, 'eventId', validEventId, true) ??
    checkString(sensorId, 'sensorId', validSensorId, true) ??
    checkString(metric, 'metric', validMetric, true);
  if (stringProblem) return stringProblem;

  if (value === undefined || value === null) return 'missing_field:value';
  if (typeof value !== 'number') return 'bad_type:value';
  const magnitude = Math.abs(value);
  if (value !== 0 && !(magnitude >= MIN_VALUE_MAGNITUDE && magnitude <= MAX_VALUE_MAGNITUDE))
    return 'bad_value:value';

  const unitProblem = checkString(unit, 'unit', validUnit, false);
  if (unitProblem) return unitProblem;

  if (timestamp === undefined || timestamp === null) return 'missing_field:timestamp';
  if (typeof timestamp !== 'string' && typeof timestamp !== 'number') return 'bad_type:timestamp';
  const eventTime = parseTimestamp(timestamp);
  if (eventTime === undefined) return 'bad_value:timestamp';

  if (attributes !== undefined && attributes !== null) {
    if (typeof attributes !== 'object' || Array.isArray(attributes)) return 'bad_type:attributes';
    if (!Object.values(attributes).every((v) => typeof v === 'string')) return 'bad_value:attributes';
  }

  if (eventTime > nowMs + maxClockSkewMs) return 'future_timestamp';

  const event: { -readonly [K in keyof SensorEvent]: SensorEvent[K] } = {
    eventId: eventId as string,
    sensorId: sensorId as string,
    metric: metric as string,
    value,
    eventTime,
  };
  if (typeof unit === 'string') event.unit = unit;
  if (attributes) event.attributes = attributes as Record<string, string>;
  return event;
}

/** A valid event is late when it is older than `latenessMs` at processing time. */
export function isLate(event: SensorEvent, nowMs: number, latenessMs: number): boolean {
  return event.eventTime < nowMs - latenessMs;
}
