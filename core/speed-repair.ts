/**
 * Repairing the speed layer after dead-lettered batches, the pure part.
 *
 * An aggregate item keeps one high-water mark per lane (lambdas/adapters/aggregate-store.ts). The
 * stream processor keeps an invariant with it: an item holds exactly the valid, on-time records of
 * its window whose sequence number is at or below its lane's mark, each once. Only a batch the
 * event source gives up on breaks it: the items that batch did not reach (or reached in part,
 * before its failing write) miss its records, and the next batch moves their marks past them.
 * Marks alone cannot tell afterwards which of those records an item holds.
 *
 * The repair does not need to know. It restores the invariant: it raises each affected item's marks
 * over the given-up records of the item, and sets the item to the fold of every record of its
 * window in the stream at or below those marks (`repairItem`), written on the item's version. The
 * target is a function of the stream and the marks only, so a repair is exact whatever part of the
 * batch was applied, idempotent (a complete item is left alone) and restartable at any step; live
 * writes meanwhile only raise marks, and a conflicting write is redone on the item as it now is.
 *
 * What the processor decided about a record depends on when it processed it: a record is late
 * (`isLate`) or too far in the future (`future_timestamp`) relative to its processing time, which
 * the stream does not keep. The processor read a record no earlier than its arrival and no later
 * than now, and each decision is monotonic in time, so a record decided alike at both ends of that
 * span was decided so (`verdictsBetween`, per event of a packed record); an item that holds a record whose decision depends on the
 * instant is reported as undecidable and left as it is (the batch layer is the truth for it).
 */
import { aggregateBatch, aggregateKeyId, type AggregateKey, type WindowValues } from './aggregate';
import { isLate, type EventOrReason, type SensorEvent } from './event';
import { decodeRecordEvents } from './record-packing';
import { padSequence } from './sequence';
import type { SpeedConfig, WindowSpec } from './speed-config';

/** What the stream processor made, or must have made, of one record. */
export type Verdict =
  | { readonly kind: 'event'; readonly event: SensorEvent }
  | { readonly kind: 'skipped' }
  /** Valid and on time at some instants of the span and not at others. */
  | { readonly kind: 'uncertain'; readonly event: SensorEvent };

type Decision = { readonly kind: 'ok'; readonly event: SensorEvent } | { readonly kind: 'late' | 'future' };

/** The processor's decision on one event (or reason) of a record decoded at `nowMs`. */
function decide(
  result: EventOrReason,
  nowMs: number,
  config: Pick<SpeedConfig, 'latenessMs' | 'maxClockSkewMs'>,
): Decision | 'invalid' {
  if (result === 'future_timestamp') return { kind: 'future' };
  if (typeof result === 'string') return 'invalid';
  return isLate(result, nowMs, config.latenessMs) ? { kind: 'late' } : { kind: 'ok', event: result };
}

/** Each event of a record (contract v1.1: one, NDJSON lines or a KPL aggregate) decided at `nowMs`. */
function decideAt(
  data: string | Uint8Array,
  nowMs: number,
  config: Pick<SpeedConfig, 'latenessMs' | 'maxClockSkewMs'>,
): Array<Decision | 'invalid'> {
  return decodeRecordEvents(data, nowMs, config.maxClockSkewMs).subRecords.map(({ result }) =>
    decide(result, nowMs, config),
  );
}

/**
 * What a processor that read `data` at some instant in [fromMs, toMs] decided about each event of
 * the record, in order: the event (valid and on time at every such instant), skipped (invalid or
 * late at every one), or uncertain. The same record decoding (`decodeRecordEvents`) and `isLate` as
 * the processor's, at both ends of the span; how a record splits into events does not depend on
 * the clock, so both ends see the same events.
 */
export function verdictsBetween(
  data: string | Uint8Array,
  fromMs: number,
  toMs: number,
  config: Pick<SpeedConfig, 'latenessMs' | 'maxClockSkewMs'>,
): Verdict[] {
  const lasts = decideAt(data, toMs, config);
  const firsts = fromMs === toMs ? lasts : decideAt(data, fromMs, config);
  return lasts.map((last, index) => {
    // Every reason but a future timestamp is independent of the clock.
    if (last === 'invalid') return { kind: 'skipped' };
    const first = firsts[index] as Decision;
    if (first.kind === 'ok' && last.kind === 'ok') return { kind: 'event', event: last.event };
    if (first.kind === last.kind) return { kind: 'skipped' };
    const event = first.kind === 'ok' ? first.event : last.kind === 'ok' ? last.event : undefined;
    if (event !== undefined) return { kind: 'uncertain', event };
    // Future at the start and late at the end: valid in between, but when?
    const decoded = decodeRecordEvents(data, Number.MAX_SAFE_INTEGER, config.maxClockSkewMs).subRecords[index]
      ?.result;
    return decoded === undefined || typeof decoded === 'string'
      ? { kind: 'skipped' }
      : { kind: 'uncertain', event: decoded };
  });
}

