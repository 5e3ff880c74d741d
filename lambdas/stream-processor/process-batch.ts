/**
 * One Kinesis batch through the speed layer: decode and validate, quarantine the invalid, skip the
 * late, fold the rest into per-item partials, apply them exactly once, raise alerts, and say which
 * records failed (so Lambda retries only from the first of them).
 *
 * The processor's role (core/speed-config.ts) narrows that: `alerts` only counts the invalid,
 * folds nothing, writes no aggregates and checks only the per-event rules (DynamoDB is touched only
 * for their breaches); `aggregates` does everything but the per-event rules; `all` does everything.
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import {
  BatchAggregator,
  aggregateKeyId,
  type AggregateKey,
  type PartialAggregate,
  type PositionedEvent,
  type WindowValues,
} from '../../core/aggregate';
import { valueBreach, windowBreaches, type Alert, type Breach } from '../../core/alerts';
import { isLate, type EventOrReason, type InvalidReason } from '../../core/event';
import {
  decodePackedRecord,
  decodeRecordEvents,
  decodeSingleEvent,
  type RecordPacking,
} from '../../core/record-packing';
import { composeWindow, instancesContaining, panesOf, storagePlan, type StoragePlan } from '../../core/panes';
import { laneId, lanesPerPartitionKey } from '../../core/sequence';
import { MAX_PENDING_ALERTS } from '../../contract/storage-limits';
import type { AlertRule, ProcessorRole, SpeedConfig, WindowSpec } from '../../core/speed-config';
import type { AggregateStore, StoredAggregate } from '../adapters/aggregate-store';
import type { AlertPublisher } from '../adapters/alert-publisher';
import type { AlertGroup, AlertStore } from '../adapters/alert-store';
import type { QuarantineWriter, QuarantinedRecord } from '../adapters/quarantine-writer';

/** What the batch needs from the outside world (adapters in production, fakes in unit tests). */
export interface BatchPorts {
  readonly aggregates: Pick<AggregateStore, 'apply' | 'read'>;
  readonly alerts: Pick<AlertStore, 'record' | 'clearPending'>;
  readonly publisher: Pick<AlertPublisher, 'publish'>;
  readonly quarantine: Pick<QuarantineWriter, 'write'>;
}

export type RecordOutcome = 'valid' | 'invalid' | 'late';

export interface BatchStats {
  /** Kinesis records. */
  readonly records: number;
  /** Events in them (contract v1.1: a record may pack several): `valid + invalid + late`. */
  readonly events: number;
  readonly valid: number;
  readonly invalid: number;
  readonly late: number;
  readonly itemsWritten: number;
  /** Records skipped because an earlier delivery had already applied them. */
  readonly alreadyApplied: number;
  readonly conflictsResolved: number;
  readonly alertsPublished: number;
  /** Processing time minus the oldest valid event time in the batch, ms. */
  readonly maxEventTimeLagMs: number;
  readonly invalidByReason: Readonly<Record<string, number>>;
}

export interface BatchResult {
  /** Failed records by `eventID`; every other record is done. */
  readonly failures: ReadonlyMap<string, Error>;
  readonly stats: BatchStats;
  /**
   * Outcome of every record, in the order of the batch: its event's, or for a packed record
   * `valid` if any of its events is, else `late` if any is, else `invalid`.
   */
  readonly outcomes: readonly RecordOutcome[];
  /**
   * Outcome of every event, per record in the order of the batch, then in the record's order (for
   * local accounting under retries): one for a single event or a record quarantined whole.
   */
  readonly eventOutcomes: readonly (readonly RecordOutcome[])[];
  readonly published: readonly Alert[];
}

interface IndexedEvent extends PositionedEvent {
  /** Position of the record in the batch. */
  readonly index: number;
}

function shardOf(record: KinesisStreamRecord): string {
  const colon = record.eventID.lastIndexOf(':');
  return colon > 0 ? record.eventID.slice(0, colon) : 'shardId-unknown';
}

/**
 * The shard of each record. A Kinesis event source hands a function one shard's records per batch
 * (Lambda's contract, and the local runner's): when the batch's first and last records agree, that
 * shard is every record's, without reading each record's eventID. Otherwise each is read.
 */
