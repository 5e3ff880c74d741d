/**
 * `sluice repair`: repairs the speed layer after batches the stream processors gave up on
 * (docs/speed-repair.md). Without options it does what the deployed scheduled function does, once:
 * takes the on-failure messages, repairs each batch and deletes its message once the repair is
 * durable. `--list` only lists them; `--shard`/`--from`/`--to` repairs a range named by hand. On AWS
 * it runs the repair here, with your credentials, on the stack's resources (from the stack outputs,
 * flags or environment); with `--local`, in the running `sluice local`.
 */
import { DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Command } from 'commander';
import { loadConfig, toSpeedConfig } from '../contract/config';
import { speedProcessors } from '../contract/speed-processors';
import { OnFailureQueue } from '../lambdas/adapters/on-failure-queue';
import { batchesOf, createSpeedRepair, type SpeedRepairEvent } from '../lambdas/speed-repair/handler';
import { listedBatches, repairSummary, type ListedBatch, type RepairSummary } from '../local/speed-repair';
import { UsageError } from './errors';
import { callSession, requireSession } from './session';
import { readStackOutputs, resolveSetting, targetOptions, type TargetOptions } from './targets';

export interface RepairOptions extends TargetOptions {
  readonly list?: boolean;
  readonly shard?: string;
  readonly from?: string;
  readonly to?: string;
  readonly stream?: string;
  readonly table?: string;
  readonly alertsTopic?: string;
  readonly bucket?: string;
  readonly queue?: string;
  readonly alertQueue?: string;
}

export function repairCommand(): Command {
  const command = new Command('repair')
    .description(
      'Repair the speed layer after batches the stream processors gave up on (their on-failure messages)',
    )
    .option('--list', 'list the given-up batches in the on-failure queues; change nothing')
    .option('--shard <id>', 'repair one range named by hand: its shard (with --from and --to)')
    .option('--from <sequence>', 'first sequence number of the range')
    .option('--to <sequence>', 'last sequence number of the range')
    .option('--stream <name>', 'ingest stream (default: $SLUICE_STREAM_NAME or the stack outputs)')
    .option('--table <name>', 'aggregates table (default: $SLUICE_TABLE_NAME or the stack outputs)')
    .option('--alerts-topic <arn>', 'alerts topic (default: $SLUICE_ALERTS_TOPIC_ARN or the stack outputs)')
    .option('--bucket <name>', 'lake bucket (default: $SLUICE_LAKE_BUCKET or the stack outputs)')
    .option('--queue <url>', 'on-failure queue (default: $SLUICE_DLQ_URL or the stack outputs)')
    .option(
      '--alert-queue <url>',
      "the alert processor's on-failure queue (default: $SLUICE_ALERT_DLQ_URL or the stack outputs)",
    );
  for (const option of targetOptions()) command.addOption(option);
  return command
    .addHelpText(
      'after',
      `
Examples:
  npx sluice repair --local --list
  npx sluice repair --local
  npx sluice repair --shard shardId-000000000000 --from 4968... --to 4968...`,
    )
    .action(async (options: RepairOptions) => {
      process.stdout.write(await runRepair(options));
    });
}

/** The event a run is asked, from the options (`--shard/--from/--to`, all or none). */
export function repairEvent(options: Pick<RepairOptions, 'shard' | 'from' | 'to'>): SpeedRepairEvent {
  const given = [options.shard, options.from, options.to].filter((v) => v !== undefined).length;
  if (given === 0) return {};
  if (given < 3) throw new UsageError('--shard, --from and --to name a range together: give all three');
  const event = {
    batches: [
      { shardId: options.shard!, startSequenceNumber: options.from!, endSequenceNumber: options.to! },
    ],
  };
  try {
    batchesOf(event);
  } catch (error) {
    throw new UsageError(
      `--from and --to must be Kinesis sequence numbers (decimal digits): ${(error as Error).message}`,
    );
  }
  return event;
}

