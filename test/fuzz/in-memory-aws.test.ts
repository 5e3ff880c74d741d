/**
 * The in-memory DynamoDB the fuzz tests run on answers like dynalite over the wire: the same
 * commands, sent through real SDK clients to both, give the same results and the same errors.
 */
import {
  BatchGetItemCommand,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { startDynalite } from '../../local/emulators/dynalite';
import { createAggregatesTable } from '../../local/resources';
import type { RunningEmulator } from '../../local/emulators/listen';
import { InMemoryAws } from '../helpers/in-memory-aws';

const TABLE = 'parity';
let dynalite: RunningEmulator;
let wire: DynamoDBClient;
const memory = new InMemoryAws({
  tableName: TABLE,
  topicArn: 'arn:aws:sns:us-east-1:000000000000:t',
  bucket: 'b',
});

beforeAll(async () => {
  dynalite = await startDynalite();
  wire = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: dynalite.url,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  await createAggregatesTable(wire, TABLE, 10_000);
});

afterAll(async () => {
  wire?.destroy();
  memory.destroy();
  await dynalite?.stop();
});

const key = (pk: string): Record<string, AttributeValue> => ({ pk: { S: pk }, sk: { S: 'x' } });
type Command = UpdateItemCommand | GetItemCommand | BatchGetItemCommand;

/** What a command gives: the error's name, or the result without metadata. */
async function outcome(client: DynamoDBClient, command: Command): Promise<unknown> {
  try {
    const { $metadata: _metadata, ...result } = await client.send(command as UpdateItemCommand);
    return result;
  } catch (error) {
    return { error: (error as Error).name };
  }
}

async function both(make: () => Command): Promise<[unknown, unknown]> {
  return [await outcome(wire, make()), await outcome(memory.dynamodb, make())];
}

const setNumber = (pk: string, n: string) => () =>
  new UpdateItemCommand({
    TableName: TABLE,
    Key: key(pk),
    UpdateExpression: 'SET #v = :v',
    ExpressionAttributeNames: { '#v': 'v' },
    ExpressionAttributeValues: { ':v': { N: n } },
    ReturnValues: 'ALL_NEW',
  });

test.each([
  '21.5',
  '-0',
  '1e-130',
  '9.9999999999999999999999999999999999999e125',
  '1e+125',
  '0.30000000000000004',
])('stores the number %s as dynalite does', async (n) => {
  const [overWire, inMemory] = await both(setNumber(`ok-${n}`, n));

  expect(inMemory).toEqual(overWire);
  expect(overWire).toHaveProperty('Attributes');
});

test.each([
  '1e+126',
  '1e200',
  '1.7976931348623157e+308',
  '5e-324',
  '1e-131',
  'Infinity',
  'NaN',
  '1'.repeat(39),
])('rejects the number %s as dynalite does', async (n) => {
  const [overWire, inMemory] = await both(setNumber(`bad-${n}`, n));

  expect(inMemory).toEqual(overWire);
  expect(overWire).toEqual({ error: 'ValidationException' });
});

test('a condition on a missing item, then on an existing one, gives what dynalite gives', async () => {
  const create = () =>
    new UpdateItemCommand({
      TableName: TABLE,
      Key: key('cond'),
      UpdateExpression: 'SET version = :one',
      ConditionExpression: 'attribute_not_exists(pk)',
      ExpressionAttributeValues: { ':one': { N: '1' } },
    });
  const bump = (expected: string) => () =>
    new UpdateItemCommand({
      TableName: TABLE,
      Key: key('cond'),
      UpdateExpression: 'SET version = :next',
      ConditionExpression: 'version = :expected',
      ExpressionAttributeValues: {
        ':next': { N: String(Number(expected) + 1) },
        ':expected': { N: expected },
      },
      ReturnValues: 'ALL_NEW',
    });

  const results = [await both(create), await both(create), await both(bump('1')), await both(bump('1'))];

  expect(results.map(([, m]) => m)).toEqual(results.map(([w]) => w));
  expect(results.map(([w]) => (w as { error?: string }).error)).toEqual([
    undefined,
    'ConditionalCheckFailedException',
    undefined,
    'ConditionalCheckFailedException',
  ]);
});

test('REMOVE of map entries, and an unused expression value, give what dynalite gives', async () => {
  const put = () =>
    new UpdateItemCommand({
      TableName: TABLE,
      Key: key('map'),
      UpdateExpression: 'SET pending = :p',
      ExpressionAttributeValues: { ':p': { M: { a: { S: '1' }, b: { S: '2' } } } },
    });
  const remove = () =>
    new UpdateItemCommand({
      TableName: TABLE,
      Key: key('map'),
      UpdateExpression: 'REMOVE #pending.#a0',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#pending': 'pending', '#a0': 'a' },
      ReturnValues: 'ALL_NEW',
    });
  const unused = () =>
    new UpdateItemCommand({
      TableName: TABLE,
      Key: key('map'),
      UpdateExpression: 'SET x = :x',
      ExpressionAttributeValues: { ':x': { S: 'x' }, ':unused': { S: 'y' } },
    });

  const results = [await both(put), await both(remove), await both(unused)];

  expect(results.map(([, m]) => m)).toEqual(results.map(([w]) => w));
  expect(results[2][0]).toEqual({ error: 'ValidationException' });
});

test('an item over 400 KB is rejected as dynalite rejects it', async () => {
  const marks: Record<string, AttributeValue> = {};
  for (let i = 0; i < 3_000; i++)
    marks[`shardId-000000000000/${i.toString(16).padStart(8, '0')}`] = { S: '4'.repeat(130) };
  const big = () =>
    new UpdateItemCommand({
      TableName: TABLE,
      Key: key('big'),
      UpdateExpression: 'SET marks = :m',
      ExpressionAttributeValues: { ':m': { M: marks } },
    });

  const [overWire, inMemory] = await both(big);

  expect(inMemory).toEqual(overWire);
  expect(overWire).toEqual({ error: 'ValidationException' });
});

test('BatchGetItem finds what exists and rejects duplicate keys, as dynalite does', async () => {
  const get = (keys: Array<Record<string, AttributeValue>>) => () =>
    new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: keys, ConsistentRead: true } } });

  const found = await both(get([key('cond'), key('missing')]));
  const duplicates = await both(get([key('cond'), key('cond')]));
  const missing = await both(() => new GetItemCommand({ TableName: TABLE, Key: key('missing') }));

  expect(found[1]).toEqual(found[0]);
  expect(duplicates[1]).toEqual(duplicates[0]);
  expect(duplicates[0]).toEqual({ error: 'ValidationException' });
  expect(missing[1]).toEqual(missing[0]);
});
