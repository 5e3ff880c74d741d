/**
 * createLocalResources and the local SDK clients against the emulators (child process): what the
 * CDK stack would create, created from the same config, idempotently.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { ListSubscriptionsByTopicCommand, PublishCommand } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { resolveConfig } from '../../contract/config';
import { createLocalClients, destroyLocalClients, type LocalClients } from '../../local/endpoints';
import { createLocalResources, localResourceNames } from '../../local/resources';
import { startEmulatorProcess, type EmulatorProcess } from '../helpers/emulators';

let emulators: EmulatorProcess;
let clients: LocalClients;

beforeAll(async () => {
  emulators = await startEmulatorProcess();
  clients = createLocalClients(emulators.endpoints);
}, 60_000);

afterAll(async () => {
  if (clients) destroyLocalClients(clients);
  await emulators?.stop();
});

test('the emulator process listens on 127.0.0.1 only', () => {
  const { region, ...urls } = emulators.endpoints;

  expect(region).toBe('us-east-1');
  for (const url of Object.values(urls)) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});

test('creates a provisioned stream with the configured shard count and retention', async () => {
  const config = resolveConfig({
    stage: 'prov',
    stream: { mode: 'provisioned', shardCount: 3, retention: '48h' },
  });

  const resources = await createLocalResources(clients, config);

  const { StreamDescriptionSummary: summary } = await clients.kinesis.send(
    new DescribeStreamSummaryCommand({ StreamName: resources.streamName }),
  );
  expect(summary).toMatchObject({ OpenShardCount: 3, RetentionPeriodHours: 48, StreamStatus: 'ACTIVE' });
  expect(resources.streamArn).toBe(summary?.StreamARN);
});

test('gives an on-demand stream the local shard count', async () => {
  const config = resolveConfig({ stage: 'ondemand', stream: { mode: 'on-demand' } });

  const resources = await createLocalResources(clients, config, {}, { onDemandShardCount: 3 });

  expect(resources.shardCount).toBe(3);
});

test('creates the table with pk and sk string keys', async () => {
  const resources = await createLocalResources(clients, resolveConfig({ stage: 'table' }));

  const { Table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: resources.tableName }));
  expect(Table?.KeySchema).toEqual([
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ]);
  expect(Table?.AttributeDefinitions).toEqual(
    expect.arrayContaining([
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ]),
  );
});

test('names resources after the stage unless told otherwise', () => {
  const names = localResourceNames(resolveConfig({ stage: 'qa' }), { tableName: 'custom' });

  expect(names).toEqual({
    streamName: 'sluice-qa-events',
    tableName: 'custom',
    alertsTopicName: 'sluice-qa-alerts',
    alertsQueueName: 'sluice-qa-alerts-local',
    onFailureQueueName: 'sluice-qa-stream-processor-dlq',
    lakeBucketName: 'sluice-qa-lake',
  });
});

test('running it twice returns the same resources and subscribes the alerts queue once', async () => {
  const config = resolveConfig({ stage: 'twice' });
  const first = await createLocalResources(clients, config);

  const second = await createLocalResources(clients, config);

  expect(second).toEqual(first);
  const { Subscriptions } = await clients.sns.send(
    new ListSubscriptionsByTopicCommand({ TopicArn: first.alertsTopicArn }),
  );
  expect(Subscriptions?.map((s) => s.Endpoint)).toEqual([first.alertsQueueArn]);
});

test('an alert published to the topic reaches the alerts queue with its message attributes', async () => {
  const resources = await createLocalResources(clients, resolveConfig({ stage: 'alerts' }));

  await clients.sns.send(
    new PublishCommand({
      TopicArn: resources.alertsTopicArn,
      Message: '{"alertId":"a1"}',
      MessageAttributes: { ruleId: { DataType: 'String', StringValue: 'temperature-high' } },
    }),
  );

  const { Messages } = await clients.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: resources.alertsQueueUrl, WaitTimeSeconds: 2 }),
  );
  const envelope = JSON.parse(Messages?.[0].Body as string) as {
    Message: string;
    MessageAttributes: Record<string, { Value: string }>;
  };
  expect(envelope.Message).toBe('{"alertId":"a1"}');
  expect(envelope.MessageAttributes.ruleId.Value).toBe('temperature-high');
});

test('creates the on-failure queue', async () => {
  const resources = await createLocalResources(clients, resolveConfig({ stage: 'dlq' }));

  const { Attributes } = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: resources.onFailureQueueUrl, AttributeNames: ['QueueArn'] }),
  );
  expect(Attributes?.QueueArn).toBe(resources.onFailureQueueArn);
});

test('the lake bucket supports put, get, list and batch delete through the local S3 client', async () => {
  const resources = await createLocalResources(clients, resolveConfig({ stage: 'lake' }));
  const Bucket = resources.lakeBucketName;
  const keys = ['raw/dt=2026-01-01/hour=00/a.json.gz', 'raw/dt=2026-01-01/hour=00/b.json.gz'];

  for (const Key of keys)
    await clients.s3.send(new PutObjectCommand({ Bucket, Key, Body: Buffer.from(Key) }));
  const got = await clients.s3.send(new GetObjectCommand({ Bucket, Key: keys[1] }));
  const listed = await clients.s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'raw/dt=2026-01-01/' }));
  const deleted = await clients.s3.send(
    new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }),
  );
  const after = await clients.s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'raw/' }));

  expect(await got.Body?.transformToString()).toBe(keys[1]);
  expect(listed.Contents?.map((o) => o.Key)).toEqual(keys);
  expect(deleted.Deleted).toHaveLength(2);
  expect(after.KeyCount).toBe(0);
});
