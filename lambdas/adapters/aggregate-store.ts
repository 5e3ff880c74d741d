/**
 * DynamoDB adapter for windowed aggregates, applying each batch's partials exactly once.
 *
 * Each aggregate item stores, per lane (shard + partition key), the highest sequence number already
 * applied (`marks`) and a version number. Applying a batch:
 *   1. read the touched items (BatchGetItem, consistent) — except those this store wrote last
 *      (`known`, below): their state is the one it wrote;
 *   2. drop the records each item has already absorbed (sequence ≤ its lane mark) and fold the
 *      rest into the stored state (pure `core/` code);
 *   3. write the new state with ONE conditional UpdateItem per item, conditional on the version
 *      read; on a conflict (a concurrent or replayed writer got there first) re-read and redo 2–3.
 * Retries, bisections and replays therefore never count a record twice, and no transactions are
 * needed (dynalite has none).
 *
 * No read before the write where the write can carry the check: a shard is read by one invocation
 * at a time, so the items a container wrote last are usually still as it wrote them. It keeps the
 * states it wrote (at most `knownItems`, least recently used dropped) and writes conditionally on
 * their version without reading them first. If someone else wrote since (a replay, another
 * container, another lane), the condition fails and DynamoDB hands back the item as it now is
 * (`ReturnValuesOnConditionCheckFailure`; where an emulator does not, it is read again), and the
 * batch is folded into that. A failed or unacknowledged write forgets the item. An item cannot
 * expire and come back with a cached version: TTL ≥ lateness, so no valid record recreates it.
 *
 * Size: the marks are the only part of an item that grows, one per lane that delivered records to
 * it. MAX_LANES_PER_ITEM (contract/storage-limits.ts, with its arithmetic) keeps an item under
 * DynamoDB's 400 KB; a write that would pass it fails that item's records with
 * `LaneLimitExceededError` rather than sending DynamoDB an item it rejects. The update expression
 * is fixed: its size does not grow with traffic.
 */
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  aggregateBatch,
  aggregateKeyId,
  mergeAggregates,
  type AggregateKey,
  type PartialAggregate,
  type PositionedEvent,
} from '../../core/aggregate';
import { padSequence } from '../../core/sequence';
import { MAX_LANES_PER_ITEM } from '../../contract/storage-limits';
import { aggregatePartitionKey, aggregateSortKey, WINDOW_INDEX } from '../../contract/table-keys';
import type { StoragePlan } from '../../core/panes';
import { batchGetAll } from './batch-get';
import { mapWithConcurrency } from './concurrency';

/**
 * An aggregate as stored: the fold of every record applied so far, with the lanes' sequence ranges
 * reduced to one high-water mark each, and a version for conditional writes.
 */
export type StoredAggregate = Omit<PartialAggregate, 'lanes'> & {
  /** Highest applied sequence number per lane, padded (`padSequence`) so DynamoDB compares it correctly. */
  readonly marks: Readonly<Record<string, string>>;
  readonly version: number;
};

export interface ItemOutcome {
  readonly id: string;
  /** The item's state after this batch (also when every record had already been applied). */
  readonly state?: StoredAggregate;
  readonly alreadyApplied: number;
  readonly written: boolean;
  readonly conflicts: number;
  readonly error?: Error;
}

export interface AggregateStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Which windows are items (`plan.stored`), and how long each outlives its window. */
  readonly plan: StoragePlan;
  /** Seconds after a window's end at which DynamoDB may expire its item (panes later: `plan.retainAfterEndMs`). */
  readonly ttlSeconds: number;
  /** Concurrent UpdateItem calls. @default 16 */
  readonly concurrency?: number;
  /** Conflicts tolerated per item before the item's records are reported as failed. @default 5 */
  readonly maxConflicts?: number;
  /** Item states kept from this store's own writes, to write without reading first. @default 50,000 */
  readonly knownItems?: number;
}

/** A Map that keeps its `limit` most recently used entries. */
class RecentlyUsed<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly limit: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as K);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }
}

export class ConflictRetriesExhaustedError extends Error {
  public override readonly name = 'ConflictRetriesExhaustedError';
}

/** An item would hold more exactly-once marks than fit in a DynamoDB item (MAX_LANES_PER_ITEM). */
export class LaneLimitExceededError extends Error {
  public override readonly name = 'LaneLimitExceededError';
}

export function aggregateKey(a: Pick<StoredAggregate, 'sensorId' | 'metric' | 'window' | 'windowStart'>): {
  pk: string;
  sk: string;
} {
  return { pk: aggregatePartitionKey(a.sensorId, a.metric), sk: aggregateSortKey(a.window, a.windowStart) };
}

function keyAttributes(key: { pk: string; sk: string }): Record<string, AttributeValue> {
  return { pk: { S: key.pk }, sk: { S: key.sk } };
}

const num = (v: AttributeValue | undefined): number => Number(v?.N);

/** The item attributes whose names DynamoDB reserves, as expression attribute names. */
export const RESERVED_ATTRIBUTE_NAMES = {
  '#window': 'window',
  '#count': 'count',
  '#sum': 'sum',
  '#min': 'min',
  '#max': 'max',
} as const;

