/**
 * The speed-layer repair of given-up batches (the algorithm is in core/speed-repair.ts's header):
 *
 *   1. read each batch's records back from the stream (AT_SEQUENCE_NUMBER, first to last);
 *   2. find the window items their valid, on-time records fall in (`aggregateBatch` over the stored
 *      windows, as the processor folds them), and read those items;
 *   3. read the shards of the items' lanes from shortly before the earliest of their windows up to
 *      their marks, keeping the records of the items' series (`verdictsBetween` decides each record
 *      as the processor did);
 *   4. per item, `repairItem`; write the result on the item's version, and on a conflict (live
 *      traffic wrote the item meanwhile) read on to its new marks and redo it;
 *   5. run the batch through `processBatch` in the processor's role, as Lambda would have had it
 *      succeeded: every record is now at or below its items' marks, so nothing is folded twice,
 *      and the per-event and window rules raise the alerts those records should have raised
 *      (deterministic alertIds and the cooldown state make a repeat harmless); the invalid records
 *      are quarantined.
 * Every step can be interrupted and the whole run again: step 4 leaves complete items alone, step 5
 * is the processor's own exactly-once path. A batch is `repaired` only when both steps succeeded for
 * it; its on-failure message may be deleted then, and only then.
 *
 * Cost per repaired batch: one GetRecords pass over its range, one over each affected shard from the
 * earliest affected window's start (less `readLookbackMs` and the clock skew) to now, shared by every
 * batch of the run; one consistent read per affected item, one conditional write per item that
 * lacked records, and `processBatch`'s reads (docs/speed-repair.md has the figures).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { KinesisStreamRecord } from 'aws-lambda';
import {
  aggregateBatch,
  aggregateKeyId,
  type AggregateKey,
  type PartialAggregate,
  type PositionedEvent,
} from '../../core/aggregate';
import { storagePlan } from '../../core/panes';
import { laneId, padSequence } from '../../core/sequence';
import type { ProcessorRole, SpeedConfig, WindowSpec } from '../../core/speed-config';
import { repairItem, raisedMarks, verdictsBetween, type RepairMember } from '../../core/speed-repair';
import { windowsCovering } from '../../core/windows';
import { parseStoredAggregate, type AggregateStore, type StoredAggregate } from '../adapters/aggregate-store';
import { mapWithConcurrency } from '../adapters/concurrency';
import type { StreamReader } from '../adapters/stream-reader';
import { processBatch, type BatchPorts } from '../stream-processor/process-batch';

/** A given-up batch: one shard's records from the first to the last sequence number. */
export interface GivenUpBatch {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
}

export interface RepairPorts {
  readonly stream: Pick<StreamReader, 'readRange' | 'scanFrom'>;
  readonly aggregates: Pick<AggregateStore, 'read' | 'replace'>;
  /** What `processBatch` replays the batch through (alerts, quarantine; the aggregates are complete). */
  readonly batch: BatchPorts;
}

export interface RepairOptions {
  readonly config: SpeedConfig;
  /** The role of the processor that gave the batches up. */
  readonly role: ProcessorRole;
  readonly nowMs: number;
  /**
   * How long before its window a record may have arrived and still been folded into it (a producer
   * clock behind, a backlog): the shards are read from the earliest affected window's start less
   * this and `maxClockSkew`. An item whose records arrived earlier is reported undecidable when the
   * read misses some of them (core/speed-repair.ts). @default 1 hour
   */
  readonly readLookbackMs?: number;
  /** Conflicting writes tolerated per item before its batches fail this run. @default 10 */
  readonly maxConflicts?: number;
  /** Items repaired at once. @default 16 */
  readonly concurrency?: number;
  /** Called between the steps (`read`, `items`, `replay`): tests interrupt a run there. */
  readonly onStep?: (step: RepairStep) => void | Promise<void>;
}

export type RepairStep = 'read' | 'items' | 'replay';

export type BatchStatus = 'repaired' | 'failed' | 'expired';

export interface BatchRepair {
  readonly batch: GivenUpBatch;
  readonly status: BatchStatus;
  /** Records read back for it. */
  readonly records: number;
  readonly error?: Error;
}

export interface RepairReport {
  readonly batches: readonly BatchRepair[];
  /** Items written, and the records they lacked. */
  readonly itemsWritten: number;
  readonly recordsRestored: number;
  /** Items that already held every record. */
  readonly itemsComplete: number;
  /** Writes that lost to a live write and were redone on the item as it then was. */
  readonly conflicts: number;
  /** Items left as they are, with why (core/speed-repair.ts). */
  readonly undecidable: readonly string[];
  readonly alertsPublished: number;
}

