/**
 * Batch aggregation: a batch of events folds into one partial aggregate per
 * (sensorId, metric, window, windowStart). Partials merge associatively, so a batch split any way
 * and merged equals the batch aggregated whole; the per-lane sequence range lets the DynamoDB
 * adapter apply each partial exactly once.
 */
import type { SensorEvent } from './event';
import { padSequence } from './sequence';
import type { WindowSpec } from './speed-config';
import { assignWindows } from './windows';

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

/** First and last (padded) sequence numbers of one lane's records folded into a partial. */
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
          first: existing.first < range.first ? existing.first : range.first,
          last: existing.last > range.last ? existing.last : range.last,
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

/** Merges any number of partial maps (keyed by `aggregateKeyId`) into one. */
export function mergeAggregateMaps(
  maps: Iterable<ReadonlyMap<string, PartialAggregate>>,
): Map<string, PartialAggregate> {
  const merged = new Map<string, PartialAggregate>();
  for (const map of maps) {
    for (const [id, partial] of map) {
      const existing = merged.get(id);
      merged.set(id, existing ? mergeAggregates(existing, partial) : partial);
    }
  }
  return merged;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Folds events into one partial aggregate per (sensorId, metric, window, windowStart).
 * Accumulates in place (this is the hot loop of the stream processor); equal to merging the
 * single-event partials one by one.
 */
export function aggregateBatch(
  events: readonly PositionedEvent[],
  windows: readonly WindowSpec[],
): Map<string, PartialAggregate> {
  const partials = new Map<string, Mutable<PartialAggregate> & { lanes: Record<string, LaneRange> }>();
  for (const { event, lane, sequenceNumber } of events) {
    const sequence = padSequence(sequenceNumber);
    const { sensorId, metric, value, eventTime } = event;
    for (const instance of assignWindows(eventTime, windows)) {
      const id = `${sensorId}|${metric}|${instance.window}|${instance.start}`;
      const acc = partials.get(id);
      if (!acc) {
        partials.set(id, {
          sensorId,
          metric,
          window: instance.window,
          windowStart: instance.start,
          windowEnd: instance.end,
          count: 1,
          sum: value,
          min: value,
          max: value,
          firstEventTime: eventTime,
          lastEventTime: eventTime,
          lanes: { [lane]: { first: sequence, last: sequence } },
        });
        continue;
      }
      acc.count += 1;
      acc.sum += value;
      if (value < acc.min) acc.min = value;
      if (value > acc.max) acc.max = value;
      if (eventTime < acc.firstEventTime) acc.firstEventTime = eventTime;
      if (eventTime > acc.lastEventTime) acc.lastEventTime = eventTime;
      const range = acc.lanes[lane];
      if (!range) acc.lanes[lane] = { first: sequence, last: sequence };
      else if (sequence < range.first) acc.lanes[lane] = { first: sequence, last: range.last };
      else if (sequence > range.last) acc.lanes[lane] = { first: range.first, last: sequence };
    }
  }
  return partials;
}