export function parseStoredAggregate(item: Record<string, AttributeValue>): StoredAggregate {
  const marks: Record<string, string> = {};
  for (const [lane, value] of Object.entries(item.marks?.M ?? {})) marks[lane] = value.S as string;
  return {
    sensorId: item.sensorId.S as string,
    metric: item.metric.S as string,
    window: item.window.S as string,
    windowStart: num(item.windowStart),
    windowEnd: num(item.windowEnd),
    count: num(item.count),
    sum: num(item.sum),
    min: num(item.min),
    max: num(item.max),
    firstEventTime: num(item.firstEventTime),
    lastEventTime: num(item.lastEventTime),
    marks,
    version: num(item.version),
  };
}

/** Folds a batch partial into the stored state (or starts a new one). */
function foldInto(stored: StoredAggregate | undefined, partial: PartialAggregate): StoredAggregate {
  const marks: Record<string, string> = { ...(stored?.marks ?? {}) };
  for (const [lane, range] of Object.entries(partial.lanes)) {
    const last = padSequence(range.last);
    if (!marks[lane] || last > marks[lane]) marks[lane] = last;
  }
  const merged = stored ? mergeAggregates({ ...stored, lanes: {} }, { ...partial, lanes: {} }) : partial;
  return {
    sensorId: merged.sensorId,
    metric: merged.metric,
    window: merged.window,
    windowStart: merged.windowStart,
    windowEnd: merged.windowEnd,
    count: merged.count,
    sum: merged.sum,
    min: merged.min,
    max: merged.max,
    firstEventTime: merged.firstEventTime,
    lastEventTime: merged.lastEventTime,
    marks,
    version: (stored?.version ?? 0) + 1,
  };
}

export class AggregateStore {
  private readonly concurrency: number;
  private readonly maxConflicts: number;
  /** The states this store wrote last, by `aggregateKeyId`. */
  private readonly known: RecentlyUsed<string, StoredAggregate>;

  constructor(private readonly options: AggregateStoreOptions) {
    this.concurrency = options.concurrency ?? 16;
    this.maxConflicts = options.maxConflicts ?? 5;
    this.known = new RecentlyUsed(options.knownItems ?? 50_000);
  }

  /**
   * Applies the batch's partials exactly once. `eventsOf` returns the batch's events folded into a
   * partial; it is only called when some of them may have been applied already. Never throws for
   * one item's failure: the outcome carries the error, so only that item's records are retried.
   */
  async apply(
    partials: ReadonlyMap<string, PartialAggregate>,
    eventsOf: (partial: PartialAggregate) => readonly PositionedEvent[],
  ): Promise<ItemOutcome[]> {
    const ids = [...partials.keys()];
    const known = ids.map((id) => this.known.get(id));
    const unknown = ids.filter((_, i) => known[i] === undefined);
    const read = await this.read(unknown.map((id) => partials.get(id) as PartialAggregate));
    const stored = new Map(unknown.map((id, i) => [id, read[i]]));
    return mapWithConcurrency(ids, this.concurrency, (id, i) =>
      this.applyOne(id, partials.get(id) as PartialAggregate, eventsOf, known[i] ?? stored.get(id)),
    );
  }

  private async applyOne(
    id: string,
    batchPartial: PartialAggregate,
    eventsOf: (partial: PartialAggregate) => readonly PositionedEvent[],
    initial: StoredAggregate | undefined,
  ): Promise<ItemOutcome> {
    let current = initial;
    let conflicts = 0;
    for (;;) {
      const fresh = this.unapplied(batchPartial, eventsOf, current);
      const alreadyApplied = batchPartial.count - fresh.count;
      if (!fresh.partial) {
        return { id, state: current, alreadyApplied, written: false, conflicts };
      }
      const next = foldInto(current, fresh.partial);
      const lanes = Object.keys(next.marks).length;
      if (lanes > MAX_LANES_PER_ITEM) {
        const message = `Aggregate ${id}: records from ${lanes} lanes (shard, or shard and partition key); an item holds the marks of at most ${MAX_LANES_PER_ITEM}. Send each sensor's events with its sensorId as the partition key.`;
        return { id, alreadyApplied, written: false, conflicts, error: new LaneLimitExceededError(message) };
      }
      try {
        const state = await this.write(next, current?.version);
        this.known.set(id, state);
        return { id, state, alreadyApplied, written: true, conflicts };
      } catch (error) {
        this.known.delete(id);
        if (!(error instanceof ConditionalCheckFailedException)) {
          return { id, alreadyApplied, written: false, conflicts, error: error as Error };
        }
        conflicts += 1;
        if (conflicts > this.maxConflicts) {
          const message = `Aggregate ${id}: still conflicting after ${this.maxConflicts} re-reads`;
          return {
            id,
            alreadyApplied,
            written: false,
            conflicts,
            error: new ConflictRetriesExhaustedError(message),
          };
        }
        try {
          // The item as it is now: handed back with the failed condition, or read.
          current = error.Item ? parseStoredAggregate(error.Item) : await this.readOne(batchPartial);
        } catch (readError) {
          return { id, alreadyApplied, written: false, conflicts, error: readError as Error };
        }
      }
    }
  }

