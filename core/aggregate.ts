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

/** A window's values over an event-time range of one series: what a stored item or a composition holds. */
export interface WindowValues extends AggregateKey {
  readonly windowEnd: number;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly firstEventTime: number;
  readonly lastEventTime: number;
}

export interface PartialAggregate extends WindowValues {
  readonly lanes: Readonly<Record<string, LaneRange>>;
}

/** Orders window instances by sensor, metric, window name and start (the order of `aggregates.jsonl`). */
export function compareAggregateKeys(a: AggregateKey, b: AggregateKey): number {
  const text = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  return (
    text(a.sensorId, b.sensorId) ||
    text(a.metric, b.metric) ||
    text(a.window, b.window) ||
    a.windowStart - b.windowStart
  );
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

/**
 * `a`'s key and span with the statistics of `a` and `b` together: two partials of one item, or the
 * panes of a composed window (`core/panes.ts`). Associative and commutative (sum up to float rounding).
 */
export function mergeValues(a: WindowValues, b: WindowValues): WindowValues {
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
  };
}

/** Merges two partials of the same key. Associative and commutative (sum up to float rounding). */
export function mergeAggregates(a: PartialAggregate, b: PartialAggregate): PartialAggregate {
  if (aggregateKeyId(a) !== aggregateKeyId(b)) {
    throw new RangeError(
      `Cannot merge aggregates of different keys: ${aggregateKeyId(a)} and ${aggregateKeyId(b)}`,
    );
  }
  return { ...mergeValues(a, b), lanes: mergeLanes(a.lanes, b.lanes) };
}

/** Mutable while folding: one window instance, or a run of consecutive events of one series. */
interface Accumulator {
  count: number;
  sum: number;
  min: number;
  max: number;
  firstEventTime: number;
  lastEventTime: number;
  /** Lane ranges as a short list (usually one entry), turned into a record at the end. */
  readonly laneList: { lane: string; first: string; last: string }[];
}

interface Instance extends Accumulator {
  readonly window: string;
  readonly windowStart: number;
  readonly windowEnd: number;
}

/** One (sensorId, metric) while folding. */
interface Series {
  readonly sensorId: string;
  readonly metric: string;
  /** Per window spec: windowStart -> instance. */
  readonly perWindow: Map<number, Instance>[];
  /** Per window spec: the latest start covering the current run's events. */
  readonly latestStarts: number[];
  /** The instances every event of the current run belongs to. */
  instances: Instance[];
  /** Consecutive events that fell into the same instances, not yet folded into them. */
  run: Accumulator | undefined;
}

function foldLane(acc: Accumulator, lane: string, first: string, last: string): void {
  const lanes = acc.laneList;
  let range = lanes[0];
  if (range.lane !== lane) {
    range = lanes.find((l) => l.lane === lane) ?? range;
    if (range.lane !== lane) {
      lanes.push({ lane, first, last });
      return;
    }
  }
  if (compareSequences(last, range.last) > 0) {
    range.last = last;
    // One record past the range's end cannot also be before its start.
    if (first === last) return;
  }
  if (compareSequences(first, range.first) < 0) range.first = first;
}

function startRun(value: number, eventTime: number, lane: string, sequence: string): Accumulator {
  return {
    count: 1,
    sum: value,
    min: value,
    max: value,
    firstEventTime: eventTime,
    lastEventTime: eventTime,
    laneList: [{ lane, first: sequence, last: sequence }],
  };
}

/**
 * Folds events, one at a time, into one partial aggregate per (sensorId, metric, window,
 * windowStart). This is the stream processor's hot loop. An event joins size/hop instances of
 * every window, but consecutive events of a series nearly always join the same ones, so they are
 * first folded into a run (one fold per event) and the run into its instances only when the
 * series moves on to other instances. Sequence numbers are compared without padding them. The
 * result equals merging the single-event partials one by one (sums up to float rounding).
 */
export class BatchAggregator {
  private readonly series = new Map<string, Map<string, Series>>();

  constructor(private readonly windows: readonly WindowSpec[]) {}

