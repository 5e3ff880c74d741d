/**
 * Meters what the stream processor asks of AWS, call by call, as AWS bills it: it wraps the `send`
 * of the in-memory services' SDK clients (test/helpers/in-memory-aws.ts), which the real handler
 * and adapters call unchanged.
 *
 * - DynamoDB writes: one write request unit per started KB of the larger of the item before and
 *   after (UpdateItem, PutItem), also when the condition fails.
 * - DynamoDB reads: per key asked for (GetItem, each key of a BatchGetItem), one read request unit
 *   per started 4 KB of the item when strongly consistent, half that when eventually consistent;
 *   a missing item costs the minimum.
 * - SNS publishes, S3 puts and their bytes.
 *
 * Each call also waits a virtual round trip (`VirtualLatency`), so the time an invocation would
 * spend waiting on AWS follows from the adapters' real call pattern: sequential calls add up,
 * concurrent ones overlap.
 */
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { PublishCommand } from '@aws-sdk/client-sns';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { itemSize, type InMemoryAws } from '../test/helpers/in-memory-aws';

type Item = Record<string, AttributeValue>;

export interface AwsUsage {
  updateItemCalls: number;
  putItemCalls: number;
  /** Writes whose condition failed (billed all the same). */
  conditionalFailures: number;
  writeUnits: number;
  /** Sum of the written items' sizes after the write, bytes (for their mean). */
  writtenItemBytes: number;
  /** The largest item written, bytes. */
  maxItemBytes: number;
  batchGetItemCalls: number;
  getItemCalls: number;
  /** Keys asked for by GetItem and BatchGetItem. */
  itemsRequested: number;
  /** Of those, the items that existed. */
  itemsFound: number;
  readUnits: number;
  snsPublishes: number;
  s3Puts: number;
  s3Bytes: number;
}

export function emptyUsage(): AwsUsage {
  return {
    updateItemCalls: 0,
    putItemCalls: 0,
    conditionalFailures: 0,
    writeUnits: 0,
    writtenItemBytes: 0,
    maxItemBytes: 0,
    batchGetItemCalls: 0,
    getItemCalls: 0,
    itemsRequested: 0,
    itemsFound: 0,
    readUnits: 0,
    snsPublishes: 0,
    s3Puts: 0,
    s3Bytes: 0,
  };
}

export function writeUnits(bytesBefore: number, bytesAfter: number): number {
  return Math.max(1, Math.ceil(Math.max(bytesBefore, bytesAfter) / 1024));
}

export function readUnits(bytes: number, consistent: boolean): number {
  const units = Math.max(1, Math.ceil(bytes / 4096));
  return consistent ? units : units / 2;
}

/**
 * A clock that only moves when every pending call is waiting on it: `delay` resolves in virtual
 * time, all the calls due first together, once the event loop has nothing else to run (a
 * `setImmediate` turn). Calls made concurrently therefore overlap; calls made one after another add up.
 */
export class VirtualLatency {
  private current = 0;
  private pending: { readonly dueMs: number; readonly resolve: () => void }[] = [];
  private scheduled = false;

  get nowMs(): number {
    return this.current;
  }

  delay(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.pending.push({ dueMs: this.current + ms, resolve });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.fire());
  }

  private fire(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const due = Math.min(...this.pending.map((p) => p.dueMs));
    this.current = due;
    const ready = this.pending.filter((p) => p.dueMs <= due);
    this.pending = this.pending.filter((p) => p.dueMs > due);
    for (const p of ready) p.resolve();
    if (this.pending.length > 0) this.schedule();
  }
}

/** Assumed round trip of one call from Lambda to each service in the same region, ms. */
export interface CallLatency {
  readonly dynamodbMs: number;
  readonly snsMs: number;
  readonly s3Ms: number;
}

const keyOf = (key: Item): string => `${key.pk?.S}\n${key.sk?.S}`;

/** Wraps the clients of `aws`; `usage` counts from then on, `reset()` starts it again. */
export class AwsMeter {
  usage: AwsUsage = emptyUsage();
  /** Item sizes as last written, by key (what a write is billed against as "before"). */
  private readonly sizes = new Map<string, number>();

