/**
 * The tests' one contract oracle: what the pipeline must do with one record, written from the event
 * contract (DESIGN.md, and the documented decisions in core/event.ts and sql/events.sql) without
 * importing core/. The fuzz tests compare the handler's behaviour with it record by record; the
 * replay recomputation (recompute.ts) and the fault tests classify event-file lines with it.
 *
 * Decisions the contract leaves to the implementation and this oracle follows: strict UTF-8 with
 * a byte order mark kept (JSON does not allow one, so the record is not JSON); ISO timestamps read
 * the way JavaScript's Date.parse reads them (day 1–31 rolls over, 24:00 is the next midnight);
 * the first broken rule in field order is the reason.
 */

export interface OracleConfig {
  readonly nowMs: number;
  readonly latenessMs: number;
  readonly maxClockSkewMs: number;
}

export interface OracleEvent {
  readonly eventId: string;
  readonly sensorId: string;
  readonly metric: string;
  readonly value: number;
  readonly eventTime: number;
  readonly unit?: string;
  readonly attributes?: Readonly<Record<string, string>>;
}

export type Expectation =
  | { readonly outcome: 'valid'; readonly event: OracleEvent }
  | { readonly outcome: 'late'; readonly event: OracleEvent }
  | { readonly outcome: 'invalid'; readonly reason: string };

/** The reasons a record can be quarantined with (the documented set). */
export const FIELDS = ['eventId', 'sensorId', 'metric', 'value', 'unit', 'timestamp', 'attributes'] as const;
export const REASONS: ReadonlySet<string> = new Set([
  'too_large',
  'not_utf8',
  'not_json',
  'not_object',
  'future_timestamp',
  'bad_aggregate',
  'too_many_lines',
  ...FIELDS.flatMap((f) => [`missing_field:${f}`, `bad_type:${f}`, `bad_value:${f}`]),
]);

const MAX_BYTES = 64 * 1024;
const LAST_MS_OF_9999 = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const invalid = (reason: string): Expectation => ({ outcome: 'invalid', reason });

function stringRule(
  doc: Record<string, unknown>,
  field: string,
  ok: (s: string) => boolean,
  required: boolean,
): string | undefined {
  const v = doc[field];
  if (v === undefined || v === null) return required ? `missing_field:${field}` : undefined;
  if (typeof v !== 'string') return `bad_type:${field}`;
  return ok(v) ? undefined : `bad_value:${field}`;
}

function eventTimeOf(ts: string | number): number | undefined {
  if (typeof ts === 'number')
    return Number.isSafeInteger(ts) && ts >= 0 && ts <= LAST_MS_OF_9999 ? ts : undefined;
  if (!ISO.test(ts)) return undefined;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) || ms < 0 || ms > LAST_MS_OF_9999 ? undefined : ms;
}

export function expectationFor(bytes: Uint8Array, config: OracleConfig): Expectation {
  if (bytes.byteLength > MAX_BYTES) return invalid('too_large');
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return invalid('not_utf8');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return invalid('not_json');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return invalid('not_object');
  const o = doc as Record<string, unknown>;
  const stringProblem =
    stringRule(o, 'eventId', (s) => s.length >= 1 && s.length <= 128, true) ??
    stringRule(o, 'sensorId', (s) => /^[A-Za-z0-9._:-]{1,128}$/.test(s), true) ??
    stringRule(o, 'metric', (s) => /^[A-Za-z0-9._-]{1,64}$/.test(s), true);
  if (stringProblem) return invalid(stringProblem);
  if (o.value === undefined || o.value === null) return invalid('missing_field:value');
  if (typeof o.value !== 'number') return invalid('bad_type:value');
  if (!Number.isFinite(o.value)) return invalid('bad_value:value');
  // DynamoDB numbers hold magnitudes 1e-130 to < 1e126; the contract keeps values (and sums) inside.
  if (o.value !== 0 && (Math.abs(o.value) < 1e-100 || Math.abs(o.value) > 1e100))
    return invalid('bad_value:value');
  const unitProblem = stringRule(o, 'unit', (s) => s.length <= 16, false);
  if (unitProblem) return invalid(unitProblem);
  const ts = o.timestamp;
  if (ts === undefined || ts === null) return invalid('missing_field:timestamp');
  if (typeof ts !== 'string' && typeof ts !== 'number') return invalid('bad_type:timestamp');
  const eventTime = eventTimeOf(ts);
  if (eventTime === undefined) return invalid('bad_value:timestamp');
  const attributes = o.attributes;
  if (attributes !== undefined && attributes !== null) {
    if (typeof attributes !== 'object' || Array.isArray(attributes)) return invalid('bad_type:attributes');
    if (Object.values(attributes).some((v) => typeof v !== 'string')) return invalid('bad_value:attributes');
  }
  if (eventTime > config.nowMs + config.maxClockSkewMs) return invalid('future_timestamp');
  const event: OracleEvent = {
    eventId: o.eventId as string,
    sensorId: o.sensorId as string,
    metric: o.metric as string,
    value: o.value,
    eventTime,
    ...(typeof o.unit === 'string' ? { unit: o.unit } : {}),
    ...(attributes ? { attributes: attributes as Record<string, string> } : {}),
  };
  return eventTime < config.nowMs - config.latenessMs
    ? { outcome: 'late', event }
    : { outcome: 'valid', event };
}

