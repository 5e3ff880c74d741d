/**
 * The speed export: the speed layer's tumbling one-hour windows copied to the lake (`speed_hourly`
 * of contract/lake-tables.ts), so Athena can read them beside the batch tables (the view
 * `sensor_stats_hourly_live`). The same code runs on AWS (a scheduled Lambda writing to S3) and
 * locally (the batch scheduler writing into the lake directory); only the `ObjectSink` differs.
 *
 * One object per hour, `speed/hourly/dt=<day>/<HH>.json.gz`: every series' item of that hour (from
 * the window index, `AggregateReader.hour`), sorted, as gzip NDJSON. An export replaces the hour's
 * object whole, and the same items give the same bytes, so a re-run or an overlapping run changes
 * nothing: idempotent. An hour with no item is not written (its items may have expired: the object
 * an earlier export wrote stays).
 *
 * Which hours: a window's item changes while its events can still arrive, until `lateness` after
 * it ends. Every run exports the current and the previous hour, and a share of the older hours
 * within `lateness` such that each is exported once an hour (`hoursToExport`). Cost per run: series
 * × (2 + ⌈lateness hours / runs per hour⌉) item reads (half a read unit each, eventually
 * consistent), 100 keys a BatchGetItem, plus one index Query page per ~6,000 series and hour.
 */
import { gzipSync } from 'node:zlib';
import { SPEED_HOURLY } from '../../contract/lake-tables';
import { dayPartition } from '../../contract/lake-layout';
import type { WindowValues } from '../../core/aggregate';
import type { AggregateReader } from './aggregate-reader';

const HOUR_MS = 3_600_000;

/** Where the export writes objects: S3 on AWS, the lake directory locally. */
export interface ObjectSink {
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
}

/** One line of the export; keys as `SPEED_HOURLY`'s columns name them (`jsonKey`). */
export interface SpeedHourlyLine {
  readonly sensorId: string;
  readonly metric: string;
  /** `YYYY-MM-DD HH:MM:SS.mmm` (UTC): the text Hive's and DuckDB's timestamp readers both take. */
  readonly hourStart: string;
  readonly eventCount: number;
  readonly sumValue: number;
  readonly avgValue: number;
  readonly minValue: number;
  readonly maxValue: number;
}

/** The object key of one hour's export. */
export function speedHourlyKey(hourStart: number): string {
  const iso = new Date(hourStart).toISOString();
  return `${SPEED_HOURLY.prefix}${dayPartition(iso.slice(0, 10))}${iso.slice(11, 13)}.json.gz`;
}

export function speedHourlyLine(item: WindowValues): SpeedHourlyLine {
  return {
    sensorId: item.sensorId,
    metric: item.metric,
    hourStart: new Date(item.windowStart).toISOString().replace('T', ' ').replace('Z', ''),
    eventCount: item.count,
    sumValue: item.sum,
    avgValue: item.sum / item.count,
    minValue: item.min,
    maxValue: item.max,
  };
}

/** An hour's items as the object's bytes: sorted NDJSON, gzip (no timestamp in the header: same items, same bytes). */
export function speedHourlyObject(items: readonly WindowValues[]): Buffer {
  const lines = items
    .map(speedHourlyLine)
    .sort((a, b) =>
      a.sensorId < b.sensorId ? -1 : a.sensorId > b.sensorId ? 1 : a.metric < b.metric ? -1 : 1,
    );
  return gzipSync(lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
}

/**
 * The starts of the hours a run at `now` exports, oldest first: the current and the previous hour,
 * and a share of the older hours within `lateness` — hour `h` by the run whose place in the hour
 * (`⌊(now − hour start) / interval⌋`) is `(h / 1 h) mod runs per hour` — so each older hour is
 * exported once an hour and every run reads about the same number of items.
 */
export function hoursToExport(now: number, intervalMs: number, latenessMs: number): number[] {
  const current = Math.floor(now / HOUR_MS) * HOUR_MS;
  const runsPerHour = Math.max(1, Math.floor(HOUR_MS / intervalMs));
  const run = Math.min(runsPerHour - 1, Math.floor((now - current) / intervalMs));
  const oldest = Math.floor((current - latenessMs - HOUR_MS) / HOUR_MS) * HOUR_MS;
  const hours: number[] = [];
  for (let h = oldest; h < current - HOUR_MS; h += HOUR_MS) {
    if ((h / HOUR_MS) % runsPerHour === run) hours.push(h);
  }
  hours.push(current - HOUR_MS, current);
  return hours;
}

export interface SpeedExportResult {
  readonly hours: number;
  /** Objects written (hours with at least one item). */
  readonly objects: number;
  readonly rows: number;
}

export class SpeedExport {
  constructor(
    private readonly reader: Pick<AggregateReader, 'hour'>,
    private readonly sink: ObjectSink,
  ) {}

  /** Exports each hour (by its start); hours in sequence, each one's items read with bounded concurrency. */
  async exportHours(hourStarts: readonly number[]): Promise<SpeedExportResult> {
    let objects = 0;
    let rows = 0;
    for (const hourStart of hourStarts) {
      const items = await this.reader.hour(hourStart);
      if (items.length === 0) continue;
      await this.sink.put(speedHourlyKey(hourStart), speedHourlyObject(items), 'application/gzip');
      objects += 1;
      rows += items.length;
    }
    return { hours: hourStarts.length, objects, rows };
  }
}