function shardsOf(records: readonly KinesisStreamRecord[]): (record: KinesisStreamRecord) => string {
  if (records.length > 0) {
    const shard = shardOf(records[0]);
    if (shardOf(records[records.length - 1]) === shard) return () => shard;
  }
  return shardOf;
}

/**
 * `laneId` memoised per batch, keyed by shard, then partition key (a batch has few of either). The
 * partition key is only read when it matters (parallelization factor above 1).
 */
function laneOf(
  cache: Map<string, Map<string, string>>,
  shardId: string,
  record: KinesisStreamRecord,
  parallelizationFactor: number,
): string {
  if (!lanesPerPartitionKey(parallelizationFactor)) return shardId;
  const partitionKey = record.kinesis.partitionKey;
  let byKey = cache.get(shardId);
  if (byKey === undefined) {
    byKey = new Map();
    cache.set(shardId, byKey);
  }
  let lane = byKey.get(partitionKey);
  if (lane === undefined) {
    lane = laneId(shardId, partitionKey, parallelizationFactor);
    byKey.set(partitionKey, lane);
  }
  return lane;
}

/** The per-event (`source: "value"`) rules, by the metric they watch. */
function valueRulesByMetric(rules: readonly AlertRule[]): Map<string, AlertRule[]> {
  const byMetric = new Map<string, AlertRule[]>();
  for (const rule of rules) {
    if (rule.source !== 'value') continue;
    byMetric.set(rule.metric, [...(byMetric.get(rule.metric) ?? []), rule]);
  }
  return byMetric;
}

/**
 * The quarantine entry of one invalid event: its own bytes, and for an event of a packed record
 * its index there (a record quarantined whole has none).
 */
function quarantined(
  record: KinesisStreamRecord,
  shardId: string,
  data: Uint8Array,
  packing: RecordPacking,
  subRecordIndex: number | undefined,
  reason: InvalidReason,
): QuarantinedRecord {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const text = bytes.toString('utf8');
  const isUtf8 = Buffer.from(text, 'utf8').equals(bytes);
  const sensorId = isUtf8 ? /"sensorId"\s*:\s*"([^"\\]{1,128})"/.exec(text)?.[1] : undefined;
  return {
    reason,
    data: isUtf8 ? text : bytes.toString('base64'),
    dataEncoding: isUtf8 ? 'utf8' : 'base64',
    shardId,
    sequenceNumber: record.kinesis.sequenceNumber,
    partitionKey: record.kinesis.partitionKey,
    arrivalTime: new Date(record.kinesis.approximateArrivalTimestamp * 1000).toISOString(),
    ...(sensorId ? { sensorId } : {}),
    ...(packing === 'single' ? {} : { packing }),
    ...(subRecordIndex === undefined ? {} : { subRecordIndex }),
  };
}

/** Where a breach comes from: a record's index, or the partial of a window rule. */
type BreachSource = number | PartialAggregate;

/** An alert group with, per breach, its source. */
interface SourcedGroup extends AlertGroup {
  readonly breaches: Breach[];
  readonly sources: BreachSource[];
}

/** The batch's breaches by (sensorId, rule), each group in processing order. */
class BreachGroups {
  private readonly bySensor = new Map<string, Map<string, SourcedGroup>>();
  private readonly ordered: SourcedGroup[] = [];

  add(breach: Breach, rule: AlertRule, source: BreachSource): void {
    let byRule = this.bySensor.get(breach.sensorId);
    if (byRule === undefined) {
      byRule = new Map();
      this.bySensor.set(breach.sensorId, byRule);
    }
    let group = byRule.get(rule.id);
    if (group === undefined) {
      group = { sensorId: breach.sensorId, rule, breaches: [], sources: [] };
      byRule.set(rule.id, group);
      this.ordered.push(group);
    }
    group.breaches.push(breach);
    group.sources.push(source);
  }

  /** In the order of each group's first breach. */
  groups(): readonly SourcedGroup[] {
    return this.ordered;
  }
}