export type Checked =
  { readonly ok: true; readonly event: OracleEvent } | { readonly ok: false; readonly reason: string };

/**
 * The contract's verdict on one line of an event file, as read (UTF-8 text): the event, or why it
 * is invalid. Late events are events here; the caller compares them with its lateness.
 */
export function check(line: string, nowMs: number, maxClockSkewMs: number): Checked {
  const expectation = expectationFor(Buffer.from(line, 'utf8'), {
    nowMs,
    maxClockSkewMs,
    latenessMs: Number.POSITIVE_INFINITY,
  });
  return expectation.outcome === 'invalid'
    ? { ok: false, reason: expectation.reason }
    : { ok: true, event: expectation.event };
}

/** The starts of the event-time windows (aligned to the epoch) that cover `eventTime`, latest first. */
export function windowStartsOf(
  eventTime: number,
  window: { readonly sizeMs: number; readonly hopMs: number },
): number[] {
  const starts: number[] = [];
  for (
    let start = Math.floor(eventTime / window.hopMs) * window.hopMs;
    start > eventTime - window.sizeMs;
    start -= window.hopMs
  )
    starts.push(start);
  return starts;
}

/** One event of a record: its expectation, its bytes, and its index when the record is packed. */
export type EventExpectation = Expectation & { readonly data: Buffer; readonly index?: number };

/** Contract v1.1: an NDJSON record carries at most this many events, a record at most 1 MiB. */
const MAX_LINES = 500;
const MAX_RECORD_BYTES = 1024 * 1024;
const KPL_MAGIC = Buffer.from('f3899ac2', 'hex');

/**
 * What the pipeline must do with one Kinesis record under contract v1.1, event by event: a KPL
 * aggregate is its user records as awslabs' reference de-aggregator reads them (with checksums;
 * `bad_aggregate` when it cannot, or finds none); a record with a newline before its end that
 * does not parse whole as one JSON value is its non-empty lines (`too_many_lines` past 500,
 * `too_large` past 1 MiB); anything else is one event.
 */
export function expectationsForRecord(bytes: Uint8Array, config: OracleConfig): EventExpectation[] {
  const buffer = Buffer.from(bytes);
  const each = (parts: Buffer[]): EventExpectation[] =>
    parts.map((data, index) => ({ ...expectationFor(data, config), data, index }));
  const whole = (expectation: Expectation): EventExpectation[] => [{ ...expectation, data: buffer }];
  if (buffer.subarray(0, 4).equals(KPL_MAGIC)) {
    const users = referenceUserRecords(buffer);
    return users && users.length > 0 ? each(users) : whole(invalid('bad_aggregate'));
  }
  const single = expectationFor(buffer, config);
  const newline = buffer.indexOf(0x0a);
  if (newline === -1 || newline === buffer.length - 1) return whole(single);
  if (single.outcome !== 'invalid' || !['not_json', 'not_utf8', 'too_large'].includes(single.reason))
    return whole(single);
  if (buffer.length > MAX_RECORD_BYTES) return whole(invalid('too_large'));
  const lines = buffer
    .toString('latin1')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => Buffer.from(line, 'latin1'));
  if (lines.length > MAX_LINES) return whole(invalid('too_many_lines'));
  if (lines.length === 0) return whole(single);
  return each(lines);
}

/** The user records' data by the reference de-aggregator, or undefined when it reports an error. */
function referenceUserRecords(bytes: Buffer): Buffer[] | undefined {
  // Loaded here so that the oracle's other users do not pay for protobufjs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const reference = require('aws-kinesis-agg') as {
    deaggregateSync: (
      record: { data: string; partitionKey: string; sequenceNumber: string },
      checksums: boolean,
      done: (error: Error | null, records?: Array<{ data: string; partitionKey?: string }>) => void,
    ) => void;
  };
  let out: Buffer[] | undefined;
  try {
    reference.deaggregateSync(
      { data: bytes.toString('base64'), partitionKey: 'outer', sequenceNumber: '1' },
      true,
      (error, records) => {
        // A user record whose key index points outside the table has no partition key.
        out =
          error || (records ?? []).some((r) => typeof r.partitionKey !== 'string')
            ? undefined
            : (records ?? []).map((r) => Buffer.from(r.data, 'base64'));
      },
    );
  } catch {
    return undefined;
  }
  return out;
}
