/**
 * For fault tests of the speed layer: the traffic they produce, and where its records ended up,
 * read back from the emulators the way a user would (DynamoDB aggregates, the quarantine objects in
 * S3, the alerts topic's queue, the on-failure queue), so it can be compared with the independent
 * recomputation of test/helpers/recompute.ts.
 */
import type { WindowSpec } from '../../core/speed-config';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { parseAlertNotification } from '../../local/alert-collector';
import { generateEventLines } from '../../local/demo-producer';
import type { LocalClients } from '../../local/endpoints';
import { parseEventFile, type EventFileRecord } from '../../local/event-file';
import type { KinesisOnFailureRecord } from '../../local/event-source/types';
import { QuarantineMirror } from '../../local/quarantine-mirror';
import { readAggregates, toAlertLines, type AggregateLine, type AlertLine } from '../../local/replay-outputs';
import type { LocalResources } from '../../local/resources';

/** Generated sensor traffic: many sensors, out-of-order event times, malformed, late and duplicate records. */
export function faultTraffic(options: {
  readonly count: number;
  readonly nowMs: number;
  readonly seed: number;
  readonly idPrefix: string;
}): { lines: string[]; records: EventFileRecord[] } {
  const lines = generateEventLines({
    count: options.count,
    nowMs: options.nowMs,
    spanMs: 10 * 60_000,
    disorderMs: 90_000,
    seed: options.seed,
    sensors: 40,
    anomalyRate: 0.02,
    invalidRate: 0.03,
    lateRate: 0.02,
    duplicateRate: 0.01,
    idPrefix: options.idPrefix,
  });
  const records = parseEventFile(Buffer.from(`${lines.join('\n')}\n`));
  if (records.length !== lines.length) throw new Error('an empty line was generated');
  return { lines, records };
}

export interface SpeedEndState {
  readonly aggregates: AggregateLine[];
  /** Quarantined records, one per stream record (shard, sequence number). */
  readonly quarantine: Array<{ shardId: string; sequenceNumber: string; reason: string; data: string }>;
  /** Quarantine lines over all objects, counting a record written twice (by a re-delivered batch) twice. */
  readonly quarantineCopies: number;
  /** Distinct alerts (by alertId), in the replay contract's order. */
  readonly alerts: AlertLine[];
  /** Every alert delivery read from the topic's queue, duplicates included. */
  readonly alertDeliveries: string[];
  /** Alerts recorded in DynamoDB but never published (an alert state's outbox). */
  readonly pendingAlerts: number;
  readonly onFailure: KinesisOnFailureRecord[];
}

/** Receives and deletes every message of a queue until it is empty. */
export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return bodies;
    bodies.push(...Messages.map((m) => m.Body as string));
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}

async function pendingAlerts(clients: LocalClients, tableName: string): Promise<number> {
  let pending = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await clients.dynamodb.send(
      new ScanCommand({
        TableName: tableName,
        ExclusiveStartKey: start,
        FilterExpression: 'begins_with(pk, :alert)',
        ExpressionAttributeValues: { ':alert': { S: 'ALERT#' } },
      }),
    );
    for (const item of page.Items ?? []) pending += Object.keys(item.pending?.M ?? {}).length;
    start = page.LastEvaluatedKey;
  } while (start);
  return pending;
}

/** Reads the speed layer's outputs; `workDir` receives a copy of the quarantine objects. */
export async function readSpeedEndState(
  clients: LocalClients,
  resources: LocalResources,
  workDir: string,
  windows: readonly WindowSpec[],
): Promise<SpeedEndState> {
  const lakeDir = path.join(workDir, 'quarantine-copy');
  const mirror = new QuarantineMirror({ s3: clients.s3, bucket: resources.lakeBucketName, lakeDir });
  const quarantined = await mirror.records();
  let quarantineCopies = 0;
  const copies = fs.existsSync(lakeDir) ? fs.readdirSync(lakeDir, { recursive: true }) : [];
  for (const entry of copies) {
    const file = path.join(lakeDir, String(entry));
    if (!file.endsWith('.ndjson')) continue;
    quarantineCopies += fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  }
  const alertDeliveries = await drainQueue(clients.sqs, resources.alertsQueueUrl);
  const distinct = new Map(
    alertDeliveries.map((body) => {
      const alert = parseAlertNotification(body);
      return [alert.alertId, { ...alert, receivedAt: '' }] as const;
    }),
  );
  return {
    aggregates: await readAggregates(clients.dynamodb, resources.tableName, windows),
    quarantine: quarantined.map((r) => ({
      shardId: r.shardId,
      sequenceNumber: r.sequenceNumber,
      reason: r.reason,
      data: r.data,
    })),
    quarantineCopies,
    alerts: toAlertLines([...distinct.values()]),
    alertDeliveries: alertDeliveries.map((body) => parseAlertNotification(body).alertId),
    pendingAlerts: await pendingAlerts(clients, resources.tableName),
    onFailure: (await drainQueue(clients.sqs, resources.onFailureQueueUrl)).map(
      (body) => JSON.parse(body) as KinesisOnFailureRecord,
    ),
  };
}

/** The stream the restart fault tests are built on: two shards, each with a checkpoint to resume from. */
export const TWO_SHARDS = { mode: 'provisioned', shardCount: 2 } as const;
