/**
 * One Kinesis batch through the speed layer: decode and validate, quarantine the invalid, skip the
 * late, fold the rest into per-item partials, apply them exactly once, raise alerts, and say which
 * records failed (so Lambda retries only from the first of them).
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import {
  BatchAggregator,
  aggregateKeyId,
  type PartialAggregate,
  type PositionedEvent,
} from '../../core/aggregate';
import { valueBreach, windowBreaches, type Alert, type Breach } from '../../core/alerts';
import { decodeEvent, isLate, type InvalidReason } from '../../core/event';
import { laneId, lanesPerPartitionKey } from '../../core/sequence';
import { MAX_PENDING_ALERTS } from '../../contract/storage-limits';
import type { AlertRule, SpeedConfig } from '../../core/speed-config';
import type { AggregateStore, StoredAggregate } from '../adapters/aggregate-store';
import type { AlertPublisher } from '../adapters/alert-publisher';
import type { AlertGroup, AlertStore } from '../adapters/alert-store';
import type { QuarantineWriter, QuarantinedRecord } from '../adapters/quarantine-writer';

/** What the batch needs from the outside world (adapters in production, fakes in unit tests). */
export interface BatchPorts {
  readonly aggregates: Pick<AggregateStore, 'apply'>;
  readonly alerts: Pick<AlertStore, 'record' | 'clearPending'>;
  readonly publisher: Pick<AlertPublisher, 'publish'>;
  readonly quarantine: Pick<QuarantineWriter, 'write'>;
}

export type RecordOutcome = 'valid' | 'invalid' | 'late';

export interface BatchStats {
  readonly records: number;
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
  /** Outcome of every record, in the order of the batch (for local accounting under retries). */
  readonly outcomes: readonly RecordOutcome[];
  readonly published: readonly Alert[];
}

interface IndexedEvent extends PositionedEvent {
  /** Position of the record in the batch. */
  readonly index: number;
}

interface DecodedRecord {
  readonly record: KinesisStreamRecord;
  readonly shardId: string;
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

function quarantined(decoded: DecodedRecord, reason: InvalidReason): QuarantinedRecord {
  const bytes = Buffer.from(decoded.record.kinesis.data, 'base64');
  const text = bytes.toString('utf8');
  const isUtf8 = Buffer.from(text, 'utf8').equals(bytes);
  const sensorId = isUtf8 ? /"sensorId"\s*:\s*"([^"\\]{1,128})"/.exec(text)?.[1] : undefined;
  return {
    reason,
    data: isUtf8 ? text : bytes.toString('base64'),
    dataEncoding: isUtf8 ? 'utf8' : 'base64',
    shardId: decoded.shardId,
    sequenceNumber: decoded.record.kinesis.sequenceNumber,
    partitionKey: decoded.record.kinesis.partitionKey,
    arrivalTime: new Date(decoded.record.kinesis.approximateArrivalTimestamp * 1000).toISOString(),
    ...(sensorId ? { sensorId } : {}),
  };
}

/** An alert group with, per breach, its source: a record's index, or the partial of a window rule. */
interface SourcedGroup extends AlertGroup {
  readonly breaches: Breach[];
  readonly sources: (number | PartialAggregate)[];
}

/** The batch's breaches by (sensorId, rule), each group in processing order. */
class BreachGroups {
  private readonly bySensor = new Map<string, Map<string, SourcedGroup>>();
  private readonly ordered: SourcedGroup[] = [];

