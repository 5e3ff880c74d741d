/**
 * Event contract v1.1 (DESIGN.md "Packed records"): a Kinesis record carries one event, several
 * events as NDJSON lines, or a KPL aggregated record. This module unpacks a record into its
 * sub-records and decodes each as an event (core/event.ts), and packs events into records for
 * producers. Pure and total: any bytes give sub-records with events or reasons, never a throw.
 *
 * - **KPL** (magic `F3 89 9A C2`, protobuf `AggregatedRecord`, 16-byte MD5 of the protobuf body):
 *   each user record's data is one event. A wrong MD5, a broken protobuf or an aggregate without
 *   user records is `bad_aggregate`, for the record as a whole. Decoded by hand (about 80 lines for
 *   the four fields the format has) rather than through a protobuf library: the speed layer's hot
 *   path needs no schema compiler or reflection, and the property tests check this decoder and
 *   `packKpl` against awslabs' reference implementation (`aws-kinesis-agg`, a test dependency only).
 *   MD5 comes from `node:crypto`, a deterministic function like the SHA-256 of core/alerts.ts.
 * - **NDJSON**: a record that holds a newline before its end and does not parse whole as one JSON
 *   value is split at `\n`; each non-empty line is an event, indexed from 0 in the order of the
 *   lines. A record that parses whole (a pretty-printed event) stays one event. More than
 *   `MAX_PACKED_LINES` lines is `too_many_lines` and more than `MAX_PACKED_BYTES` is `too_large`,
 *   both for the record as a whole.
 * - Anything else is one event, exactly as in contract v1.
 */
import { createHash } from 'node:crypto';
import { decodeEvent, MAX_EVENT_BYTES, type EventOrReason } from './event';

export const KPL_MAGIC = Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2);
const MD5_BYTES = 16;
/** The most events one NDJSON record may carry (Firehose's own cap on record de-aggregation). */
export const MAX_PACKED_LINES = 500;
/** The largest record: a Kinesis record holds at most 1 MiB. */
export const MAX_PACKED_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

export type RecordPacking = 'single' | 'ndjson' | 'kpl';

/** Reasons that quarantine a record as a whole rather than one of its events. */
export type RecordReason = 'bad_aggregate' | 'too_many_lines' | 'too_large';

export interface SubRecord {
  /** The sub-record's own bytes (the whole record for a single event or a record bad as a whole). */
  readonly data: Uint8Array;
  readonly result: EventOrReason;
}

export interface DecodedRecord {
  readonly packing: RecordPacking;
  /**
   * Every event of the record, in order; a record bad as a whole is one sub-record holding the
   * whole record and its reason, with `whole` set.
   */
  readonly subRecords: readonly SubRecord[];
  /** True when the record is a single event or is quarantined as a whole (no sub-record index). */
  readonly whole: boolean;
}

function asBytes(data: string | Uint8Array): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'base64');
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function wholeRecord(packing: RecordPacking, bytes: Uint8Array, result: EventOrReason): DecodedRecord {
  return { packing, subRecords: [{ data: bytes, result }], whole: true };
}

export function isKplRecord(bytes: Uint8Array): boolean {
  return (
    bytes.byteLength >= KPL_MAGIC.length &&
    bytes[0] === KPL_MAGIC[0] &&
    bytes[1] === KPL_MAGIC[1] &&
    bytes[2] === KPL_MAGIC[2] &&
    bytes[3] === KPL_MAGIC[3]
  );
}

/** Decodes a record's bytes (or Lambda's base64 `data`) into its events (see the module comment). */
export function decodeRecordEvents(
  data: string | Uint8Array,
  nowMs: number,
  maxClockSkewMs: number,
): DecodedRecord {
  const bytes = asBytes(data);
  const single = decodeSingleEvent(bytes, nowMs, maxClockSkewMs);
  return single === undefined
    ? decodePackedRecord(bytes, nowMs, maxClockSkewMs)
    : wholeRecord('single', bytes, single);
}

