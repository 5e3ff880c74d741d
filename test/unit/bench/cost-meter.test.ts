import { BatchGetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { AwsMeter, readUnits, VirtualLatency, writeUnits } from '../../../bench/cost-meter';
import { InMemoryAws } from '../../helpers/in-memory-aws';

describe('capacity units as DynamoDB bills them', () => {
  test('a write costs one unit per started KB of the larger of the item before and after', () => {
    expect(writeUnits(0, 400)).toBe(1);
    expect(writeUnits(1500, 900)).toBe(2);
    expect(writeUnits(1024, 1024)).toBe(1);
  });

  test('a write whose condition failed on a missing item still costs one unit', () => {
    expect(writeUnits(0, 0)).toBe(1);
  });

  test('a strongly consistent read costs one unit per started 4 KB, an eventually consistent one half', () => {
    expect(readUnits(4096, true)).toBe(1);
    expect(readUnits(4097, true)).toBe(2);
    expect(readUnits(4097, false)).toBe(1);
  });

  test('reading a missing item costs the minimum', () => {
    expect(readUnits(0, true)).toBe(1);
  });
});

describe('VirtualLatency', () => {
  test('concurrent calls overlap and sequential calls add up', async () => {
    const clock = new VirtualLatency();
    const call = () => clock.delay(6);

    await Promise.all(Array.from({ length: 16 }, call));
    const afterConcurrent = clock.nowMs;
    for (let i = 0; i < 3; i++) await call();

    expect(afterConcurrent).toBe(6);
    expect(clock.nowMs).toBe(24);
  });

  test('a chain of calls waits for each while another chain runs beside it', async () => {
    const clock = new VirtualLatency();
    const chain = async (calls: number, ms: number) => {
      for (let i = 0; i < calls; i++) await clock.delay(ms);
    };

    await Promise.all([chain(4, 5), chain(1, 30)]);

    expect(clock.nowMs).toBe(30);
  });
});

describe('AwsMeter', () => {
  const TABLE = 'cost-meter-test';
  const key = (sk: string) => ({ pk: { S: 'p' }, sk: { S: sk } });
  const put = (sk: string, bytes: number) =>
    new UpdateItemCommand({
      TableName: TABLE,
      Key: key(sk),
      UpdateExpression: 'SET body = :body',
      ExpressionAttributeValues: { ':body': { S: 'x'.repeat(bytes) } },
    });
  let aws: InMemoryAws;
  let meter: AwsMeter;

  beforeEach(() => {
    aws = new InMemoryAws({ tableName: TABLE, topicArn: 'arn:aws:sns:us-east-1:0:t', bucket: 'b' });
    meter = new AwsMeter(aws, { dynamodbMs: 6, snsMs: 20, s3Ms: 30 });
  });
  afterEach(() => aws.destroy());

  test('bills an update by the larger of the item before and after it', async () => {
    await aws.dynamodb.send(put('a', 1500));
    await aws.dynamodb.send(put('a', 100));

    expect(meter.usage.updateItemCalls).toBe(2);
    expect(meter.usage.writeUnits).toBe(2 + 2);
  });

  test('bills a consistent BatchGetItem per key asked for, found or not', async () => {
    await aws.dynamodb.send(put('a', 5000));

    await aws.dynamodb.send(
      new BatchGetItemCommand({
        RequestItems: { [TABLE]: { Keys: [key('a'), key('b')], ConsistentRead: true } },
      }),
    );

    expect(meter.usage).toMatchObject({
      batchGetItemCalls: 1,
      itemsRequested: 2,
      itemsFound: 1,
      readUnits: 2 + 1,
    });
  });

  test('each call waits one virtual round trip', async () => {
    await aws.dynamodb.send(put('a', 10));
    await aws.dynamodb.send(put('b', 10));

    expect(meter.clock.nowMs).toBe(12);
  });
});