const HOUR_MS = 3_600_000;

export class ItemConflictsExhaustedError extends Error {
  public override readonly name = 'ItemConflictsExhaustedError';
}

/** A sequence number as Kinesis writes it, from its padded form. */
function unpadded(mark: string): string {
  return mark.replace(/^0+(?=\d)/, '');
}

function shardOfLane(lane: string): string {
  const slash = lane.indexOf('/');
  return slash < 0 ? lane : lane.slice(0, slash);
}

/** An item to repair: its key, window, the batches whose records fall in it, and their highest per lane. */
interface Target {
  readonly id: string;
  readonly key: AggregateKey;
  readonly window: WindowSpec;
  readonly batches: Set<number>;
  raise: Record<string, string>;
}

interface ReadBatch {
  readonly batch: GivenUpBatch;
  readonly records: readonly KinesisStreamRecord[];
}

export async function repairBatches(
  batches: readonly GivenUpBatch[],
  ports: RepairPorts,
  options: RepairOptions,
): Promise<RepairReport> {
  const read: ReadBatch[] = [];
  const failed = new Map<number, Error>();
  for (const batch of batches) {
    try {
      read.push({
        batch,
        records: await ports.stream.readRange(
          batch.shardId,
          batch.startSequenceNumber,
          batch.endSequenceNumber,
        ),
      });
    } catch (error) {
      // One range that cannot be read (a shard gone, a throttled read) fails only its batch.
      failed.set(read.length, error as Error);
      read.push({ batch, records: [] });
    }
  }
  await options.onStep?.('read');
  const items =
    options.role === 'alerts'
      ? { written: 0, restored: 0, complete: 0, conflicts: 0, undecidable: [] as string[] }
      : await repairItems(read, ports, options, failed);
  await options.onStep?.('items');

  let alertsPublished = 0;
  const outcomes: BatchRepair[] = [];
  for (let i = 0; i < read.length; i++) {
    const { batch, records } = read[i];
    const error = failed.get(i);
    if (error) {
      outcomes.push({ batch, status: 'failed', records: records.length, error });
      continue;
    }
    if (records.length === 0) {
      outcomes.push({ batch, status: 'expired', records: 0 });
      continue;
    }
    const result = await processBatch(records, ports.batch, options.config, options.nowMs, options.role);
    alertsPublished += result.stats.alertsPublished;
    const [first] = result.failures.values();
    outcomes.push(
      first
        ? { batch, status: 'failed', records: records.length, error: first }
        : { batch, status: 'repaired', records: records.length },
    );
  }
  await options.onStep?.('replay');
  return {
    batches: outcomes,
    itemsWritten: items.written,
    recordsRestored: items.restored,
    itemsComplete: items.complete,
    conflicts: items.conflicts,
    undecidable: items.undecidable,
    alertsPublished,
  };
}