function seriesKey(sensorId: string, metric: string): string {
  return `${sensorId}|${metric}`;
}

/** Records that failed, by index in the batch, with the first error each met. */
class FailedRecords {
  private readonly byIndex = new Map<number, Error>();

  fail(indices: Iterable<number>, error: Error): void {
    for (const i of indices) if (!this.byIndex.has(i)) this.byIndex.set(i, error);
  }

  /** By `eventID`, in batch order (Lambda retries from the first). */
  byEventId(records: readonly KinesisStreamRecord[]): Map<string, Error> {
    const failures = new Map<string, Error>();
    for (const [index, error] of [...this.byIndex.entries()].sort((a, b) => a[0] - b[0]))
      failures.set(records[index].eventID, error);
    return failures;
  }
}

/**
 * The records of one batch, where each sits (shard, lane), and the valid events again on demand.
 * Every event of a record shares its record's lane and sequence number: Lambda never splits a
 * record across batches, so the exactly-once marks hold for packed records as for single ones.
 * The valid events themselves are not kept by the first pass (keeping 10,000 of them costs the hot
 * path more in GC than decoding them again): only a conflict or a failure needs them, and then
 * they are decoded again, once, for the rest of the batch (decoding is deterministic).
 */
class BatchRecords {
  readonly outcomes: RecordOutcome[][];
  /** `laneOf`'s cache: lane by shard, then partition key. */
  private readonly lanes = new Map<string, Map<string, string>>();
  private readonly shardOfRecord: (record: KinesisStreamRecord) => string;
  /** Valid events by series (`seriesKey`), in batch order; built on first use. */
  private bySeries: Map<string, IndexedEvent[]> | undefined;

  constructor(
    readonly records: readonly KinesisStreamRecord[],
    private readonly config: SpeedConfig,
    private readonly nowMs: number,
  ) {
    this.outcomes = new Array<RecordOutcome[]>(records.length);
    this.shardOfRecord = shardsOf(records);
  }

  shardOf(record: KinesisStreamRecord): string {
    return this.shardOfRecord(record);
  }

  laneOf(shardId: string, record: KinesisStreamRecord): string {
    return laneOf(this.lanes, shardId, record, this.config.parallelizationFactor);
  }

  /** The valid events that fall in the partial's window. */
  eventsOf = (partial: PartialAggregate): IndexedEvent[] => {
    this.bySeries ??= this.redecodeValid();
    return (this.bySeries.get(seriesKey(partial.sensorId, partial.metric)) ?? []).filter(
      (e) => e.event.eventTime >= partial.windowStart && e.event.eventTime < partial.windowEnd,
    );
  };

  /** The indices of the records a breach comes from. */
  indicesOf(source: BreachSource): number[] {
    return typeof source === 'number' ? [source] : this.eventsOf(source).map((e) => e.index);
  }

  private redecodeValid(): Map<string, IndexedEvent[]> {
    const bySeries = new Map<string, IndexedEvent[]>();
    for (let index = 0; index < this.records.length; index++) {
      const outcomes = this.outcomes[index];
      if (!outcomes.includes('valid')) continue;
      const record = this.records[index];
      const { subRecords } = decodeRecordEvents(record.kinesis.data, this.nowMs, this.config.maxClockSkewMs);
      for (let sub = 0; sub < subRecords.length; sub++) {
        if (outcomes[sub] !== 'valid') continue;
        const event = subRecords[sub].result;
        if (typeof event === 'string')
          throw new Error(`record ${record.eventID} decoded differently the second time`);
        const key = seriesKey(event.sensorId, event.metric);
        let events = bySeries.get(key);
        if (events === undefined) {
          events = [];
          bySeries.set(key, events);
        }
        events.push({
          event,
          lane: this.laneOf(this.shardOf(record), record),
          sequenceNumber: record.kinesis.sequenceNumber,
          index,
        });
      }
    }
    return bySeries;
  }
}

