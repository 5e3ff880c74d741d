/**
 * One Kinesis batch through the speed layer: decode and validate, quarantine the invalid, skip the
 * late, fold the rest into per-item partials, apply them exactly once, raise alerts, and say which
 * records failed (so Lambda retries only from the first of them).
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import {
  aggregateBatch,
  aggregateKeyId,
  type PartialAggregate,
  type PositionedEvent,
} from '../../core/aggregate';
import { groupBreaches, valueBreaches, windowBreaches, type Alert, type Breach } from '../../core/alerts';
import { decodeRecord, isLate, type InvalidReason } from '../../core/event';
import { laneId } from '../../core/sequence';
import type { AlertRule, SpeedConfig } from '../../core/speed-config';
import type { AggregateStore, ItemOutcome } from '../adapters/aggregate-store';
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
  readonly itemsTouched: number;
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
  /** Outcome of every record by `eventID` (for local accounting under retries). */
  readonly outcomes: ReadonlyMap<string, RecordOutcome>;
  readonly published: readonly Alert[];
}

interface DecodedRecord {
  readonly record: KinesisStreamRecord;
  readonly shardId: string;
}

function shardOf(record: KinesisStreamRecord): string {
  const colon = record.eventID.lastIndexOf(':');
  return colon > 0 ? record.eventID.slice(0, colon) : 'shardId-unknown';
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

export async function processBatch(
  records: readonly KinesisStreamRecord[],
  ports: BatchPorts,
  config: SpeedConfig,
  nowMs: number,
): Promise<BatchResult> {
  const failures = new Map<string, Error>();
  const outcomes = new Map<string, RecordOutcome>();
  const fail = (eventIds: Iterable<string>, error: Error) => {
    for (const id of eventIds) if (!failures.has(id)) failures.set(id, error);
  };

  // 1. Decode and classify.
  const invalid: QuarantinedRecord[] = [];
  const invalidIds: string[] = [];
  const invalidByReason: Record<string, number> = {};
  const events: PositionedEvent[] = [];
  const eventIdOf = new Map<PositionedEvent, string>();
  let late = 0;
  let oldestEventTime = Infinity;
  for (const record of records) {
    const decoded = { record, shardId: shardOf(record) };
    const result = decodeRecord(record.kinesis.data, nowMs, config.maxClockSkewMs);
    if (!result.ok) {
      invalid.push(quarantined(decoded, result.reason));
      invalidIds.push(record.eventID);
      invalidByReason[result.reason] = (invalidByReason[result.reason] ?? 0) + 1;
      outcomes.set(record.eventID, 'invalid');
      continue;
    }
    if (isLate(result.event, nowMs, config.latenessMs)) {
      late += 1;
      outcomes.set(record.eventID, 'late');
      continue;
    }
    const positioned: PositionedEvent = {
      event: result.event,
      lane: laneId(decoded.shardId, record.kinesis.partitionKey),
      sequenceNumber: record.kinesis.sequenceNumber,
    };
    events.push(positioned);
    eventIdOf.set(positioned, record.eventID);
    outcomes.set(record.eventID, 'valid');
    if (result.event.eventTime < oldestEventTime) oldestEventTime = result.event.eventTime;
  }

  // 2. Quarantine (one object per batch) and aggregates are independent; run them together.
  const partials = aggregateBatch(events, config.windows);
  const eventsOf = (partial: PartialAggregate): PositionedEvent[] =>
    events.filter(
      (e) =>
        e.event.sensorId === partial.sensorId &&
        e.event.metric === partial.metric &&
        e.event.eventTime >= partial.windowStart &&
        e.event.eventTime < partial.windowEnd,
    );
  const idsOf = (list: readonly PositionedEvent[]) => list.map((e) => eventIdOf.get(e) as string);

  const [quarantineError, itemOutcomes] = await Promise.all([
    ports.quarantine.write(invalid, nowMs).then(
      () => undefined,
      (error: Error) => error,
    ),
    ports.aggregates.apply(partials, eventsOf),
  ]);
  if (quarantineError) fail(invalidIds, quarantineError);

  let itemsWritten = 0;
  let alreadyApplied = 0;
  let conflictsResolved = 0;
  const currentStates: ItemOutcome[] = [];
  for (const outcome of itemOutcomes) {
    if (outcome.written) itemsWritten += 1;
    alreadyApplied += outcome.alreadyApplied;
    if (!outcome.error) conflictsResolved += outcome.conflicts;
    if (outcome.error) fail(idsOf(eventsOf(partials.get(outcome.id) as PartialAggregate)), outcome.error);
    else if (outcome.state) currentStates.push(outcome);
  }

  // 3. Alerts: per-event rules on the events, window rules on the aggregates as they now stand.
  const sources = new Map<Breach, readonly string[]>();
  const breaches: Breach[] = [];
  if (config.alertRules.some((r) => r.source === 'value')) {
    for (const positioned of events) {
      for (const breach of valueBreaches([positioned.event], config.alertRules)) {
        breaches.push(breach);
        sources.set(breach, [eventIdOf.get(positioned) as string]);
      }
    }
  }
  if (config.alertRules.some((r) => r.source !== 'value')) {
    for (const outcome of currentStates) {
      const state = outcome.state as NonNullable<ItemOutcome['state']>;
      for (const breach of windowBreaches([state], config.alertRules)) {
        breaches.push(breach);
        sources.set(breach, idsOf(eventsOf(partials.get(aggregateKeyId(state)) as PartialAggregate)));
      }
    }
  }

  const rulesById = new Map<string, AlertRule>(config.alertRules.map((r) => [r.id, r]));
  const groups: AlertGroup[] = [...groupBreaches(breaches).values()].map((list) => ({
    sensorId: list[0].sensorId,
    rule: rulesById.get(list[0].ruleId) as AlertRule,
    breaches: list,
  }));
  const maxWindowMs = Math.max(0, ...config.windows.map((w) => w.sizeMs));
  const recorded = await ports.alerts.record(groups, nowMs - config.latenessMs - maxWindowMs, nowMs);

  const published: Alert[] = [];
  for (const { group, toPublish, error } of recorded) {
    const groupRecords = group.breaches.flatMap((b) => sources.get(b) ?? []);
    if (error) {
      fail(groupRecords, error);
      continue;
    }
    try {
      for (const alert of toPublish) {
        await ports.publisher.publish(alert);
        published.push(alert);
      }
      await ports.alerts.clearPending(group, toPublish);
    } catch (publishError) {
      fail(groupRecords, publishError as Error);
    }
  }

  return {
    failures,
    outcomes,
    published,
    stats: {
      records: records.length,
      valid: events.length,
      invalid: invalid.length,
      late,
      itemsTouched: partials.size,
      itemsWritten,
      alreadyApplied,
      conflictsResolved,
      alertsPublished: published.length,
      maxEventTimeLagMs: events.length ? Math.max(0, nowMs - oldestEventTime) : 0,
      invalidByReason,
    },
  };
}