/** A record of an item's window read from the stream, with the verdict on it. */
export interface RepairMember {
  readonly event: SensorEvent;
  readonly lane: string;
  readonly sequenceNumber: string;
  readonly uncertain: boolean;
}

/** An item as the repair sees it: its values, its lane marks (padded) and its version. */
export interface ItemState extends WindowValues {
  readonly marks: Readonly<Record<string, string>>;
  readonly version: number;
}

export type ItemRepair =
  /** The item holds every record at or below its (raised) marks: nothing to write. */
  | { readonly kind: 'complete' }
  /** What the item must hold; write it on `version` (undefined: the item must not exist yet). */
  | { readonly kind: 'write'; readonly next: ItemState; readonly missing: number }
  | { readonly kind: 'undecidable'; readonly reason: string };

/** `marks` with each lane of `raise` at least at its sequence number (both padded). */
export function raisedMarks(
  marks: Readonly<Record<string, string>>,
  raise: Readonly<Record<string, string>>,
): Record<string, string> {
  const result: Record<string, string> = { ...marks };
  for (const [lane, mark] of Object.entries(raise))
    if (!result[lane] || mark > result[lane]) result[lane] = mark;
  return result;
}

/**
 * What the item `key` of `window` must hold: every member at or below its lane's mark, the marks
 * being the stored ones raised by `raise` (the given-up records of the item, padded). `members` are
 * the records of the item's series and window the stream holds, on any lane, in any order; the
 * fold runs in lane and sequence order, so the sum is the same on every run.
 */
export function repairItem(
  key: AggregateKey,
  window: WindowSpec,
  stored: ItemState | undefined,
  members: readonly RepairMember[],
  raise: Readonly<Record<string, string>>,
): ItemRepair {
  const storedMarks = stored?.marks ?? {};
  const marks = raisedMarks(storedMarks, raise);
  const included = members
    .map((m) => ({ member: m, padded: padSequence(m.sequenceNumber) }))
    .filter(({ member, padded }) => marks[member.lane] !== undefined && padded <= marks[member.lane]);
  const uncertain = included.filter(({ member }) => member.uncertain).length;
  if (uncertain > 0)
    return {
      kind: 'undecidable',
      reason: `${uncertain} record(s) of ${aggregateKeyId(key)} were on time or valid depending on when they were processed`,
    };
  const storedCount = stored?.count ?? 0;
  const below = included.filter(({ member, padded }) => {
    const mark = storedMarks[member.lane];
    return mark !== undefined && padded <= mark;
  }).length;
  if (below < storedCount)
    return {
      kind: 'undecidable',
      reason: `${aggregateKeyId(key)} holds ${storedCount} records, the stream ${below} below its marks: records older than the read are gone`,
    };
  if (included.length === storedCount) return { kind: 'complete' };
  // Stable: the events of one packed record share its sequence number and keep their order.
  included.sort((a, b) =>
    a.member.lane !== b.member.lane
      ? a.member.lane < b.member.lane
        ? -1
        : 1
      : a.padded === b.padded
        ? 0
        : a.padded < b.padded
          ? -1
          : 1,
  );
  const values = aggregateBatch(
    included.map(({ member }) => member),
    [window],
  ).get(aggregateKeyId(key));
  if (values === undefined) throw new Error(`no record of ${aggregateKeyId(key)} folds into it`);
  return {
    kind: 'write',
    missing: included.length - storedCount,
    next: {
      sensorId: values.sensorId,
      metric: values.metric,
      window: values.window,
      windowStart: values.windowStart,
      windowEnd: values.windowEnd,
      count: values.count,
      sum: values.sum,
      min: values.min,
      max: values.max,
      firstEventTime: values.firstEventTime,
      lastEventTime: values.lastEventTime,
      marks,
      version: (stored?.version ?? 0) + 1,
    },
  };
}