/** What the first pass makes of the batch. */
interface FirstPass {
  readonly partials: Map<string, PartialAggregate>;
  readonly breaches: BreachGroups;
  readonly invalid: QuarantinedRecord[];
  /** Indices of the records holding an invalid event (a failed quarantine write fails them). */
  readonly invalidIndices: number[];
  readonly invalidByReason: Record<string, number>;
  readonly events: number;
  readonly valid: number;
  readonly invalidEvents: number;
  readonly late: number;
  readonly oldestEventTime: number;
}

/**
 * Step 1, one pass: decode every record into its events, classify each, fold the valid into the
 * batch's partials, and check each against the per-event alert rules (each as the role says).
 */
function firstPass(
  batch: BatchRecords,
  config: SpeedConfig,
  plan: StoragePlan,
  nowMs: number,
  role: ProcessorRole,
): FirstPass {
  const { records, outcomes } = batch;
  const invalid: QuarantinedRecord[] = [];
  const invalidIndices: number[] = [];
  const invalidByReason: Record<string, number> = {};
  const aggregator = new BatchAggregator(plan.stored);
  const aggregates = role !== 'alerts';
  const valueRules = valueRulesByMetric(role === 'aggregates' ? [] : config.alertRules);
  const breaches = new BreachGroups();
  let events = 0;
  let late = 0;
  let valid = 0;
  let invalidEvents = 0;
  let oldestEventTime = Infinity;
  /**
   * One event of record `index`: classified, counted, folded, checked against the value rules; an
   * invalid one is quarantined with its bytes (`data`) and index in a packed record.
   */
  const take = (
    event: EventOrReason,
    index: number,
    shardId: string,
    data: Uint8Array,
    packing: RecordPacking,
    subRecordIndex: number | undefined,
  ): RecordOutcome => {
    const record = records[index];
    if (typeof event === 'string') {
      if (aggregates) invalid.push(quarantined(record, shardId, data, packing, subRecordIndex, event));
      if (invalidIndices[invalidIndices.length - 1] !== index) invalidIndices.push(index);
      invalidByReason[event] = (invalidByReason[event] ?? 0) + 1;
      invalidEvents += 1;
      return 'invalid';
    }
    if (isLate(event, nowMs, config.latenessMs)) {
      late += 1;
      return 'late';
    }
    if (aggregates) aggregator.add(event, batch.laneOf(shardId, record), record.kinesis.sequenceNumber);
    valid += 1;
    if (event.eventTime < oldestEventTime) oldestEventTime = event.eventTime;
    const rules = valueRules.get(event.metric);
    if (rules !== undefined)
      for (const rule of rules) {
        const breach = valueBreach(event, rule);
        if (breach) breaches.add(breach, rule, index);
      }
    return 'valid';
  };
  for (let index = 0; index < records.length; index++) {
    const record = records[index];
    const shardId = batch.shardOf(record);
    const bytes = Buffer.from(record.kinesis.data, 'base64');
    const single = decodeSingleEvent(bytes, nowMs, config.maxClockSkewMs);
    if (single !== undefined) {
      events += 1;
      outcomes[index] = ONE_EVENT[take(single, index, shardId, bytes, 'single', undefined)];
      continue;
    }
    // A packed record (contract v1.1): its events one by one, or the record whole when it is bad.
    const { packing, subRecords, whole } = decodePackedRecord(bytes, nowMs, config.maxClockSkewMs);
    const recordOutcomes = new Array<RecordOutcome>(subRecords.length);
    events += subRecords.length;
    for (let sub = 0; sub < subRecords.length; sub++) {
      const { data, result } = subRecords[sub];
      recordOutcomes[sub] = take(result, index, shardId, data, packing, whole ? undefined : sub);
    }
    outcomes[index] = recordOutcomes;
  }
  const partials = aggregator.result();
  return {
    partials,
    breaches,
    invalid,
    invalidIndices,
    invalidByReason,
    events,
    valid,
    invalidEvents,
    late,
    oldestEventTime,
  };
}

/** What writing the partials did, and the items' states that window rules read. */
interface ItemsApplied {
  readonly itemsWritten: number;
  readonly alreadyApplied: number;
  readonly conflictsResolved: number;
  readonly currentStates: readonly StoredAggregate[];
}