/**
 * The hot path's first step (no allocation beyond the event): the event of a record that holds one,
 * or `undefined` for a KPL record or NDJSON lines, which `decodePackedRecord` then decodes.
 */
export function decodeSingleEvent(
  bytes: Buffer,
  nowMs: number,
  maxClockSkewMs: number,
): EventOrReason | undefined {
  if (isKplRecord(bytes)) return undefined;
  const newline = bytes.indexOf(NEWLINE);
  if (newline === -1 || newline === bytes.byteLength - 1) return decodeEvent(bytes, nowMs, maxClockSkewMs);
  // A newline inside: one event if the record parses whole (any JSON value), else NDJSON lines.
  if (bytes.byteLength > MAX_EVENT_BYTES) return undefined;
  const whole = decodeEvent(bytes, nowMs, maxClockSkewMs);
  return whole === 'not_json' || whole === 'not_utf8' ? undefined : whole;
}

/** A record `decodeSingleEvent` found not to be one event: a KPL aggregate or NDJSON lines. */
export function decodePackedRecord(bytes: Buffer, nowMs: number, maxClockSkewMs: number): DecodedRecord {
  if (isKplRecord(bytes)) {
    const userRecords = kplUserRecords(bytes);
    if (userRecords === undefined) return wholeRecord('kpl', bytes, 'bad_aggregate');
    const subRecords = userRecords.map((r) => ({
      data: r.data,
      result: decodeEvent(r.data, nowMs, maxClockSkewMs),
    }));
    return { packing: 'kpl', subRecords, whole: false };
  }
  if (bytes.byteLength > MAX_PACKED_BYTES) return wholeRecord('ndjson', bytes, 'too_large');
  const lines = ndjsonLines(bytes);
  if (lines.length > MAX_PACKED_LINES) return wholeRecord('ndjson', bytes, 'too_many_lines');
  // Only empty lines: nothing to split, the record is one (invalid) event as in contract v1.
  if (lines.length === 0) return wholeRecord('single', bytes, decodeEvent(bytes, nowMs, maxClockSkewMs));
  const subRecords = lines.map((line) => ({ data: line, result: decodeEvent(line, nowMs, maxClockSkewMs) }));
  return { packing: 'ndjson', subRecords, whole: false };
}

/** The non-empty lines of a record, split at `\n` (a trailing newline ends the last line). */
export function ndjsonLines(bytes: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  while (start < bytes.byteLength) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end === -1) end = bytes.byteLength;
    if (end > start) lines.push(bytes.subarray(start, end));
    start = end + 1;
  }
  return lines;
}

// --- KPL: protobuf wire format, the subset AggregatedRecord uses -------------------------------

/** One user record of a KPL aggregate. */
export interface KplUserRecord {
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  readonly data: Buffer;
}

/** Thrown inside the decoder only, caught by `kplUserRecords`. */
class BrokenProtobuf extends Error {
  public override readonly name = 'BrokenProtobuf';
}

class Reader {
  position: number;
  constructor(
    private readonly bytes: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.position = start;
  }

  get done(): boolean {
    return this.position >= this.end;
  }

  /** A varint of at most 53 bits (indices and lengths; larger is broken for our purposes). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.position >= this.end) throw new BrokenProtobuf('varint runs past the end');
      const byte = this.bytes[this.position++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER) throw new BrokenProtobuf('varint too large');
        return value;
      }
      scale *= 128;
    }
    throw new BrokenProtobuf('varint too long');
  }

  /** A length-delimited field's bounds. */
  delimited(): { start: number; end: number } {
    const length = this.varint();
    const start = this.position;
    if (length > this.end - start) throw new BrokenProtobuf('field runs past the end');
    this.position = start + length;
    return { start, end: start + length };
  }

