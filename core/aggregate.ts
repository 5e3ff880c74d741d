/**
 * Batch aggregation: a batch of events folds into one partial aggregate per
 * (sensorId, metric, window, windowStart). Partials merge associatively, so a batch split any way
 * and merged equals the batch aggregated whole; the per-lane sequence range lets the DynamoDB
 * adapter apply each partial exactly once.
 */
import type { SensorEvent } from './event';
import { compareSequences } from './sequence';
import type { WindowSpec } from './speed-config';
import { latestWindowStart, windowsCovering } from './windows';

/** An event with its position in the stream. */
export interface PositionedEvent {
  readonly event: SensorEvent;
  /** See `laneId` in sequence.ts. */
  readonly lane: string;
  readonly sequenceNumber: string;
}

export interface AggregateKey {
  readonly sensorId: string;
  readonly metric: string;
  readonly window: string;
  readonly windowStart: number;
}

/** First and last sequence numbers (as Kinesis writes them) of one lane's records folded into a partial. */
export interface LaneRange {
  readonly first: string;
  readonly last: string;
}

export interface PartialAggregate extends AggregateKey {
  readonly windowEnd: number;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly firstEventTime: number;
  readonly lastEventTime: number;
  readonly lanes: Readonly<Record<string, LaneRange>>;
}

export function aggregateKeyId(key: AggregateKey): string {
  return `${key.sensorId}|${key.metric}|${key.window}|${key.windowStart}`;
}

export function average(aggregate: Pick<PartialAggregate, 'sum' | 'count'>): number {
  return aggregate.sum / aggregate.count;
}

function mergeLanes(
  a: Readonly<Record<string, LaneRange>>,
  b: Readonly<Record<string, LaneRange>>,
): Record<string, LaneRange> {
  const lanes: Record<string, LaneRange> = { ...a };
  for (const [lane, range] of Object.entries(b)) {
    const existing = lanes[lane];
    lanes[lane] = existing
      ? {
          first: compareSequences(existing.first, range.first) < 0 ? existing.first : range.first,
          last: compareSequences(existing.last, range.last) > 0 ? existing.last : range.last,
        }
      : range;
  }
  return lanes;
}

/** Merges two partials of the same key. Associative and commutative (sum up to float rounding). */
export function mergeAggregates(a: PartialAggregate, b: PartialAggregate): PartialAggregate {
  if (aggregateKeyId(a) !== aggregateKeyId(b)) {
    throw new RangeError(
      `Cannot merge aggregates of different keys: ${aggregateKeyId(a)} and ${aggregateKeyId(b)}`,
    );
  }
  return {
    sensorId: a.sensorId,
    metric: a.metric,
    window: a.window,
    windowStart: a.windowStart,
    windowEnd: a.windowEnd,
    count: a.count + b.count,
    sum: a.sum + b.sum,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    firstEventTime: Math.min(a.firstEventTime, b.firstEventTime),
    lastEventTime: Math.max(a.lastEventTime, b.lastEventTime),
    lanes: mergeLanes(a.lanes, b.lanes),
  };
}

/** Mutable while folding; lanes as a short list (usually one entry), turned into a record at the end. */
type Accumulator = { -readonly [K in keyof Omit<PartialAggregate, 'lanes'>]: PartialAggregate[K] } & {
  laneList: { lane: string; first: string; last: string }[];
};

/** One (sensorId, metric) while folding: its accumulators, and the window instances of its last event. */
interface Series {
  /** Per window spec: windowStart -> accumulator. */
  readonly perWindow: Map<number, Accumulator>[];
  /** Per window spec: the latest start covering the series' last event. */
  readonly latestStarts: number[];
  /** Every accumulator the last event was folded into. */
  instances: Accumulator[];
}

function fold(acc: Accumulator, value: number, eventTime: number, lane: string, sequence: string): void {
  acc.count += 1;
  acc.sum += value;
  if (value < acc.min) acc.min = value;
  if (value > acc.max) acc.max = value;
  if (eventTime < acc.firstEventTime) acc.firstEventTime = eventTime;
  if (eventTime > acc.lastEventTime) acc.lastEventTime = eventTime;
  let range = acc.laneList[0];
  if (range.lane !== lane) range = acc.laneList.find((l) => l.lane === lane) ?? range;
  if (range.lane !== lane) acc.laneList.push({ lane, first: sequence, last: sequence });
  else if (compareSequences(sequence, range.last) > 0) range.last = sequence;
  else if (compareSequences(sequence, range.first) < 0) range.first = sequence;
}

/**
 * Folds events into one partial aggregate per (sensorId, metric, window, windowStart).
 * This is the stream processor's hot loop: it accumulates in place, looks window instances up by
 * number in per-series maps (or reuses the previous event's), and compares sequence numbers
 * without padding them. The result equals merging
 * the single-event partials one by one.
 */
export function aggregateBatch(
  events: readonly PositionedEvent[],
  windows: readonly WindowSpec[],
): Map<string, PartialAggregate> {
  const series = new Map<string, Series>();
  for (const { event, lane, sequenceNumber: sequence } of events) {
    const { sensorId, metric, value, eventTime } = event;
    const seriesKey = `${sensorId}|${metric}`;
    let current = series.get(seriesKey);
    if (!current) {
      current = {
        perWindow: windows.map(() => new Map<number, Accumulator>()),
        latestStarts: windows.map(() => Number.NaN),
        instances: [],
      };
      series.set(seriesKey, current);
    }
    // Events of one series mostly arrive in time order, so consecutive events usually fall into the
    // same window instances: when every window's latest start is unchanged, reuse the instances.
    let sameInstances = current.instances.length > 0;
    for (let w = 0; w < windows.length; w++) {
      const latestStart = latestWindowStart(eventTime, windows[w]);
      if (latestStart !== current.latestStarts[w]) {
        current.latestStarts[w] = latestStart;
        sameInstances = false;
      }
    }
    if (sameInstances) {
      for (const acc of current.instances) fold(acc, value, eventTime, lane, sequence);
      continue;
    }
    const instances: Accumulator[] = [];
    for (let w = 0; w < windows.length; w++) {
      const accs = current.perWindow[w];
      for (const { window, start, end } of windowsCovering(eventTime, windows[w])) {
        let acc = accs.get(start);
        if (acc) {
          fold(acc, value, eventTime, lane, sequence);
        } else {
          acc = {
            sensorId,
            metric,
            window,
            windowStart: start,
            windowEnd: end,
            count: 1,
            sum: value,
            min: value,
            max: value,
            firstEventTime: eventTime,
            lastEventTime: eventTime,
            laneList: [{ lane, first: sequence, last: sequence }],
          };
          accs.set(start, acc);
        }
        instances.push(acc);
      }
    }
    current.instances = instances;
  }
  const partials = new Map<string, PartialAggregate>();
  for (const { perWindow } of series.values()) {
    for (const accs of perWindow) {
      for (const { laneList, ...acc } of accs.values()) {
        const lanes: Record<string, LaneRange> = {};
        for (const { lane, first, last } of laneList) lanes[lane] = { first, last };
        partials.set(aggregateKeyId(acc), { ...acc, lanes });
      }
    }
  }
  return partials;
}