/** Steps 2–4; a failed item fails (in `failed`) every batch whose records fall in it. */
async function repairItems(
  read: readonly ReadBatch[],
  ports: RepairPorts,
  options: RepairOptions,
  failed: Map<number, Error>,
): Promise<{
  written: number;
  restored: number;
  complete: number;
  conflicts: number;
  undecidable: string[];
}> {
  const { config, nowMs } = options;
  const plan = storagePlan(config.windows);
  const verdictsOf = (record: KinesisStreamRecord) =>
    verdictsBetween(
      record.kinesis.data,
      Math.min(record.kinesis.approximateArrivalTimestamp * 1000, nowMs),
      nowMs,
      config,
    );
  const laneOf = (record: KinesisStreamRecord): string =>
    laneId(
      record.eventID.slice(0, record.eventID.lastIndexOf(':')),
      record.kinesis.partitionKey,
      config.parallelizationFactor,
    );

  // Step 2: the items of the batches' records (uncertain ones too: their items are undecidable).
  const targets = new Map<string, Target>();
  let earliestArrival = nowMs;
  read.forEach(({ records }, index) => {
    const positioned: PositionedEvent[] = [];
    for (const record of records) {
      earliestArrival = Math.min(earliestArrival, record.kinesis.approximateArrivalTimestamp * 1000);
      for (const verdict of verdictsOf(record))
        if (verdict.kind !== 'skipped')
          positioned.push({
            event: verdict.event,
            lane: laneOf(record),
            sequenceNumber: record.kinesis.sequenceNumber,
          });
    }
    for (const [id, partial] of aggregateBatch(positioned, plan.stored)) {
      const raise = lanesRaise(partial);
      const target = targets.get(id);
      if (target) {
        target.batches.add(index);
        target.raise = raisedMarks(target.raise, raise);
      } else {
        const window = plan.stored.find((w) => w.name === partial.window) as WindowSpec;
        targets.set(id, { id, key: partial, window, batches: new Set([index]), raise });
      }
    }
  });
  const list = [...targets.values()];
  if (list.length === 0) return { written: 0, restored: 0, complete: 0, conflicts: 0, undecidable: [] };
  const stored = await ports.aggregates.read(list.map((t) => t.key));

  // Step 3: the records of the items' series, from the shards of their lanes.
  const members = new Map<string, RepairMember[]>(list.map((t) => [t.id, []]));
  const series = new Set(list.map((t) => `${t.key.sensorId}|${t.key.metric}`));
  const fromMs = Math.min(
    earliestArrival,
    ...list.map((t) => t.key.windowStart - config.maxClockSkewMs - (options.readLookbackMs ?? HOUR_MS)),
  );
  const onRecord = (record: KinesisStreamRecord): void => {
    for (const verdict of verdictsOf(record)) {
      if (verdict.kind === 'skipped') continue;
      const { event } = verdict;
      if (!series.has(`${event.sensorId}|${event.metric}`)) continue;
      const member: RepairMember = {
        event,
        lane: laneOf(record),
        sequenceNumber: record.kinesis.sequenceNumber,
        uncertain: verdict.kind === 'uncertain',
      };
      for (const window of plan.stored)
        for (const { start } of windowsCovering(event.eventTime, window))
          members.get(aggregateKeyId({ ...event, window: window.name, windowStart: start }))?.push(member);
    }
  };
  const scans = new Map<string, ReturnType<RepairPorts['stream']['scanFrom']>>();
  const serialised = new Map<string, Promise<void>>();
  /** Reads every shard of `marks`' lanes up to its mark (one read at a time per shard). */
  const readThrough = async (marks: Readonly<Record<string, string>>): Promise<void> => {
    const highest = new Map<string, string>();
    for (const [lane, mark] of Object.entries(marks)) {
      const shard = shardOfLane(lane);
      const current = highest.get(shard);
      if (current === undefined || mark > current) highest.set(shard, mark);
    }
    await Promise.all(
      [...highest].map(([shard, mark]) => {
        let scan = scans.get(shard);
        if (scan === undefined) {
          scan = ports.stream.scanFrom(shard, fromMs, onRecord);
          scans.set(shard, scan);
        }
        const next = (serialised.get(shard) ?? Promise.resolve()).then(() =>
          scan.readThrough(unpadded(mark)),
        );
        serialised.set(
          shard,
          next.catch(() => undefined),
        );
        return next;
      }),
    );
  };

  // Step 4: each item, on its version, redone on conflicts.
  let written = 0;
  let restored = 0;
  let complete = 0;
  let conflictCount = 0;
  const undecidable: string[] = [];
  const maxConflicts = options.maxConflicts ?? 10;
  await mapWithConcurrency(list, options.concurrency ?? 16, async (target, index) => {
    let current: StoredAggregate | undefined = stored[index];
    try {
      for (let conflicts = 0; ; conflicts++) {
        await readThrough(raisedMarks(current?.marks ?? {}, target.raise));
        const repair = repairItem(
          target.key,
          target.window,
          current,
          members.get(target.id) ?? [],
          target.raise,
        );
        if (repair.kind === 'complete') {
          complete += 1;
          return;
        }
        if (repair.kind === 'undecidable') {
          undecidable.push(repair.reason);
          return;
        }
        try {
          await ports.aggregates.replace(repair.next, current?.version);
          written += 1;
          restored += repair.missing;
          return;
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
          conflictCount += 1;
          if (conflicts >= maxConflicts)
            throw new ItemConflictsExhaustedError(
              `item ${target.id}: still conflicting with live writes after ${maxConflicts} re-reads`,
            );
          current = error.Item
            ? parseStoredAggregate(error.Item)
            : (await ports.aggregates.read([target.key]))[0];
        }
      }
    } catch (error) {
      for (const batch of target.batches) if (!failed.has(batch)) failed.set(batch, error as Error);
    }
  });
  return { written, restored, complete, conflicts: conflictCount, undecidable };
}

/** A partial's lanes' last sequence numbers, padded (the marks an item must reach). */
function lanesRaise(partial: PartialAggregate): Record<string, string> {
  const raise: Record<string, string> = {};
  for (const [lane, range] of Object.entries(partial.lanes)) raise[lane] = padSequence(range.last);
  return raise;
}
