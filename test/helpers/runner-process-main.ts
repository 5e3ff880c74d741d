/**
 * The child process of test/helpers/runner-process.ts: the local event source runner with the real
 * stream processor (local/local-handler.ts), durable checkpoints in a directory, against emulators
 * that run elsewhere. It appends what happens to a journal file with synchronous writes, so the
 * journal is complete up to the instant the process is killed:
 *
 *   {"type":"invoke","run":1,"id":7,"shardId":"…","seqs":["…"]}            before each invocation
 *   {"type":"result","run":1,"id":7,"outcomes":"vvil…","failed":["…"],"alreadyApplied":3,…}
 *   {"type":"error","run":1,"id":7,"message":"…"}                          the handler threw
 *   {"type":"stall","run":1,"updates":120}                                 see `stallAfterUpdates`
 *
 * Run with: node --import tsx test/helpers/runner-process-main.ts '<RunnerProcessConfig JSON>'
 */
import * as fs from 'node:fs';
import type { KinesisStreamEvent } from 'aws-lambda';
import { resolveConfig, toSpeedConfig } from '../../contract/config';
import type { BatchResult } from '../../lambdas/stream-processor/process-batch';
import { createLocalClients, destroyLocalClients, type LocalEndpoints } from '../../local/endpoints';
import { FileCheckpointStore } from '../../local/event-source/checkpoint-store';
import { EventSourceRunner } from '../../local/event-source/runner';
import { eventSourceSettingsFromConfig } from '../../local/event-source/settings';
import type { KinesisHandler } from '../../local/event-source/types';
import { createLocalResources } from '../../local/resources';
import { createLocalStreamProcessor } from '../../local/local-handler';
import { TWO_SHARDS } from './speed-end-state';

export interface RunnerProcessConfig {
  readonly endpoints: LocalEndpoints;
  /** Config stage: the resource names (local/resources.ts). */
  readonly stage: string;
  readonly checkpointDir: string;
  readonly journal: string;
  /** Which run this is, written into the journal. */
  readonly run: number;
  /** Processing time the handler sees (epoch ms), so late and future records are deterministic. */
  readonly nowMs: number;
  readonly batchSize: number;
  /** 'drain': process what is in the stream, stop, print the counters and exit; 'run': until killed. */
  readonly mode: 'drain' | 'run';
  /**
   * After this many UpdateItem calls of the handler were acknowledged by DynamoDB, the next
   * acknowledgement is never handed back (the invocation hangs half-applied) and the process prints
   * `STALLED`: the parent kills it then.
   * @default - never
   */
  readonly stallAfterUpdates?: number;
}

function journal(path: string, entry: Record<string, unknown>): void {
  fs.appendFileSync(path, `${JSON.stringify(entry)}\n`);
}

const OUTCOME_LETTER = { valid: 'v', invalid: 'i', late: 'l' } as const;

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]) as RunnerProcessConfig;
  const sluiceConfig = resolveConfig({ stage: config.stage, stream: TWO_SHARDS });
  const clients = createLocalClients(config.endpoints);
  const resources = await createLocalResources(clients, sluiceConfig);

  let updates = 0;
  if (config.stallAfterUpdates !== undefined) {
    const stallAt = config.stallAfterUpdates;
    clients.dynamodb.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'UpdateItemCommand' && ++updates > stallAt) {
          if (updates === stallAt + 1) {
            journal(config.journal, { type: 'stall', run: config.run, updates: stallAt });
            process.stdout.write('STALLED\n');
          }
          await new Promise(() => undefined);
        }
        return result;
      },
      { step: 'initialize', name: 'stallForTheKill' },
    );
  }

  const results = new Map<KinesisStreamEvent, BatchResult>();
  const processor = createLocalStreamProcessor({
    clients,
    resources,
    config: toSpeedConfig(sluiceConfig),
    now: () => config.nowMs,
    onResult: (result, event) => results.set(event, result),
  });
  let invocations = 0;
  const handler: KinesisHandler = async (event, context) => {
    const id = ++invocations;
    const shardId = event.Records[0].eventID.split(':')[0];
    const seqs = event.Records.map((r) => r.kinesis.sequenceNumber);
    journal(config.journal, { type: 'invoke', run: config.run, id, shardId, seqs });
    try {
      const response = await processor(event, context);
      const result = results.get(event);
      results.delete(event);
      journal(config.journal, {
        type: 'result',
        run: config.run,
        id,
        outcomes: (result?.outcomes ?? [])
          .map((o) => OUTCOME_LETTER[o as keyof typeof OUTCOME_LETTER] ?? '?')
          .join(''),
        failed: response.batchItemFailures.map((f) => f.itemIdentifier.split(':')[1]),
        alreadyApplied: result?.stats.alreadyApplied ?? 0,
        itemsWritten: result?.stats.itemsWritten ?? 0,
        alertsPublished: result?.stats.alertsPublished ?? 0,
      });
      return response;
    } catch (error) {
      results.delete(event);
      journal(config.journal, { type: 'error', run: config.run, id, message: String(error) });
      throw error;
    }
  };

  const runner = new EventSourceRunner({
    ...eventSourceSettingsFromConfig(sluiceConfig),
    batchSize: config.batchSize,
    maxBatchingWindowMs: 0,
    retryAttempts: -1,
    maxRecordAgeMs: -1,
    retryBackoffMs: 5,
    maxRetryBackoffMs: 100,
    pollIntervalMs: 20,
    kinesis: clients.kinesis,
    streamName: resources.streamName,
    handler,
    onFailure: { sqs: clients.sqs, queueUrl: resources.onFailureQueueUrl },
    checkpointStore: new FileCheckpointStore({ dir: config.checkpointDir }),
  });
  await runner.start();
  process.stdout.write('STARTED\n');
  if (config.mode === 'run') return; // until killed
  await runner.drain({ timeoutMs: 120_000 });
  await runner.stop();
  destroyLocalClients(clients);
  process.stdout.write(`${JSON.stringify({ type: 'done', counters: runner.metrics().counters })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