  /** Skips a field of a later version (or tags); a group (3) up to its end (4), as protobuf readers do. */
  skip(wireType: number, field = 0, depth = 0): void {
    if (wireType === 0) this.varint();
    else if (wireType === 2) this.delimited();
    else if (wireType === 1 || wireType === 5) {
      const size = wireType === 1 ? 8 : 4;
      if (size > this.end - this.position) throw new BrokenProtobuf('fixed field runs past the end');
      this.position += size;
    } else if (wireType === 3 && depth < 100) {
      for (;;) {
        if (this.done) throw new BrokenProtobuf('group runs past the end');
        const key = this.varint();
        if ((key & 7) === 4) {
          if (Math.floor(key / 8) !== field) throw new BrokenProtobuf('group ends with another field');
          return;
        }
        this.skip(key & 7, Math.floor(key / 8), depth + 1);
      }
    } else throw new BrokenProtobuf(`wire type ${wireType}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(bytes: Buffer, at: { start: number; end: number }): string {
  try {
    return utf8.decode(bytes.subarray(at.start, at.end));
  } catch {
    throw new BrokenProtobuf('key is not UTF-8');
  }
}

interface RawUserRecord {
  partitionKeyIndex?: number;
  explicitHashKeyIndex?: number;
  data?: Buffer;
}

function readUserRecord(bytes: Buffer, at: { start: number; end: number }): RawUserRecord {
  const reader = new Reader(bytes, at.start, at.end);
  const record: RawUserRecord = {};
  while (!reader.done) {
    const key = reader.varint();
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    if (field === 1 && wireType === 0) record.partitionKeyIndex = reader.varint();
    else if (field === 2 && wireType === 0) record.explicitHashKeyIndex = reader.varint();
    else if (field === 3 && wireType === 2) {
      const span = reader.delimited();
      record.data = bytes.subarray(span.start, span.end);
    } else reader.skip(wireType, field); // tags (4) and fields of later versions
  }
  return record;
}

/**
 * The user records of a KPL aggregated record, or `undefined` when it is not a sound aggregate
 * (too short, wrong MD5, broken protobuf, an index outside its table, no user records).
 */
export function kplUserRecords(bytes: Buffer): KplUserRecord[] | undefined {
  const bodyEnd = bytes.byteLength - MD5_BYTES;
  if (bodyEnd < KPL_MAGIC.length) return undefined;
  const body = bytes.subarray(KPL_MAGIC.length, bodyEnd);
  if (!createHash('md5').update(body).digest().equals(bytes.subarray(bodyEnd))) return undefined;
  try {
    const partitionKeys: string[] = [];
    const hashKeys: string[] = [];
    const raw: RawUserRecord[] = [];
    const reader = new Reader(bytes, KPL_MAGIC.length, bodyEnd);
    while (!reader.done) {
      const key = reader.varint();
      const field = Math.floor(key / 8);
      const wireType = key & 7;
      if (field === 1 && wireType === 2) partitionKeys.push(text(bytes, reader.delimited()));
      else if (field === 2 && wireType === 2) hashKeys.push(text(bytes, reader.delimited()));
      else if (field === 3 && wireType === 2) raw.push(readUserRecord(bytes, reader.delimited()));
      else reader.skip(wireType, field);
    }
    if (raw.length === 0) return undefined;
    const records: KplUserRecord[] = [];
    for (const r of raw) {
      if (r.partitionKeyIndex === undefined || r.partitionKeyIndex >= partitionKeys.length) return undefined;
      if (r.data === undefined) return undefined;
      if (r.explicitHashKeyIndex !== undefined && r.explicitHashKeyIndex >= hashKeys.length) return undefined;
      const explicitHashKey =
        r.explicitHashKeyIndex === undefined ? undefined : hashKeys[r.explicitHashKeyIndex];
      records.push({
        partitionKey: partitionKeys[r.partitionKeyIndex],
        ...(explicitHashKey === undefined ? {} : { explicitHashKey }),
        data: r.data,
      });
    }
    return records;
  } catch (error) {
    if (error instanceof BrokenProtobuf) return undefined;
    throw error;
  }
}

// --- Packing (producers) -------------------------------------------------------------------------

function varintBytes(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function delimitedField(field: number, payload: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from([...varintBytes(field * 8 + 2), ...varintBytes(payload.byteLength)]),
    payload,
  ]);
}

function varintField(field: number, value: number): Buffer {
  return Buffer.from([...varintBytes(field * 8), ...varintBytes(value)]);
}

export interface KplInput {
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  readonly data: Uint8Array;
}

/** A KPL aggregated record of `records`, in order (keys go into the tables once each). */
export function packKpl(records: readonly KplInput[]): Buffer {
  const partitionKeys = new Map<string, number>();
  const hashKeys = new Map<string, number>();
  const index = (table: Map<string, number>, key: string): number => {
    let i = table.get(key);
    if (i === undefined) {
      i = table.size;
      table.set(key, i);
    }
    return i;
  };
  const userRecords = records.map((r) =>
    Buffer.concat([
      varintField(1, index(partitionKeys, r.partitionKey)),
      ...(r.explicitHashKey === undefined ? [] : [varintField(2, index(hashKeys, r.explicitHashKey))]),
      delimitedField(3, r.data),
    ]),
  );
  const body = Buffer.concat([
    ...[...partitionKeys.keys()].map((k) => delimitedField(1, Buffer.from(k, 'utf8'))),
    ...[...hashKeys.keys()].map((k) => delimitedField(2, Buffer.from(k, 'utf8'))),
    ...userRecords.map((r) => delimitedField(3, r)),
  ]);
  return Buffer.concat([KPL_MAGIC, body, createHash('md5').update(body).digest()]);
}

/** An NDJSON record of single-line events (no trailing newline: raw landing appends one). */
export function packNdjson(events: readonly Uint8Array[]): Buffer {
  const parts: Uint8Array[] = [];
  events.forEach((event, i) => {
    if (i > 0) parts.push(Buffer.from('\n'));
    parts.push(event);
  });
  return Buffer.concat(parts);
}

// --- Packing policy (producers) ------------------------------------------------------------------

export type PackMode = 'none' | 'ndjson' | 'kpl';
export const PACK_MODES: readonly PackMode[] = ['none', 'ndjson', 'kpl'];

/**
 * Firehose bills each record as at least 5 KB (and Kinesis on-demand as at least 1 KB): a packed
 * record up to this size costs no more than one event alone.
 */
export const DEFAULT_PACKED_RECORD_BYTES = 5 * 1024;

/** An event as a producer puts it: its bytes and its partition key. */
export interface KeyedEvent {
  readonly data: Uint8Array;
  readonly partitionKey: string;
}

export interface PackOptions {
  readonly mode: PackMode;
  /** Largest packed record (its data), bytes; an event larger than this goes alone. @default 5 KiB */
  readonly maxRecordBytes?: number;
  /**
   * Pack only events of one partition key together, so a record keeps its events' key: each
   * sensor's events stay in one shard in their order (as the KPL keeps them, aggregating per
   * predicted shard), and above parallelization factor 1 in one lane. @default false
   */
  readonly perPartitionKey?: boolean;
}

/** A record to put and the events it carries, in order. */
export interface PackedRecord<T extends KeyedEvent> {
  readonly data: Uint8Array;
  readonly partitionKey: string;
  readonly events: readonly T[];
}

const alone = <T extends KeyedEvent>(event: T): PackedRecord<T> => ({
  data: event.data,
  partitionKey: event.partitionKey,
  events: [event],
});

/** KPL's framing (magic + MD5) and a bound on each user record's and new key's protobuf overhead. */
const KPL_FRAME_BYTES = KPL_MAGIC.length + MD5_BYTES;
const KPL_RECORD_OVERHEAD = 11;
const KPL_KEY_OVERHEAD = 3;

/**
 * Packs events into records (see `PackOptions`); the records' events, in order, are `events`. An
 * NDJSON group that would not decode back into the same events (a line with a newline, a blank
 * line, lines that parse whole as one JSON value) is sent as single records instead.
 */
export function packEvents<T extends KeyedEvent>(
  events: readonly T[],
  options: PackOptions,
): PackedRecord<T>[] {
  if (options.mode === 'none') return events.map(alone);
  const maxBytes = options.maxRecordBytes ?? DEFAULT_PACKED_RECORD_BYTES;
  if (options.mode === 'ndjson') return packNdjsonGroups(events, maxBytes, options.perPartitionKey === true);
  if (options.perPartitionKey !== true) return packKplGroups(events, maxBytes);
  // Per key: each key's events packed apart, the records in the order of each one's first event.
  const byKey = new Map<string, T[]>();
  for (const event of events) {
    const list = byKey.get(event.partitionKey);
    if (list) list.push(event);
    else byKey.set(event.partitionKey, [event]);
  }
  return [...byKey.values()].flatMap((list) => packKplGroups(list, maxBytes));
}

function packKplGroups<T extends KeyedEvent>(events: readonly T[], maxBytes: number): PackedRecord<T>[] {
  const out: PackedRecord<T>[] = [];
  let group: T[] = [];
  let keys = new Set<string>();
  let bytes = KPL_FRAME_BYTES;
  const close = (): void => {
    if (group.length === 0) return;
    out.push({ data: packKpl(group), partitionKey: group[0].partitionKey, events: group });
    group = [];
    keys = new Set();
    bytes = KPL_FRAME_BYTES;
  };
  for (const event of events) {
    const keyBytes = keys.has(event.partitionKey)
      ? 0
      : Buffer.byteLength(event.partitionKey, 'utf8') + KPL_KEY_OVERHEAD;
    const size = event.data.byteLength + KPL_RECORD_OVERHEAD + keyBytes;
    if (group.length > 0 && bytes + size > maxBytes) {
      close();
      bytes += Buffer.byteLength(event.partitionKey, 'utf8') + KPL_KEY_OVERHEAD - keyBytes;
    }
    group.push(event);
    keys.add(event.partitionKey);
    bytes += size;
  }
  close();
  return out;
}

function packableLine(data: Uint8Array): boolean {
  return data.byteLength > 0 && !data.includes(NEWLINE) && Buffer.from(data).toString('latin1').trim() !== '';
}

function packNdjsonGroups<T extends KeyedEvent>(
  events: readonly T[],
  maxBytes: number,
  perPartitionKey: boolean,
): PackedRecord<T>[] {
  const out: PackedRecord<T>[] = [];
  const open = new Map<string, { events: T[]; bytes: number }>();
  const close = (key: string): void => {
    const group = open.get(key);
    open.delete(key);
    if (group === undefined) return;
    if (group.events.length === 1) {
      out.push(alone(group.events[0]));
      return;
    }
    const data = packNdjson(group.events.map((e) => e.data));
    const back = decodeRecordEvents(data, 0, Number.MAX_SAFE_INTEGER);
    if (back.packing === 'ndjson' && back.subRecords.length === group.events.length)
      out.push({ data, partitionKey: group.events[0].partitionKey, events: group.events });
    else out.push(...group.events.map(alone));
  };
  for (const event of events) {
    const key = perPartitionKey ? event.partitionKey : '';
    if (!packableLine(event.data) || event.data.byteLength > maxBytes) {
      close(key); // the group before it goes first: a key's events keep their order
      out.push(alone(event));
      continue;
    }
    let group = open.get(key);
    if (
      group !== undefined &&
      (group.events.length >= MAX_PACKED_LINES || group.bytes + 1 + event.data.byteLength > maxBytes)
    ) {
      close(key);
      group = undefined;
    }
    if (group === undefined) {
      group = { events: [], bytes: -1 };
      open.set(key, group);
    }
    group.events.push(event);
    group.bytes += 1 + event.data.byteLength;
  }
  for (const key of [...open.keys()]) close(key);
  return out;
}