/**
 * Step 2: quarantine (one object per batch) and aggregates are independent; write them together.
 * A failed write fails its records.
 */
async function writeQuarantineAndAggregates(
  batch: BatchRecords,
  pass: FirstPass,
  ports: BatchPorts,
  config: SpeedConfig,
  nowMs: number,
  failed: FailedRecords,
): Promise<ItemsApplied> {
  const [quarantineError, itemOutcomes] = await Promise.all([
    ports.quarantine.write(pass.invalid, nowMs).then(
      () => undefined,
      (error: Error) => error,
    ),
    ports.aggregates.apply(pass.partials, batch.eventsOf),
  ]);
  if (quarantineError) failed.fail(pass.invalidIndices, quarantineError);

  let itemsWritten = 0;
  let alreadyApplied = 0;
  let conflictsResolved = 0;
  // Window rules need the items' states after the update; without such rules they are not kept.
  const hasWindowRules = config.alertRules.some((r) => r.source !== 'value');
  const currentStates: StoredAggregate[] = [];
  for (const outcome of itemOutcomes) {
    if (outcome.written) itemsWritten += 1;
    alreadyApplied += outcome.alreadyApplied;
    if (!outcome.error) conflictsResolved += outcome.conflicts;
    if (outcome.error) failed.fail(batch.indicesOf(partialOf(pass.partials, outcome.id)), outcome.error);
    else if (hasWindowRules && outcome.state) currentStates.push(outcome.state);
  }
  return { itemsWritten, alreadyApplied, conflictsResolved, currentStates };
}

function partialOf(partials: ReadonlyMap<string, PartialAggregate>, id: string): PartialAggregate {
  const partial = partials.get(id);
  if (partial === undefined) throw new Error(`item ${id} is not one of the batch's partials`);
  return partial;
}

/**
 * Step 3: the window rules on the windows as they now stand. A stored window's instance is the item
 * just written; a hopping window's instances that the batch's panes fall in are composed from the
 * panes (those written now, the rest read). A failed read fails the records of those instances.
 */
async function addWindowBreaches(
  states: readonly StoredAggregate[],
  batch: BatchRecords,
  pass: FirstPass,
  ports: BatchPorts,
  config: SpeedConfig,
  plan: StoragePlan,
  failed: FailedRecords,
): Promise<void> {
  if (states.length === 0) return;
  const rules = config.alertRules;
  const add = (values: WindowValues, source: PartialAggregate): void => {
    for (const breach of windowBreaches([values], rules)) {
      const rule = rules.find((r) => r.id === breach.ruleId);
      if (rule === undefined) throw new Error(`window breach of unknown rule ${breach.ruleId}`);
      pass.breaches.add(breach, rule, source);
    }
  };
  for (const state of states) add(state, partialOf(pass.partials, aggregateKeyId(state)));

  const watched = plan.composed.filter((w) => rules.some((r) => r.source === w.name));
  const pane = plan.pane;
  if (watched.length === 0 || pane === undefined) return;
  const { compositions, missing } = composeTouched(states, watched, rules, pane);
  let read: (StoredAggregate | undefined)[];
  try {
    read = await ports.aggregates.read(missing);
  } catch (error) {
    for (const { sensorId, metric, window, starts } of compositions)
      for (const start of starts)
        failed.fail(batch.indicesOf(spanOf(sensorId, metric, window, start)), error as Error);
    return;
  }
  const panesBySeries = new Map<string, StoredAggregate[]>();
  for (const p of [...states, ...read]) {
    if (p === undefined || p.window !== pane.name) continue;
    const series = seriesKey(p.sensorId, p.metric);
    const list = panesBySeries.get(series);
    if (list) list.push(p);
    else panesBySeries.set(series, [p]);
  }
  for (const { sensorId, metric, window, starts } of compositions) {
    const panes = panesBySeries.get(seriesKey(sensorId, metric)) ?? [];
    for (const values of composeWindow(window, pane, panes, starts)) {
      add(values, spanOf(sensorId, metric, window, values.windowStart));
    }
  }
}

/**
 * An instance of `window` as the breach source `indicesOf` understands: the batch's events of the
 * series in its span (a breach's source is only read if its group fails).
 */
