/**
 * Reads the speed layer's aggregates back, by key only (no Scan): what `sluice aggregates`, the
 * dashboard widget and the speed export read.
 *
 * - A series' windows over a time range: one Query on its partition (`pk`), `sk BETWEEN` the first
 *   and last instance; a hopping window's instances are composed from the pane items the same Query
 *   reads (`core/panes.ts`). Cost: the items in the range, nothing else; at most `MAX_RANGE_ITEMS`.
 * - The series active in an hour: a Query of the window index (`WINDOW_INDEX`, keys only) for that
 *   hour's instance of the indexed (tumbling one-hour) window. That is how a sensor's metrics are
 *   found, how the export lists an hour's items and where top-N takes its candidates.
 * - Top-N by a window aggregate: the candidates' items of one instance, read with BatchGetItem
 *   (one key per series for a stored window, one per pane for a composed one). Cost: series ×
 *   keys per instance reads, 100 keys a request. Bounded: `MAX_TOP_KEYS` keys a read, a clear
 *   error beyond.
 *
 * Reads are eventually consistent (half a read unit per item up to 4 KB; an update may show a second
 * late): what is read here is a view for people and the lake, not the base of a conditional write.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  aggregatePartitionKey,
  aggregateSortKey,
  sensorKeyPrefix,
  seriesOfPartitionKey,
  WINDOW_INDEX,
} from '../../contract/table-keys';
import { UserError } from '../../contract/user-error';
import { compareAggregateKeys, type WindowValues } from '../../core/aggregate';
import {
  isHopping,
  PANE_WINDOW,
  panesOf,
  storagePlan,
  windowsFromStored,
  type StoragePlan,
} from '../../core/panes';
import type { WindowSpec } from '../../core/speed-config';
import { latestWindowStart } from '../../core/windows';
import { parseStoredAggregate, RESERVED_ATTRIBUTE_NAMES } from './aggregate-store';
import { batchGetAll } from './batch-get';
import { mapWithConcurrency } from './concurrency';
import { queryAll } from './query-all';

const HOUR_MS = 3_600_000;

/** At most this many stored items per series and window read (a `--from`/`--to` range). */
export const MAX_RANGE_ITEMS = 20_000;
/** At most this many hours of the window index listed per read (series of a sensor, or all series). */
export const MAX_INDEX_HOURS = 31 * 24;
/** At most this many series listed at once when no sensor is named. */
export const MAX_LIST_SERIES = 1_000;
/** At most this many item keys per top-N read (candidate series × keys per instance). */
export const MAX_TOP_KEYS = 50_000;

export const TOP_AGGREGATES = ['avg', 'max', 'min', 'sum', 'count'] as const;
export type TopAggregate = (typeof TOP_AGGREGATES)[number];

/** A read that cannot be done as asked (unknown window, too wide a range, no index). */
export class AggregateReadError extends UserError {
  public override readonly name = 'AggregateReadError';
}

export interface Series {
  readonly sensorId: string;
  readonly metric: string;
}

export interface AggregateReaderOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** The configured windows (config `windows`): which are stored and which composed. */
  readonly windows: readonly WindowSpec[];
  /** Queries in flight at once. @default 8 */
  readonly concurrency?: number;
}

export interface RangeRead {
  readonly sensorId: string;
  /** @default - every metric of the sensor active in the range (found through the window index) */
  readonly metric?: string;
  readonly window: string;
  /** Instances starting at or after this, epoch ms. */
  readonly from: number;
  /** Instances starting at or before this, epoch ms. */
  readonly to: number;
}

export interface ListRead {
  /** @default - every configured window */
  readonly window?: string;
  readonly from: number;
  readonly to: number;
}

export interface TopRead {
  readonly metric: string;
  readonly window: string;
  /** The instance of `window` holding this instant is ranked, epoch ms. */
  readonly at: number;
  readonly n: number;
  readonly by: TopAggregate;
}

export interface TopResult {
  readonly windowStart: number;
  readonly windowEnd: number;
  /** Candidate series read. */
  readonly series: number;
  readonly rows: readonly WindowValues[];
}

/** The value of `by` for one window. */
export function aggregateOf(values: WindowValues, by: TopAggregate): number {
  return by === 'avg' ? values.sum / values.count : values[by];
}

const PROJECTION =
  'sensorId, metric, #window, windowStart, windowEnd, #count, #sum, #min, #max, firstEventTime, lastEventTime';
const PROJECTION_NAMES = RESERVED_ATTRIBUTE_NAMES;

export class AggregateReader {
  public readonly plan: StoragePlan;
  private readonly concurrency: number;

  constructor(private readonly options: AggregateReaderOptions) {
    this.plan = storagePlan(options.windows);
    this.concurrency = options.concurrency ?? 8;
  }