export async function runRepair(options: RepairOptions): Promise<string> {
  const event = repairEvent(options);
  if (options.list && event.batches) throw new UsageError('--list cannot be combined with a range');
  if (options.local) {
    const session = requireSession(options.state);
    if (options.list) return formatListing(await callSession<ListedBatch[]>(session, 'dead-letters', {}));
    return formatReport(await callSession<RepairSummary>(session, 'repair', event));
  }
  return runOnAws(options, event);
}

async function runOnAws(options: RepairOptions, event: SpeedRepairEvent): Promise<string> {
  const outputs = readStackOutputs(options);
  const setting = (flag: string, value: string | undefined, env: string, key: string, fallback?: string) =>
    resolveSetting({ flag, value, env, outputKeys: [key], fallback }, outputs);
  const queueUrl = setting('--queue', options.queue, 'SLUICE_DLQ_URL', 'DeadLetterQueueUrl');
  const alertQueueUrl = setting(
    '--alert-queue',
    options.alertQueue,
    'SLUICE_ALERT_DLQ_URL',
    'AlertDeadLetterQueueUrl',
    '',
  );
  const region = options.region ? { region: options.region } : {};
  const sqs = new SQSClient(region);
  const config = loadConfig(options.config);
  const [aggregate, ...alerts] = speedProcessors(config);
  const queues = [
    { url: queueUrl, role: aggregate.role },
    ...(alerts.length > 0 && alertQueueUrl ? [{ url: alertQueueUrl, role: alerts[0].role }] : []),
  ];
  if (options.list) {
    const listed = [];
    for (const { url } of queues)
      listed.push(...listedBatches(await new OnFailureQueue({ client: sqs, queueUrl: url }).peek(100)));
    return formatListing(listed);
  }
  const kinesis = new KinesisClient(region);
  const streamName = setting('--stream', options.stream, 'SLUICE_STREAM_NAME', 'StreamName');
  const { StreamDescriptionSummary: summary } = await kinesis.send(
    new DescribeStreamSummaryCommand({ StreamName: streamName }),
  );
  const run = createSpeedRepair({
    dynamodb: new DynamoDBClient(region),
    sns: new SNSClient(region),
    s3: new S3Client(region),
    kinesis,
    sqs,
    tableName: setting('--table', options.table, 'SLUICE_TABLE_NAME', 'TableName'),
    alertsTopicArn: setting(
      '--alerts-topic',
      options.alertsTopic,
      'SLUICE_ALERTS_TOPIC_ARN',
      'AlertsTopicArn',
    ),
    lakeBucket: setting('--bucket', options.bucket, 'SLUICE_LAKE_BUCKET', 'LakeBucketName'),
    streamName,
    streamArn: summary?.StreamARN as string,
    queues,
    config: toSpeedConfig(config, aggregate.section),
  });
  return formatReport(repairSummary(await run(event)));
}

export function formatListing(batches: readonly ListedBatch[]): string {
  if (batches.length === 0) return 'No given-up batches: the on-failure queues are empty.\n';
  const lines = batches.map(
    (b) =>
      `  ${b.shardId}  ${b.startSequenceNumber}..${b.endSequenceNumber}  ${b.batchSize} record(s)${b.processor ? `  ${b.processor}` : ''}`,
  );
  return `${batches.length} given-up batch(es):\n${lines.join('\n')}\nRepair them with \`sluice repair\` (add --local for local mode).\n`;
}

export function formatReport(report: RepairSummary): string {
  const lines = [
    `Repaired ${report.repaired} batch(es) (${report.records} records): ${report.itemsWritten} window item(s) rewritten, ${report.recordsRestored} record(s) restored, ${report.conflicts} conflict(s) with live writes redone, ${report.alertsPublished} alert(s) raised.`,
  ];
  if (report.failed > 0)
    lines.push(
      `${report.failed} batch(es) failed and stay queued for the next run: ${report.firstError ?? 'see the logs'}`,
    );
  if (report.expired > 0)
    lines.push(
      `${report.expired} batch(es) are no longer in the stream (past its retention): the batch layer has them; delete their messages.`,
    );
  if (report.unreadable > 0)
    lines.push(`${report.unreadable} message(s) are no on-failure document and were left as they are.`);
  for (const reason of report.undecidable) lines.push(`left as it is: ${reason}`);
  return `${lines.join('\n')}\n`;
}