function spanOf(sensorId: string, metric: string, window: WindowSpec, start: number): PartialAggregate {
  return {
    sensorId,
    metric,
    window: window.name,
    windowStart: start,
    windowEnd: start + window.sizeMs,
    count: 0,
    sum: 0,
    min: Infinity,
    max: -Infinity,
    firstEventTime: start,
    lastEventTime: start,
    lanes: {},
  };
}

/**
 * For each series whose panes the batch touched and each hopping window a rule on its metric
 * watches: the instances those panes are in, and the pane keys not among the batch's own items (to
 * be read).
 */
function composeTouched(
  states: readonly StoredAggregate[],
  watched: readonly WindowSpec[],
  rules: readonly AlertRule[],
  pane: WindowSpec,
): {
  compositions: { sensorId: string; metric: string; window: WindowSpec; starts: number[] }[];
  missing: AggregateKey[];
} {
  const written = new Set<string>();
  const touched = new Map<string, { sensorId: string; metric: string; paneStarts: number[] }>();
  for (const s of states) {
    if (s.window !== pane.name) continue;
    written.add(aggregateKeyId(s));
    const series = seriesKey(s.sensorId, s.metric);
    const entry = touched.get(series) ?? { sensorId: s.sensorId, metric: s.metric, paneStarts: [] };
    entry.paneStarts.push(s.windowStart);
    touched.set(series, entry);
  }
  const compositions: { sensorId: string; metric: string; window: WindowSpec; starts: number[] }[] = [];
  const missing = new Map<string, AggregateKey>();
  for (const { sensorId, metric, paneStarts } of touched.values()) {
    for (const window of watched) {
      if (!rules.some((r) => r.source === window.name && r.metric === metric)) continue;
      const starts = [...new Set(paneStarts.flatMap((p) => instancesContaining(window, p)))];
      compositions.push({ sensorId, metric, window, starts });
      for (const start of starts) {
        for (const windowStart of panesOf(window, pane, start)) {
          const key: AggregateKey = { sensorId, metric, window: pane.name, windowStart };
          const id = aggregateKeyId(key);
          if (!written.has(id)) missing.set(id, key);
        }
      }
    }
  }
  return { compositions, missing: [...missing.values()] };
}

/** A group's outbox kept handing back other writers' alerts instead of taking this group's. */
export class AlertOutboxBusyError extends Error {
  public override readonly name = 'AlertOutboxBusyError';
}

/** Backlogs drained in a row for one group before giving up on it (its records are retried). */
const MAX_BACKLOG_DRAINS = 3;

/**
 * Records and publishes each group's alerts through the outbox in rounds of at most
 * MAX_PENDING_ALERTS breaches per group, the most one outbox write takes (contract/storage-limits.ts):
 * a batch with up to that many breaches per (sensor, rule) is one round. A round that finds alerts
 * an earlier failure left in a group's outbox publishes and clears those first, then records the
 * same breaches again. A group that fails stops; its records fail (and are retried) as a whole.
 */
async function raiseAlerts(
  groups: readonly SourcedGroup[],
  ports: BatchPorts,
  oldestPossibleBreach: number,
  nowMs: number,
  onFailure: (group: SourcedGroup, error: Error) => void,
): Promise<Alert[]> {
  const published: Alert[] = [];
  let active = groups.map((group) => ({ group, next: 0, drains: 0 }));
  while (active.length > 0) {
    const rounds = active.map(({ group, next }) => ({
      ...group,
      breaches: group.breaches.slice(next, next + MAX_PENDING_ALERTS),
    }));
    const recorded = await ports.alerts.record(rounds, oldestPossibleBreach, nowMs);
    const still: typeof active = [];
    for (let i = 0; i < active.length; i++) {
      const progress = active[i];
      const { toPublish, outboxBacklog, error } = recorded[i];
      if (error) {
        onFailure(progress.group, error);
        continue;
      }
      try {
        for (const alert of toPublish) {
          await ports.publisher.publish(alert);
          published.push(alert);
        }
        await ports.alerts.clearPending(rounds[i], toPublish);
      } catch (publishError) {
        onFailure(progress.group, publishError as Error);
        continue;
      }
      if (outboxBacklog) {
        if (progress.drains >= MAX_BACKLOG_DRAINS) {
          const message = `outbox of ${progress.group.sensorId}/${progress.group.rule.id} still held other alerts after ${MAX_BACKLOG_DRAINS} drains`;
          onFailure(progress.group, new AlertOutboxBusyError(message));
        } else still.push({ ...progress, drains: progress.drains + 1 });
      } else if (progress.next + MAX_PENDING_ALERTS < progress.group.breaches.length) {
        still.push({ group: progress.group, next: progress.next + MAX_PENDING_ALERTS, drains: 0 });
      }
    }
    active = still;
  }
  return published;
}