  add(breach: Breach, rule: AlertRule, source: number | PartialAggregate): void {
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

/**
 * The batch's valid events again, decoded as in the first pass (decoding is deterministic), by
 * series (`seriesKey`), in batch order.
 */
function redecodeValid(
  records: readonly KinesisStreamRecord[],
  outcomes: readonly RecordOutcome[],
  nowMs: number,
  config: Pick<SpeedConfig, 'maxClockSkewMs' | 'parallelizationFactor'>,
  shardOfRecord: (record: KinesisStreamRecord) => string,
  lanes: Map<string, Map<string, string>>,
): Map<string, IndexedEvent[]> {
  const bySeries = new Map<string, IndexedEvent[]>();
  for (let index = 0; index < records.length; index++) {
    if (outcomes[index] !== 'valid') continue;
    const record = records[index];
    const event = decodeEvent(record.kinesis.data, nowMs, config.maxClockSkewMs);
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
      lane: laneOf(lanes, shardOfRecord(record), record, config.parallelizationFactor),
      sequenceNumber: record.kinesis.sequenceNumber,
      index,
    });
  }
  return bySeries;
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

export async function processBatch(
  records: readonly KinesisStreamRecord[],
  ports: BatchPorts,
  config: SpeedConfig,
  nowMs: number,
): Promise<BatchResult> {
  // Records are tracked by their index in the batch; eventIDs are only looked up for failures.
  const failed = new Map<number, Error>();
  const outcomes = new Array<RecordOutcome>(records.length);
  const fail = (indices: Iterable<number>, error: Error) => {
    for (const i of indices) if (!failed.has(i)) failed.set(i, error);
  };

  // 1. One pass: decode and classify, fold the valid into the batch's partials, and check each
  // against the per-event alert rules.
  const invalid: QuarantinedRecord[] = [];
  const invalidIndices: number[] = [];
  const invalidByReason: Record<string, number> = {};
  const aggregator = new BatchAggregator(config.windows);
  const valueRules = valueRulesByMetric(config.alertRules);
  const breaches = new BreachGroups();
  let late = 0;
  let valid = 0;
  let oldestEventTime = Infinity;
  const lanes = new Map<string, Map<string, string>>();
  const shardOfRecord = shardsOf(records);
  for (let index = 0; index < records.length; index++) {
    const record = records[index];
    const shardId = shardOfRecord(record);
    const event = decodeEvent(record.kinesis.data, nowMs, config.maxClockSkewMs);
    if (typeof event === 'string') {
      invalid.push(quarantined({ record, shardId }, event));
      invalidIndices.push(index);
      invalidByReason[event] = (invalidByReason[event] ?? 0) + 1;
      outcomes[index] = 'invalid';
      continue;
    }
    if (isLate(event, nowMs, config.latenessMs)) {
      late += 1;
      outcomes[index] = 'late';
      continue;
    }
    const lane = laneOf(lanes, shardId, record, config.parallelizationFactor);
    const sequenceNumber = record.kinesis.sequenceNumber;
    aggregator.add(event, lane, sequenceNumber);
    valid += 1;
    outcomes[index] = 'valid';
    if (event.eventTime < oldestEventTime) oldestEventTime = event.eventTime;
    const rules = valueRules.get(event.metric);
    if (rules === undefined) continue;
    for (const rule of rules) {
      const breach = valueBreach(event, rule);
      if (breach) breaches.add(breach, rule, index);
    }
  }

  // 2. Quarantine (one object per batch) and aggregates are independent; run them together.
  const partials = aggregator.result();
  // The valid events themselves are not kept (keeping 10,000 of them costs the hot path more in GC
  // than decoding them again): only a conflict or a failure needs them, and then they are decoded
  // again, once, for the rest of the batch.
  let bySeries: Map<string, IndexedEvent[]> | undefined;
  const eventsOf = (partial: PartialAggregate): IndexedEvent[] => {
    bySeries ??= redecodeValid(records, outcomes, nowMs, config, shardOfRecord, lanes);
    return (bySeries.get(seriesKey(partial.sensorId, partial.metric)) ?? []).filter(
      (e) => e.event.eventTime >= partial.windowStart && e.event.eventTime < partial.windowEnd,
    );
  };
  const indicesOf = (list: readonly IndexedEvent[]) => list.map((e) => e.index);

  const [quarantineError, itemOutcomes] = await Promise.all([
    ports.quarantine.write(invalid, nowMs).then(
      () => undefined,
      (error: Error) => error,
    ),
    ports.aggregates.apply(partials, eventsOf),
  ]);
  if (quarantineError) fail(invalidIndices, quarantineError);

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
    if (outcome.error) fail(indicesOf(eventsOf(partials.get(outcome.id) as PartialAggregate)), outcome.error);
    else if (hasWindowRules && outcome.state) currentStates.push(outcome.state);
  }

  // 3. Window rules on the aggregates as they now stand.
  if (hasWindowRules) {
    for (const state of currentStates) {
      for (const breach of windowBreaches([state], config.alertRules)) {
        const rule = config.alertRules.find((r) => r.id === breach.ruleId) as AlertRule;
        breaches.add(breach, rule, partials.get(aggregateKeyId(state)) as PartialAggregate);
      }
    }
  }

  const maxWindowMs = Math.max(0, ...config.windows.map((w) => w.sizeMs));
  const published = await raiseAlerts(
    breaches.groups(),
    ports,
    nowMs - config.latenessMs - maxWindowMs,
    nowMs,
    (group, error) =>
      // A breach's source (its record, or the partial whose records moved the window) is only turned
      // into record indices if its group fails: scanning the batch per window breach is not free.
      fail(
        group.sources.flatMap((source) =>
          typeof source === 'number' ? [source] : indicesOf(eventsOf(source)),
        ),
        error,
      ),
  );

  const failures = new Map<string, Error>();
  for (const [index, error] of [...failed.entries()].sort((a, b) => a[0] - b[0]))
    failures.set(records[index].eventID, error);
  return {
    failures,
    outcomes,
    published,
    stats: {
      records: records.length,
      valid,
      invalid: invalid.length,
      late,
      itemsWritten,
      alreadyApplied,
      conflictsResolved,
      alertsPublished: published.length,
      maxEventTimeLagMs: valid ? Math.max(0, nowMs - oldestEventTime) : 0,
      invalidByReason,
    },
  };
}