  /** The part of this batch's partial not yet absorbed by `stored`, per its lane marks. */
  private unapplied(
    batchPartial: PartialAggregate,
    eventsOf: (partial: PartialAggregate) => readonly PositionedEvent[],
    stored: StoredAggregate | undefined,
  ): { partial?: PartialAggregate; count: number } {
    const marks = stored?.marks ?? {};
    const allFresh = Object.entries(batchPartial.lanes).every(
      ([lane, range]) => !marks[lane] || marks[lane] < padSequence(range.first),
    );
    if (allFresh) return { partial: batchPartial, count: batchPartial.count };
    const fresh = eventsOf(batchPartial).filter((e) => {
      const mark = marks[e.lane];
      return !mark || padSequence(e.sequenceNumber) > mark;
    });
    if (fresh.length === 0) return { count: 0 };
    const window = this.options.plan.stored.filter((w) => w.name === batchPartial.window);
    const partial = aggregateBatch(fresh, window).get(aggregateKeyId(batchPartial));
    return { partial, count: fresh.length };
  }

  /**
   * Writes `next` whole, on the condition that the item is still at `expectedVersion` (undefined:
   * that it does not exist): the speed-layer repair's write. Throws DynamoDB's
   * ConditionalCheckFailedException (with the item as it is) when someone wrote first.
   */
  async replace(next: StoredAggregate, expectedVersion: number | undefined): Promise<StoredAggregate> {
    this.known.delete(aggregateKeyId(next));
    return this.write(next, expectedVersion);
  }

  private async write(next: StoredAggregate, expectedVersion: number | undefined): Promise<StoredAggregate> {
    const marks: Record<string, AttributeValue> = {};
    for (const [lane, seq] of Object.entries(next.marks)) marks[lane] = { S: seq };
    const n = (v: number): AttributeValue => ({ N: String(v) });
    const key = aggregateKey(next);
    // Items of the indexed window carry their sort key in the window index's key (same value at every write).
    const indexed = next.window === this.options.plan.indexed;
    const result = await this.options.client.send(
      new UpdateItemCommand({
        TableName: this.options.tableName,
        Key: keyAttributes(key),
        UpdateExpression:
          'SET sensorId = :sensorId, metric = :metric, #window = :window, windowStart = :windowStart, ' +
          'windowEnd = :windowEnd, #count = :count, #sum = :sum, #min = :min, #max = :max, ' +
          'firstEventTime = :first, lastEventTime = :last, marks = :marks, version = :version, expiresAt = :expiresAt' +
          (indexed ? `, ${WINDOW_INDEX.partitionKey} = :windowKey` : ''),
        ConditionExpression:
          expectedVersion === undefined ? 'attribute_not_exists(pk)' : 'version = :expected',
        ExpressionAttributeNames: RESERVED_ATTRIBUTE_NAMES,
        ExpressionAttributeValues: {
          ':sensorId': { S: next.sensorId },
          ':metric': { S: next.metric },
          ':window': { S: next.window },
          ':windowStart': n(next.windowStart),
          ':windowEnd': n(next.windowEnd),
          ':count': n(next.count),
          ':sum': n(next.sum),
          ':min': n(next.min),
          ':max': n(next.max),
          ':first': n(next.firstEventTime),
          ':last': n(next.lastEventTime),
          ':marks': { M: marks },
          ':version': n(next.version),
          ':expiresAt': n(this.expiresAt(next)),
          ...(expectedVersion === undefined ? {} : { ':expected': n(expectedVersion) }),
          ...(indexed ? { ':windowKey': { S: key.sk } } : {}),
        },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return result.Attributes ? parseStoredAggregate(result.Attributes) : next;
  }

  /** Epoch seconds at which DynamoDB may delete the item: its window's end (a pane's last reader's) + the TTL. */
  private expiresAt(item: StoredAggregate): number {
    const end = item.windowEnd + this.options.plan.retainAfterEndMs(item.window);
    return Math.floor(end / 1000) + this.options.ttlSeconds;
  }

  private async readOne(key: PartialAggregate): Promise<StoredAggregate | undefined> {
    const result = await this.options.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: keyAttributes(aggregateKey(key)),
        ConsistentRead: true,
      }),
    );
    return result.Item ? parseStoredAggregate(result.Item) : undefined;
  }

  /**
   * The stored item of each key, consistently read (undefined where none exists yet): the items a
   * batch folds into, and the panes a window rule composes a hopping window from.
   */
  async read(keys: readonly AggregateKey[]): Promise<(StoredAggregate | undefined)[]> {
    const keyId = (k: { pk: string; sk: string }) => `${k.pk}\n${k.sk}`;
    const items = await batchGetAll(
      this.options.client,
      this.options.tableName,
      keys.map((k) => keyAttributes(aggregateKey(k))),
    );
    const found = new Map(
      items.map((item) => [
        keyId({ pk: item.pk.S as string, sk: item.sk.S as string }),
        parseStoredAggregate(item),
      ]),
    );
    return keys.map((k) => found.get(keyId(aggregateKey(k))));
  }
}