/**
 * Step 4: record the alerts (the store applies the cooldown), publish them, then clear them as
 * pending (`raiseAlerts`). A group that fails fails the records its breaches come from.
 */
function recordAndPublishAlerts(
  batch: BatchRecords,
  breaches: BreachGroups,
  ports: BatchPorts,
  config: SpeedConfig,
  nowMs: number,
  failed: FailedRecords,
): Promise<Alert[]> {
  const maxWindowMs = Math.max(0, ...config.windows.map((w) => w.sizeMs));
  return raiseAlerts(
    breaches.groups(),
    ports,
    nowMs - config.latenessMs - maxWindowMs,
    nowMs,
    // A breach's source (its record, or the partial whose records moved the window) is only turned
    // into record indices if its group fails: scanning the batch per window breach is not free.
    (group, error) =>
      failed.fail(
        group.sources.flatMap((source) => batch.indicesOf(source)),
        error,
      ),
  );
}

/** The outcomes of a record of one event, shared (they are never changed). */
const ONE_EVENT: Readonly<Record<RecordOutcome, RecordOutcome[]>> = {
  valid: ['valid'],
  invalid: ['invalid'],
  late: ['late'],
};

/** A record's outcome from its events' (see `BatchResult.outcomes`). */
function recordOutcome(events: readonly RecordOutcome[]): RecordOutcome {
  if (events.length === 1) return events[0];
  return events.includes('valid') ? 'valid' : events.includes('late') ? 'late' : 'invalid';
}

/** What the alert processor writes besides alerts: nothing. */
const NOTHING_APPLIED: ItemsApplied = {
  itemsWritten: 0,
  alreadyApplied: 0,
  conflictsResolved: 0,
  currentStates: [],
};

export async function processBatch(
  records: readonly KinesisStreamRecord[],
  ports: BatchPorts,
  config: SpeedConfig,
  nowMs: number,
  role: ProcessorRole = 'all',
): Promise<BatchResult> {
  // Records are tracked by their index in the batch; eventIDs are only looked up for failures.
  const batch = new BatchRecords(records, config, nowMs);
  const failed = new FailedRecords();
  // Which windows are items: derived from the config once per batch, for both steps that need it.
  const plan = storagePlan(config.windows);
  const pass = firstPass(batch, config, plan, nowMs, role);
  const items =
    role === 'alerts'
      ? NOTHING_APPLIED
      : await writeQuarantineAndAggregates(batch, pass, ports, config, nowMs, failed);
  await addWindowBreaches(items.currentStates, batch, pass, ports, config, plan, failed);
  const published = await recordAndPublishAlerts(batch, pass.breaches, ports, config, nowMs, failed);
  return {
    failures: failed.byEventId(records),
    outcomes: batch.outcomes.map(recordOutcome),
    eventOutcomes: batch.outcomes,
    published,
    stats: {
      records: records.length,
      events: pass.events,
      valid: pass.valid,
      invalid: pass.invalidEvents,
      late: pass.late,
      itemsWritten: items.itemsWritten,
      alreadyApplied: items.alreadyApplied,
      conflictsResolved: items.conflictsResolved,
      alertsPublished: published.length,
      maxEventTimeLagMs: pass.valid ? Math.max(0, nowMs - pass.oldestEventTime) : 0,
      invalidByReason: pass.invalidByReason,
    },
  };
}