  add(event: SensorEvent, lane: string, sequence: string): void {
    const { sensorId, metric, value, eventTime } = event;
    const windows = this.windows;
    let byMetric = this.series.get(sensorId);
    if (byMetric === undefined) {
      byMetric = new Map();
      this.series.set(sensorId, byMetric);
    }
    let current = byMetric.get(metric);
    if (current === undefined) {
      current = {
        sensorId,
        metric,
        perWindow: windows.map(() => new Map<number, Instance>()),
        latestStarts: windows.map(() => Number.NaN),
        instances: [],
        run: undefined,
      };
      byMetric.set(metric, current);
    }
    let sameInstances = current.run !== undefined;
    for (let w = 0; w < windows.length; w++) {
      const latestStart = latestWindowStart(eventTime, windows[w]);
      if (latestStart !== current.latestStarts[w]) {
        current.latestStarts[w] = latestStart;
        sameInstances = false;
      }
    }
    const run = current.run;
    if (sameInstances && run !== undefined) {
      run.count += 1;
      run.sum += value;
      if (value < run.min) run.min = value;
      if (value > run.max) run.max = value;
      if (eventTime < run.firstEventTime) run.firstEventTime = eventTime;
      if (eventTime > run.lastEventTime) run.lastEventTime = eventTime;
      foldLane(run, lane, sequence, sequence);
      return;
    }
    this.flush(current);
    const instances: Instance[] = [];
    for (let w = 0; w < windows.length; w++) {
      const byStart = current.perWindow[w];
      for (const { window, start, end } of windowsCovering(eventTime, windows[w])) {
        let instance = byStart.get(start);
        if (instance === undefined) {
          instance = {
            window,
            windowStart: start,
            windowEnd: end,
            count: 0,
            sum: 0,
            min: Infinity,
            max: -Infinity,
            firstEventTime: Infinity,
            lastEventTime: -Infinity,
            laneList: [],
          };
          byStart.set(start, instance);
        }
        instances.push(instance);
      }
    }
    current.instances = instances;
    current.run = startRun(value, eventTime, lane, sequence);
  }

  /** The partials, keyed by `aggregateKeyId`. */
  result(): Map<string, PartialAggregate> {
    const partials = new Map<string, PartialAggregate>();
    for (const byMetric of this.series.values()) {
      for (const current of byMetric.values()) {
        this.flush(current);
        const { sensorId, metric } = current;
        for (const byStart of current.perWindow) {
          for (const instance of byStart.values()) {
            const lanes: Record<string, LaneRange> = {};
            for (const { lane, first, last } of instance.laneList) lanes[lane] = { first, last };
            const partial: PartialAggregate = {
              sensorId,
              metric,
              window: instance.window,
              windowStart: instance.windowStart,
              windowEnd: instance.windowEnd,
              count: instance.count,
              sum: instance.sum,
              min: instance.min,
              max: instance.max,
              firstEventTime: instance.firstEventTime,
              lastEventTime: instance.lastEventTime,
              lanes,
            };
            partials.set(aggregateKeyId(partial), partial);
          }
        }
      }
    }
    return partials;
  }

  private flush(current: Series): void {
    const run = current.run;
    if (run === undefined) return;
    for (const instance of current.instances) {
      if (instance.count === 0) {
        instance.laneList.push(...run.laneList.map((range) => ({ ...range })));
      } else {
        for (const { lane, first, last } of run.laneList) foldLane(instance, lane, first, last);
      }
      instance.count += run.count;
      instance.sum += run.sum;
      if (run.min < instance.min) instance.min = run.min;
      if (run.max > instance.max) instance.max = run.max;
      if (run.firstEventTime < instance.firstEventTime) instance.firstEventTime = run.firstEventTime;
      if (run.lastEventTime > instance.lastEventTime) instance.lastEventTime = run.lastEventTime;
    }
    current.run = undefined;
  }
}

/** Folds a list of positioned events (see `BatchAggregator`). */
export function aggregateBatch(
  events: readonly PositionedEvent[],
  windows: readonly WindowSpec[],
): Map<string, PartialAggregate> {
  const aggregator = new BatchAggregator(windows);
  for (const { event, lane, sequenceNumber } of events) aggregator.add(event, lane, sequenceNumber);
  return aggregator.result();
}
