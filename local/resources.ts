/**
 * Creates in the emulators what the CDK stack creates in AWS, from the same `SluiceConfig`: the
 * Kinesis stream, the speed-layer table, the alerts topic (plus a queue subscribed to it, so the
 * local mode can read alerts), the on-failure queue of the stream processor and the lake bucket.
 * Every step tolerates a resource that already exists, so it can run on every start.
 */
import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  IncreaseStreamRetentionPeriodCommand,
  ResourceInUseException as StreamInUseException,
} from '@aws-sdk/client-kinesis';
import { CreateTopicCommand, ListSubscriptionsByTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { durationMs, type SluiceConfig } from '../contract/config';
import { WINDOW_INDEX } from '../contract/table-keys';
import type { LocalClients } from './endpoints';

/** Names of the local resources; `localResourceNames` derives them from the stage. */
export interface LocalResourceNames {
  readonly streamName: string;
  readonly tableName: string;
  readonly alertsTopicName: string;
  /** The queue subscribed to the alerts topic, from which the local mode reads alerts. */
  readonly alertsQueueName: string;
  /** The stream processor's on-failure destination. */
  readonly onFailureQueueName: string;
  readonly lakeBucketName: string;
}

export interface LocalResourceOptions {
  /**
   * Shards of the local stream when `config.stream.mode` is `on-demand` (AWS decides the count
   * there; locally it must be fixed). A provisioned stream always uses `config.stream.shardCount`.
   * @default 2
   */
  readonly onDemandShardCount?: number;
  /**
   * How long to wait for the stream and the table to become ACTIVE, in milliseconds.
   * @default 10000
   */
  readonly activeTimeoutMs?: number;
}

/** What `createLocalResources` created (or found), with every identifier the runtime needs. */
export interface LocalResources {
  readonly names: LocalResourceNames;
  readonly streamName: string;
  readonly streamArn: string;
  readonly shardCount: number;
  readonly tableName: string;
  readonly tableArn: string;
  readonly alertsTopicArn: string;
  readonly alertsQueueUrl: string;
  readonly alertsQueueArn: string;
  readonly onFailureQueueUrl: string;
  readonly onFailureQueueArn: string;
  readonly lakeBucketName: string;
  /** False where the emulator cannot expire items (dynalite has no UpdateTimeToLive). */
  readonly ttlEnabled: boolean;
}

/** Raised when a local resource cannot be created or does not become usable. */
export class LocalResourceError extends Error {
  public override readonly name = 'LocalResourceError';
}

/** Default names: `sluice-<stage>-<what>`, the same scheme for every stage. */
export function localResourceNames(
  config: SluiceConfig,
  overrides: Partial<LocalResourceNames> = {},
): LocalResourceNames {
  const prefix = `sluice-${config.stage}`;
  return {
    streamName: `${prefix}-events`,
    tableName: `${prefix}-speed`,
    alertsTopicName: `${prefix}-alerts`,
    alertsQueueName: `${prefix}-alerts-local`,
    onFailureQueueName: `${prefix}-stream-processor-dlq`,
    lakeBucketName: `${prefix}-lake`,
    ...overrides,
  };
}

/** The shard count of the local stream for `config`. */
export function localShardCount(config: SluiceConfig, options: LocalResourceOptions = {}): number {
  if (config.stream.mode === 'provisioned') return config.stream.shardCount ?? 1;
  const count = options.onDemandShardCount ?? 2;
  if (!Number.isInteger(count) || count < 1 || count > 500) {
    throw new LocalResourceError(`onDemandShardCount: got ${count}; must be an integer between 1 and 500`);
  }
  return count;
}

export async function createLocalResources(
  clients: LocalClients,
  config: SluiceConfig,
  names: Partial<LocalResourceNames> = {},
  options: LocalResourceOptions = {},
): Promise<LocalResources> {
  const resolved = localResourceNames(config, names);
  const timeoutMs = options.activeTimeoutMs ?? 10_000;
  const [stream, table, alerts, onFailure] = await Promise.all([
    createStream(clients, config, resolved.streamName, localShardCount(config, options), timeoutMs),
    createAggregatesTable(clients.dynamodb, resolved.tableName, timeoutMs),
    createAlerts(clients, resolved),
    createQueue(clients, resolved.onFailureQueueName),
    createBucket(clients, resolved.lakeBucketName),
  ]);
  return {
    names: resolved,
    streamName: resolved.streamName,
    streamArn: stream.arn,
    shardCount: stream.shardCount,
    tableName: resolved.tableName,
    tableArn: table.arn,
    ttlEnabled: table.ttlEnabled,
    alertsTopicArn: alerts.topicArn,
    alertsQueueUrl: alerts.queue.url,
    alertsQueueArn: alerts.queue.arn,
    onFailureQueueUrl: onFailure.url,
    onFailureQueueArn: onFailure.arn,
    lakeBucketName: resolved.lakeBucketName,
  };
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new LocalResourceError(`${what} did not become ACTIVE within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function createStream(
  clients: LocalClients,
  config: SluiceConfig,
  streamName: string,
  shardCount: number,
  timeoutMs: number,
): Promise<{ arn: string; shardCount: number }> {
  try {
    await clients.kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  } catch (error) {
    if (!(error instanceof StreamInUseException)) throw error;
  }
  const summary = await waitFor(`Kinesis stream ${streamName}`, timeoutMs, async () => {
    const { StreamDescriptionSummary: s } = await clients.kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    return s?.StreamStatus === 'ACTIVE' ? s : undefined;
  });
  const retentionHours = Math.round(durationMs(config.stream.retention) / 3_600_000);
  if ((summary.RetentionPeriodHours ?? 24) < retentionHours) {
    await clients.kinesis.send(
      new IncreaseStreamRetentionPeriodCommand({
        StreamName: streamName,
        RetentionPeriodHours: retentionHours,
      }),
    );
  }
  return { arn: summary.StreamARN as string, shardCount: summary.OpenShardCount ?? shardCount };
}

/** Creates the speed layer's table as the CDK stack defines it (key `pk`/`sk`, TTL on `expiresAt`), if missing. */
export async function createAggregatesTable(
  dynamodb: DynamoDBClient,
  tableName: string,
  timeoutMs: number,
): Promise<{ arn: string; ttlEnabled: boolean }> {
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: WINDOW_INDEX.partitionKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        // As lib/aggregates-table.ts deploys it.
        GlobalSecondaryIndexes: [
          {
            IndexName: WINDOW_INDEX.indexName,
            KeySchema: [
              { AttributeName: WINDOW_INDEX.partitionKey, KeyType: 'HASH' },
              { AttributeName: WINDOW_INDEX.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const table = await waitFor(`DynamoDB table ${tableName}`, timeoutMs, async () => {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    return Table?.TableStatus === 'ACTIVE' ? Table : undefined;
  });
  return { arn: table.TableArn as string, ttlEnabled: await enableTtl(dynamodb, tableName) };
}

/** Turns on TTL on `expiresAt` where the emulator supports it; dynalite answers UnknownOperationException. */
async function enableTtl(dynamodb: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
    );
    return true;
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'UnknownOperationException') return false;
    // Enabling TTL twice is an error in DynamoDB; it is already on.
    if (name === 'ValidationException' && /already enabled/i.test((error as Error).message)) return true;
    throw error;
  }
}

async function createQueue(clients: LocalClients, queueName: string): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  const { Attributes } = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return { url: QueueUrl as string, arn: Attributes?.QueueArn as string };
}

async function createAlerts(
  clients: LocalClients,
  names: LocalResourceNames,
): Promise<{ topicArn: string; queue: { url: string; arn: string } }> {
  const { TopicArn } = await clients.sns.send(new CreateTopicCommand({ Name: names.alertsTopicName }));
  const topicArn = TopicArn as string;
  const queue = await createQueue(clients, names.alertsQueueName);
  const { Subscriptions } = await clients.sns.send(
    new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }),
  );
  if (!(Subscriptions ?? []).some((s) => s.Protocol === 'sqs' && s.Endpoint === queue.arn)) {
    await clients.sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: queue.arn,
        // The SNS envelope keeps the message attributes (ruleId, severity, ...) visible to the reader.
        Attributes: { RawMessageDelivery: 'false' },
      }),
    );
  }
  return { topicArn, queue };
}

async function createBucket(clients: LocalClients, bucketName: string): Promise<void> {
  try {
    await clients.s3.send(new HeadBucketCommand({ Bucket: bucketName }));
    return;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404) throw error;
  }
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucketName }));
}