  /** The configured window of that name; a read error naming the configured ones otherwise. */
  window(name: string): WindowSpec {
    const found = this.options.windows.find((w) => w.name === name);
    if (!found) {
      throw new AggregateReadError(
        `window ${JSON.stringify(name)} is not configured; the windows are ${this.options.windows.map((w) => w.name).join(', ')}`,
      );
    }
    return found;
  }

  /** A series' instances of one window starting in [from, to], oldest first (per metric). */
  async range(read: RangeRead): Promise<WindowValues[]> {
    const window = this.window(read.window);
    if (read.to < read.from) throw new AggregateReadError('--to must not be before --from');
    const metrics = read.metric
      ? [read.metric]
      : (await this.seriesIn(read.from, read.to + window.sizeMs, read.sensorId)).map((s) => s.metric);
    const perMetric = await mapWithConcurrency(metrics, this.concurrency, (metric) =>
      this.rangeOfSeries({ sensorId: read.sensorId, metric }, window, read.from, read.to),
    );
    return perMetric.flat().sort(compareAggregateKeys);
  }

  /**
   * Every series' instances starting in [from, to] of one window (or of every configured window),
   * ordered by sensor, metric, window and start, as `aggregates.jsonl` is. The series are those the
   * window index lists for the hours of the range; at most `MAX_LIST_SERIES`.
   */
  async list(read: ListRead): Promise<WindowValues[]> {
    const windows = read.window ? [this.window(read.window)] : this.options.windows;
    if (read.to < read.from) throw new AggregateReadError('--to must not be before --from');
    const longest = Math.max(...windows.map((w) => w.sizeMs));
    const series = await this.seriesIn(read.from, read.to + longest);
    if (series.length > MAX_LIST_SERIES) {
      throw new AggregateReadError(
        `the range holds ${series.length} series; at most ${MAX_LIST_SERIES} are listed at once: pass --sensor or --top, or narrow --from/--to`,
      );
    }
    const reads = series.flatMap((s) => windows.map((window) => ({ s, window })));
    const found = await mapWithConcurrency(reads, this.concurrency, ({ s, window }) =>
      this.rangeOfSeries(s, window, read.from, read.to),
    );
    return found.flat().sort(compareAggregateKeys);
  }

  /** The series whose indexed (one-hour) window has an item for the hour starting at `hourStart`. */
  async seriesInHour(hourStart: number, sensorId?: string): Promise<Series[]> {
    const bySensor = sensorId !== undefined;
    const items = await queryAll(this.options.client, {
      TableName: this.options.tableName,
      IndexName: WINDOW_INDEX.indexName,
      KeyConditionExpression: bySensor ? '#wk = :wk AND begins_with(#pk, :prefix)' : '#wk = :wk',
      ExpressionAttributeNames: {
        '#wk': WINDOW_INDEX.partitionKey,
        ...(bySensor ? { '#pk': WINDOW_INDEX.sortKey } : {}),
      },
      ExpressionAttributeValues: {
        ':wk': { S: aggregateSortKey(this.indexedWindow(), hourStart) },
        ...(bySensor ? { ':prefix': { S: sensorKeyPrefix(sensorId) } } : {}),
      },
    });
    return items.flatMap((item) => seriesOfPartitionKey(item[WINDOW_INDEX.sortKey]?.S ?? '') ?? []);
  }

  /** Every series' item of the indexed window for the hour starting at `hourStart` (the speed export). */
  async hour(hourStart: number): Promise<WindowValues[]> {
    const indexed = this.indexedWindow();
    const series = await this.seriesInHour(hourStart);
    return this.readItems(series.map((s) => ({ ...s, window: indexed, windowStart: hourStart })));
  }

  /** The `n` series of `metric` with the largest `by` in the instance of `window` holding `at`. */
  async top(read: TopRead): Promise<TopResult> {
    const window = this.window(read.window);
    const start = latestWindowStart(read.at, window);
    const end = start + window.sizeMs;
    const hours: number[] = [];
    for (let h = Math.floor(start / HOUR_MS) * HOUR_MS; h < end; h += HOUR_MS) hours.push(h);
    const found = await mapWithConcurrency(hours, this.concurrency, (h) => this.seriesInHour(h));
    const candidates = new Map<string, Series>();
    for (const s of found.flat()) if (s.metric === read.metric) candidates.set(s.sensorId, s);
    const parts = this.storedItemsOf(window, start);
    const keys = candidates.size * parts.starts.length;
    if (keys > MAX_TOP_KEYS) {
      throw new AggregateReadError(
        `ranking window ${window.name} reads ${keys} items (${candidates.size} sensors); at most ${MAX_TOP_KEYS}: rank a stored window (${this.plan.stored
          .filter((w) => w.name !== PANE_WINDOW)
          .map((w) => w.name)
          .join(', ')}) or query the lake (sensor_stats_hourly_live)`,
      );
    }
    const stored = await this.readItems(
      [...candidates.values()].flatMap((s) =>
        parts.starts.map((windowStart) => ({ ...s, window: parts.window, windowStart })),
      ),
    );
    const rows = this.instancesOf(window, stored, start, start)
      .sort(
        (a, b) =>
          aggregateOf(b, read.by) - aggregateOf(a, read.by) ||
          (a.sensorId < b.sensorId ? -1 : a.sensorId > b.sensorId ? 1 : 0),
      )
      .slice(0, read.n);
    return { windowStart: start, windowEnd: end, series: candidates.size, rows };
  }

