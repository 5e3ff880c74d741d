/**
 * Consistent reads of many items of one table: BatchGetItem in requests of 100 keys (its limit),
 * re-asking for the keys DynamoDB leaves unprocessed under load, with a short backoff.
 */
import { BatchGetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

type Item = Record<string, AttributeValue>;

const KEYS_PER_REQUEST = 100;
const MAX_ATTEMPTS = 9;

export class UnprocessedKeysError extends Error {
  public override readonly name = 'UnprocessedKeysError';
}

/**
 * Every item found for `keys`, in no particular order (missing items are simply absent). Reads are
 * strongly consistent unless `consistentRead` is false (half the read units; a write may show up to
 * a second late), which serves readers outside the speed layer's own read-modify-write.
 */
export async function batchGetAll(
  client: DynamoDBClient,
  tableName: string,
  keys: readonly Item[],
  options: { readonly consistentRead?: boolean } = {},
): Promise<Item[]> {
  const items: Item[] = [];
  for (let i = 0; i < keys.length; i += KEYS_PER_REQUEST) {
    let pending = keys.slice(i, i + KEYS_PER_REQUEST);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_ATTEMPTS) {
        throw new UnprocessedKeysError(
          `BatchGetItem on ${tableName} left ${pending.length} keys unprocessed after ${MAX_ATTEMPTS} attempts`,
        );
      }
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * 2 ** attempt)));
      const result = await client.send(
        new BatchGetItemCommand({
          RequestItems: {
            [tableName]: { Keys: [...pending], ConsistentRead: options.consistentRead ?? true },
          },
        }),
      );
      items.push(...(result.Responses?.[tableName] ?? []));
      pending = (result.UnprocessedKeys?.[tableName]?.Keys ?? []) as Item[];
    }
  }
  return items;
}