  constructor(
    aws: InMemoryAws,
    latency: CallLatency,
    readonly clock = new VirtualLatency(),
  ) {
    this.wrap(aws.dynamodb, latency.dynamodbMs, (command, send) => this.dynamodb(command, send));
    this.wrap(aws.sns, latency.snsMs, async (command, send) => {
      if (command instanceof PublishCommand) this.usage.snsPublishes += 1;
      return send(command);
    });
    this.wrap(aws.s3, latency.s3Ms, async (command, send) => {
      if (command instanceof PutObjectCommand) {
        this.usage.s3Puts += 1;
        this.usage.s3Bytes += Buffer.byteLength(String(command.input.Body ?? ''));
      }
      return send(command);
    });
  }

  reset(): void {
    this.usage = emptyUsage();
  }

  private wrap(
    client: { send: unknown },
    latencyMs: number,
    meter: (command: unknown, send: (command: unknown) => Promise<any>) => Promise<unknown>,
  ): void {
    const send = (client.send as (command: unknown) => Promise<any>).bind(client);
    client.send = async (command: unknown) => {
      await this.clock.delay(latencyMs);
      return meter(command, send);
    };
  }

  private async dynamodb(command: unknown, send: (command: unknown) => Promise<any>): Promise<unknown> {
    const u = this.usage;
    if (command instanceof BatchGetItemCommand) {
      u.batchGetItemCalls += 1;
      const output = await send(command);
      for (const [table, request] of Object.entries(command.input.RequestItems ?? {})) {
        const found = new Map<string, Item>(
          ((output.Responses?.[table] ?? []) as Item[]).map((item) => [keyOf(item), item]),
        );
        for (const key of request.Keys ?? [])
          this.read(found.get(keyOf(key)), request.ConsistentRead ?? false);
      }
      return output;
    }
    if (command instanceof GetItemCommand) {
      u.getItemCalls += 1;
      const output = await send(command);
      this.read(output.Item as Item | undefined, command.input.ConsistentRead ?? false);
      return output;
    }
    if (command instanceof UpdateItemCommand || command instanceof PutItemCommand) {
      const isUpdate = command instanceof UpdateItemCommand;
      if (isUpdate) u.updateItemCalls += 1;
      else u.putItemCalls += 1;
      const key =
        command instanceof UpdateItemCommand
          ? keyOf(command.input.Key as Item)
          : keyOf(command.input.Item as Item);
      const before = this.sizes.get(key) ?? 0;
      let output: any;
      try {
        output = await send(command);
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          u.conditionalFailures += 1;
          u.writeUnits += writeUnits(before, 0);
        }
        throw error;
      }
      const after = await this.itemAfterWrite(command, output, send);
      const afterBytes = after ? itemSize(after) : 0;
      this.sizes.set(key, afterBytes);
      u.writeUnits += writeUnits(before, afterBytes);
      u.writtenItemBytes += afterBytes;
      u.maxItemBytes = Math.max(u.maxItemBytes, afterBytes);
      return output;
    }
    return send(command);
  }

  private read(item: Item | undefined, consistent: boolean): void {
    this.usage.itemsRequested += 1;
    if (item) this.usage.itemsFound += 1;
    // Every stored item was written through the meter, which knows its size.
    const bytes = item ? (this.sizes.get(keyOf(item)) ?? itemSize(item)) : 0;
    this.usage.readUnits += readUnits(bytes, consistent);
  }

  /** The item as the write left it: from the response when it returns it all, else read (unmetered). */
  private async itemAfterWrite(
    command: UpdateItemCommand | PutItemCommand,
    output: any,
    send: (command: unknown) => Promise<any>,
  ): Promise<Item | undefined> {
    if (command instanceof PutItemCommand) return command.input.Item as Item;
    if (command.input.ReturnValues === 'ALL_NEW') return output.Attributes as Item | undefined;
    const read = await send(
      new GetItemCommand({
        TableName: command.input.TableName,
        Key: command.input.Key,
        ConsistentRead: true,
      }),
    );
    return read.Item as Item | undefined;
  }
}