  private indexedWindow(): string {
    if (this.plan.indexed === undefined) {
      throw new AggregateReadError(
        'no tumbling 1h window is configured (config windows): the window index lists series by their hourly window',
      );
    }
    return this.plan.indexed;
  }

  /** The distinct series (of one sensor, or all) with an indexed item in an hour of [from, to). */
  private async seriesIn(from: number, to: number, sensorId?: string): Promise<Series[]> {
    const hours: number[] = [];
    for (let h = Math.floor(from / HOUR_MS) * HOUR_MS; h < to; h += HOUR_MS) hours.push(h);
    if (hours.length > MAX_INDEX_HOURS) {
      throw new AggregateReadError(
        `the range spans ${hours.length} hours; at most ${MAX_INDEX_HOURS} are listed through the window index: narrow --from/--to${sensorId === undefined ? '' : ' or pass --metric'}`,
      );
    }
    const found = await mapWithConcurrency(hours, this.concurrency, (h) => this.seriesInHour(h, sensorId));
    const unique = new Map(found.flat().map((s) => [`${s.sensorId}\n${s.metric}`, s]));
    return [...unique.values()].sort((a, b) =>
      a.sensorId < b.sensorId ? -1 : a.sensorId > b.sensorId ? 1 : a.metric < b.metric ? -1 : 1,
    );
  }

  /** The stored items one instance of `window` is made of: their window and starts, earliest first. */
  private storedItemsOf(window: WindowSpec, start: number): { window: string; starts: number[] } {
    const pane = this.plan.pane;
    if (isHopping(window) && pane) return { window: pane.name, starts: panesOf(window, pane, start) };
    return { window: window.name, starts: [start] };
  }

  /** The instances of `window` starting in [first, last] that stored items make (`windowsFromStored`). */
  private instancesOf(
    window: WindowSpec,
    stored: readonly WindowValues[],
    first: number,
    last: number,
  ): WindowValues[] {
    return windowsFromStored(this.plan, stored).filter(
      (w) => w.window === window.name && w.windowStart >= first && w.windowStart <= last,
    );
  }

  /** The series' instances of `window` starting in [from, to], from one Query of its stored items. */
  private async rangeOfSeries(
    series: Series,
    window: WindowSpec,
    from: number,
    to: number,
  ): Promise<WindowValues[]> {
    const first = Math.ceil(from / window.hopMs) * window.hopMs;
    const last = latestWindowStart(to, window);
    if (last < first) return [];
    const firstParts = this.storedItemsOf(window, first);
    const lastParts = this.storedItemsOf(window, last);
    const items = await this.queryRange(
      aggregatePartitionKey(series.sensorId, series.metric),
      aggregateSortKey(firstParts.window, firstParts.starts[0]),
      aggregateSortKey(lastParts.window, lastParts.starts[lastParts.starts.length - 1]),
    );
    // Only instances starting in the range: all their parts were read.
    return this.instancesOf(window, items, first, last);
  }

  private async queryRange(pk: string, from: string, to: string): Promise<WindowValues[]> {
    const items = await queryAll(
      this.options.client,
      {
        TableName: this.options.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ProjectionExpression: PROJECTION,
        ExpressionAttributeNames: PROJECTION_NAMES,
        ExpressionAttributeValues: { ':pk': { S: pk }, ':from': { S: from }, ':to': { S: to } },
      },
      { maxItems: MAX_RANGE_ITEMS },
    );
    if (items.length > MAX_RANGE_ITEMS) {
      throw new AggregateReadError(
        `the range holds more than ${MAX_RANGE_ITEMS} stored windows of one series: narrow --from/--to or pick a longer window`,
      );
    }
    return items.map(parseStoredAggregate);
  }

  private async readItems(
    keys: readonly (Series & { window: string; windowStart: number })[],
  ): Promise<WindowValues[]> {
    const items = await batchGetAll(
      this.options.client,
      this.options.tableName,
      keys.map((k) => ({
        pk: { S: aggregatePartitionKey(k.sensorId, k.metric) },
        sk: { S: aggregateSortKey(k.window, k.windowStart) },
      })),
      { consistentRead: false },
    );
    return items.map(parseStoredAggregate);
  }
}
