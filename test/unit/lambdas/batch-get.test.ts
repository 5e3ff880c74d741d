import type { AttributeValue, BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { batchGetAll, UnprocessedKeysError } from '../../../lambdas/adapters/batch-get';

type Item = Record<string, AttributeValue>;
const key = (i: number): Item => ({ pk: { S: `k${i}` }, sk: { S: 's' } });

/** A stand-in client: answers each request with `respond`, recording the keys asked for. */
function fakeClient(respond: (keys: Item[], call: number) => { found: Item[]; unprocessed: Item[] }) {
  const requests: Item[][] = [];
  const client = {
    send: async (command: BatchGetItemCommand) => {
      const keys = command.input.RequestItems!.t.Keys as Item[];
      requests.push(keys);
      const { found, unprocessed } = respond(keys, requests.length - 1);
      return {
        Responses: { t: found },
        UnprocessedKeys: unprocessed.length ? { t: { Keys: unprocessed } } : {},
      };
    },
  } as unknown as DynamoDBClient;
  return { client, requests };
}

test('asks for at most 100 keys per request', async () => {
  const { client, requests } = fakeClient((keys) => ({ found: keys, unprocessed: [] }));

  const items = await batchGetAll(
    client,
    't',
    Array.from({ length: 250 }, (_, i) => key(i)),
  );

  expect(requests.map((r) => r.length)).toEqual([100, 100, 50]);
  expect(items).toHaveLength(250);
});

test('asks again for the keys DynamoDB left unprocessed', async () => {
  const { client, requests } = fakeClient((keys, call) =>
    call === 0 ? { found: keys.slice(0, 2), unprocessed: keys.slice(2) } : { found: keys, unprocessed: [] },
  );

  const items = await batchGetAll(client, 't', [key(1), key(2), key(3)]);

  expect(requests[1]).toEqual([key(3)]);
  expect(items).toEqual([key(1), key(2), key(3)]);
});

test('gives up with a typed error when keys stay unprocessed', async () => {
  const { client } = fakeClient((keys) => ({ found: [], unprocessed: keys }));

  await expect(batchGetAll(client, 't', [key(1)])).rejects.toThrow(UnprocessedKeysError);
});
