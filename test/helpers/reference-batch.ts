/**
 * The batch job recomputed the straightforward way, without SQL: read every raw object line by line
 * in Node.js, validate each record with the event contract of `core/event.ts`, keep the first copy
 * of each event id per event day, and reduce to statistics. The integration tests compare the DuckDB
 * run of `sql/*.sql` against it, and `bench/batch.bench.ts` uses it as the naive baseline.
 *
 * The batch rules it implements (DESIGN.md, sql/events.sql): day D holds the valid events whose
 * event time falls on D and that arrived (raw partition `dt`) on D or D+1; a record is in the future
 * when its event time is later than the end of its arrival hour + 15 minutes + maxClockSkew; of
 * several copies of an event id the one with the smallest (object path, line) is kept.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { decodeRecord, type SensorEvent } from '../../core/event';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Firehose's longest buffer interval: every record of an object has arrived by hour end + this. */
const FIREHOSE_MAX_BUFFER_MS = 900_000;

export interface ReferenceEvent extends SensorEvent {
  readonly day: string;
  readonly arrivalHourMs: number;
}

export interface ReferenceStats {
  readonly sensorId: string;
  readonly metric: string;
  /** Start of the event-time hour (hourly statistics only). */
  readonly hourStartMs?: number;
  readonly count: number;
  readonly avg: number;
  readonly min: number;
  readonly max: number;
  /** Sample standard deviation; null for a single event. */
  readonly stddev: number | null;
  /** The values, ascending, for checking percentiles. */
  readonly sorted: readonly number[];
}

export interface ReferenceDay {
  readonly events: readonly ReferenceEvent[];
  readonly hourly: readonly ReferenceStats[];
  readonly daily: readonly ReferenceStats[];
}

export interface ReferenceResult {
  readonly days: ReadonlyMap<string, ReferenceDay>;
  /** Raw lines read. */
  readonly lines: number;
}

const formatDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Every raw object of the lake, in path order. */
export function rawObjects(lakeDir: string): string[] {
  const root = path.join(lakeDir, 'raw');
  if (!fs.existsSync(root)) return [];
  const files: string[] = [];
  for (const dt of fs.readdirSync(root).filter((d) => d.startsWith('dt='))) {
    for (const hour of fs.readdirSync(path.join(root, dt)).filter((h) => h.startsWith('hour='))) {
      const dir = path.join(root, dt, hour);
      for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.gz')))
        files.push(path.join(dir, name));
    }
  }
  return files.sort();
}

/** The lines of a raw object (each record was followed by `\n`). */
export function rawLines(file: string): Buffer[] {
  const body = zlib.gunzipSync(fs.readFileSync(file));
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === 0x0a) {
      lines.push(body.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < body.length) lines.push(body.subarray(start));
  return lines;
}

/** The arrival hour of a raw object from its path (`.../raw/dt=YYYY-MM-DD/hour=HH/...`). */
export function arrivalHourMs(file: string): number {
  const match = /dt=(\d{4}-\d{2}-\d{2})[\\/]hour=(\d{2})[\\/]/.exec(file);
  if (!match) throw new Error(`not a raw object path: ${file}`);
  return Date.parse(`${match[1]}T${match[2]}:00:00Z`);
}

/** Recomputes `events`, `sensor_stats_hourly` and `sensor_stats_daily` for `days` from the raw lake. */
export function referenceBatch(
  lakeDir: string,
  days: readonly string[],
  maxClockSkewMs: number,
): ReferenceResult {
  const wanted = new Set(days);
  const kept = new Map<string, { event: ReferenceEvent; order: [string, string] }>();
  let lineCount = 0;
  for (const file of rawObjects(lakeDir)) {
    const arrivalMs = arrivalHourMs(file);
    const arrivalDay = formatDay(arrivalMs);
    const referenceNow = arrivalMs + HOUR_MS + FIREHOSE_MAX_BUFFER_MS;
    for (const line of rawLines(file)) {
      lineCount += 1;
      const decoded = decodeRecord(line, referenceNow, maxClockSkewMs);
      if (!decoded.ok) continue;
      const day = formatDay(decoded.event.eventTime);
      if (!wanted.has(day)) continue;
      if (arrivalDay !== day && arrivalDay !== formatDay(Date.parse(`${day}T00:00:00Z`) + DAY_MS)) continue;
      const key = `${day}\u0000${decoded.event.eventId}`;
      const order: [string, string] = [file, line.toString('utf8')];
      const previous = kept.get(key);
      if (previous && compareOrder(previous.order, order) <= 0) continue;
      kept.set(key, { event: { ...decoded.event, day, arrivalHourMs: arrivalMs }, order });
    }
  }

  const byDay = new Map<string, ReferenceEvent[]>(days.map((d) => [d, []]));
  for (const { event } of kept.values()) byDay.get(event.day)?.push(event);
  const result = new Map<string, ReferenceDay>();
  for (const [day, events] of byDay) {
    result.set(day, {
      events,
      hourly: reduce(
        events,
        (e) => `${e.sensorId}\u0000${e.metric}\u0000${Math.floor(e.eventTime / HOUR_MS) * HOUR_MS}`,
        true,
      ),
      daily: reduce(events, (e) => `${e.sensorId}\u0000${e.metric}`, false),
    });
  }
  return { days: result, lines: lineCount };
}

function compareOrder(a: [string, string], b: [string, string]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return 0;
}

function reduce(
  events: readonly ReferenceEvent[],
  keyOf: (e: ReferenceEvent) => string,
  hourly: boolean,
): ReferenceStats[] {
  const groups = new Map<string, ReferenceEvent[]>();
  for (const event of events) {
    const key = keyOf(event);
    const group = groups.get(key);
    if (group) group.push(event);
    else groups.set(key, [event]);
  }
  return [...groups.values()].map((group) => {
    const values = group.map((e) => e.value).sort((a, b) => a - b);
    const count = values.length;
    const sum = values.reduce((s, v) => s + v, 0);
    const avg = sum / count;
    const variance = count > 1 ? values.reduce((s, v) => s + (v - avg) ** 2, 0) / (count - 1) : null;
    const first = group[0];
    return {
      sensorId: first.sensorId,
      metric: first.metric,
      ...(hourly ? { hourStartMs: Math.floor(first.eventTime / HOUR_MS) * HOUR_MS } : {}),
      count,
      avg,
      min: values[0],
      max: values[count - 1],
      stddev: variance === null ? null : Math.sqrt(variance),
      sorted: values,
    };
  });
}

/**
 * Whether `estimate` is an acceptable `p` percentile of `sorted`: it must lie between the values at
 * ranks (p − 0.01)·(n − 1) and (p + 0.01)·(n − 1), i.e. within ±1 % of rank, the accuracy Athena's
 * approx_percentile promises. (DuckDB computes the exact, interpolated percentile.)
 */
export function isPercentileWithinRank(sorted: readonly number[], p: number, estimate: number): boolean {
  const n = sorted.length;
  const low = sorted[Math.max(0, Math.floor((p - 0.01) * (n - 1)))];
  const high = sorted[Math.min(n - 1, Math.ceil((p + 0.01) * (n - 1)))];
  return estimate >= low && estimate <= high;
}
