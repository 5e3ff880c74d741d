/**
 * The aggregate store writes without reading first the items it wrote last, and stays exactly-once
 * when someone else wrote them since: on DynamoDB Local, which hands back the item with a failed
 * condition (`ReturnValuesOnConditionCheckFailure`), as DynamoDB does.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { aggregateBatch, type PositionedEvent } from '../../core/aggregate';
import { storagePlan } from '../../core/panes';
import { AggregateStore } from '../../lambdas/adapters/aggregate-store';
import { createAggregatesTable } from '../../local/resources';
import { recentNoon } from '../helpers/clock';
import { describeOnDynamoDbLocal, dynamoDbLocalClient, useDynamoDbLocal } from '../helpers/dynamodb-local';

const MINUTE = 60_000;
const WINDOWS = [{ name: '1m', sizeMs: MINUTE, hopMs: MINUTE }];
const START = recentNoon();

function events(from: number, values: readonly number[]): PositionedEvent[] {
  return values.map((value, i) => ({
    event: {
      eventId: `e${from + i}`,
      sensorId: 'sensor-1',
      metric: 'temperature',
      value,
      unit: 'C',
      eventTime: START + (from + i) * 1000,
      timestamp: new Date(START + (from + i) * 1000).toISOString(),
    },
    lane: 'shardId-000000000000',
    sequenceNumber: String(1000 + from + i),
  }));
}

/** Counts the commands a client sends, by name. */
function countCommands(client: DynamoDBClient): Map<string, number> {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      counts.set(context.commandName as string, (counts.get(context.commandName as string) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return counts;
}

let tables = 0;

describeOnDynamoDbLocal('aggregate store: no read before a write it can check', () => {
  const ddb = useDynamoDbLocal();
  const clients: DynamoDBClient[] = [];
  afterAll(() => clients.forEach((c) => c.destroy()));

  async function setUp() {
    const tableName = `store-${++tables}`;
    const client = dynamoDbLocalClient(ddb().endpoint);
    const other = dynamoDbLocalClient(ddb().endpoint);
    clients.push(client, other);
    await createAggregatesTable(client, tableName, 10_000);
    const options = { tableName, plan: storagePlan(WINDOWS), ttlSeconds: 7 * 86_400 };
    return {
      store: new AggregateStore({ client, ...options }),
      commands: countCommands(client),
      otherStore: new AggregateStore({ client: other, ...options }),
    };
  }

  const apply = (store: AggregateStore, batch: readonly PositionedEvent[]) =>
    store.apply(aggregateBatch(batch, WINDOWS), () => batch);

  test('the second batch on an item it wrote is one UpdateItem and no read', async () => {
    const { store, commands } = await setUp();

    await apply(store, events(0, [1, 2]));
    const readsAfterFirst =
      (commands.get('BatchGetItemCommand') ?? 0) + (commands.get('GetItemCommand') ?? 0);
    const [second] = await apply(store, events(2, [3]));

    expect(readsAfterFirst).toBe(1);
    expect(commands.get('BatchGetItemCommand') ?? 0).toBe(1);
    expect(commands.get('GetItemCommand') ?? 0).toBe(0);
    expect(commands.get('UpdateItemCommand')).toBe(2);
    expect(second.state).toMatchObject({ count: 3, sum: 6, min: 1, max: 3, version: 2 });
  });

  test('an item another writer changed since is folded as it now is, from the failed condition', async () => {
    const { store, commands, otherStore } = await setUp();

    await apply(store, events(0, [1, 2]));
    // Another container takes the shard over, replays the first batch and adds a record.
    await apply(otherStore, events(0, [1, 2, 5]));
    const [outcome] = await apply(store, events(2, [5, 7]));

    expect(outcome.conflicts).toBe(1);
    expect(commands.get('GetItemCommand') ?? 0).toBe(0);
    expect(outcome.alreadyApplied).toBe(1);
    expect(outcome.state).toMatchObject({ count: 4, sum: 15, min: 1, max: 7, version: 3 });
  });

  test('replaying what it wrote changes nothing and sends nothing', async () => {
    const { store, commands } = await setUp();

    await apply(store, events(0, [1, 2]));
    const before = commands.get('UpdateItemCommand');
    const [replayed] = await apply(store, events(0, [1, 2]));

    expect(replayed.written).toBe(false);
    expect(replayed.alreadyApplied).toBe(2);
    expect(commands.get('UpdateItemCommand')).toBe(before);
    expect(replayed.state).toMatchObject({ count: 2, sum: 3, version: 1 });
  });
});
