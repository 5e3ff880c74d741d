/**
 * The local Kinesis event source mapping against kinesalite and fauxqs (in a child process),
 * through the real AWS SDK: delivery, ordering, partial batch responses, bisection, retries,
 * record age, on-failure records, parallelization, durable checkpoints (resuming after a restart),
 * and chaos.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  ExpiredIteratorException,
  PutRecordsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { PublishCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { resolveConfig } from '../../contract/config';
import { Chaos } from '../../local/chaos/chaos';
import { applyChaos } from '../../local/chaos/middleware';
import type { ChaosOptions } from '../../local/chaos/options';
import type { ChaosFault } from '../../local/chaos/types';
import { createLocalClients, destroyLocalClients, type LocalClients } from '../../local/endpoints';
import { DrainTimeoutError } from '../../local/event-source/errors';
import { EventSourceRunner } from '../../local/event-source/runner';
import type {
  EventSourceRunnerOptions,
  KinesisHandler,
  KinesisOnFailureRecord,
  RunnerLogEntry,
} from '../../local/event-source/types';
import { CheckpointStoreError, FileCheckpointStore } from '../../local/event-source/checkpoint-store';
import { createLocalResources, type LocalResources } from '../../local/resources';
import { startEmulatorProcess, type EmulatorProcess } from '../helpers/emulators';

let emulators: EmulatorProcess;
let clients: LocalClients;
const runners: EventSourceRunner[] = [];
const extraClients: LocalClients[] = [];

beforeAll(async () => {
  emulators = await startEmulatorProcess();
  clients = createLocalClients(emulators.endpoints);
}, 60_000);

afterEach(async () => {
  await Promise.all(runners.splice(0).map((runner) => runner.stop()));
  for (const extra of extraClients.splice(0)) destroyLocalClients(extra);
});

afterAll(async () => {
  if (clients) destroyLocalClients(clients);
  await emulators?.stop();
});

// ---------------------------------------------------------------------------------------------
// helpers

let streamCounter = 0;

async function createStream(shards: number): Promise<{ name: string; arn: string }> {
  const name = `runner-test-${++streamCounter}`;
  await clients.kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  return waitUntilActive(name);
}

async function waitUntilActive(name: string): Promise<{ name: string; arn: string }> {
  for (;;) {
    const { StreamDescriptionSummary: s } = await clients.kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: name }),
    );
    if (s?.StreamStatus === 'ACTIVE') return { name, arn: s.StreamARN as string };
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Put {
  readonly key: string;
  readonly body: string;
  readonly sequenceNumber: string;
  readonly shardId: string;
}

async function put(streamName: string, items: ReadonlyArray<{ key: string; body: string }>): Promise<Put[]> {
  const puts: Put[] = [];
  for (let i = 0; i < items.length; i += 500) {
    const chunk = items.slice(i, i + 500);
    const out = await clients.kinesis.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: chunk.map((item) => ({ PartitionKey: item.key, Data: Buffer.from(item.body) })),
      }),
    );
    expect(out.FailedRecordCount ?? 0).toBe(0);
    out.Records?.forEach((result, j) =>
      puts.push({
        ...chunk[j],
        sequenceNumber: result.SequenceNumber as string,
        shardId: result.ShardId as string,
      }),
    );
  }
  return puts;
}

/** `perKey` records for each of `keys` partition keys, interleaved; bodies are `<key>/<n>`. */
function items(keys: number, perKey: number): Array<{ key: string; body: string }> {
  const out: Array<{ key: string; body: string }> = [];
  for (let n = 0; n < perKey; n++) {
    for (let k = 0; k < keys; k++) out.push({ key: `sensor-${k}`, body: `sensor-${k}/${n}` });
  }
  return out;
}

async function startRunner(
  options: Partial<EventSourceRunnerOptions> & Pick<EventSourceRunnerOptions, 'streamName' | 'handler'>,
): Promise<EventSourceRunner> {
  const runner = new EventSourceRunner({
    kinesis: clients.kinesis,
    pollIntervalMs: 20,
    retryBackoffMs: 2,
    maxRetryBackoffMs: 10,
    ...options,
  });
  runners.push(runner);
  await runner.start();
  return runner;
}

let queueCounter = 0;

async function createQueue(): Promise<string> {
  const { QueueUrl } = await clients.sqs.send(
    new CreateQueueCommand({ QueueName: `on-failure-${++queueCounter}` }),
  );
  return QueueUrl as string;
}

async function receiveAll(queueUrl: string): Promise<KinesisOnFailureRecord[]> {
  const documents: KinesisOnFailureRecord[] = [];
  for (;;) {
    const { Messages } = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (!Messages || Messages.length === 0) return documents;
    for (const message of Messages) {
      documents.push(JSON.parse(message.Body as string) as KinesisOnFailureRecord);
      await clients.sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    }
  }
}

const text = (record: KinesisStreamRecord): string =>
  Buffer.from(record.kinesis.data, 'base64').toString('utf8');
const seqs = (event: KinesisStreamEvent): string[] => event.Records.map((r) => r.kinesis.sequenceNumber);

/** A handler that records every event it is given and answers with `respond` (default: success). */
function recordingHandler(respond: (event: KinesisStreamEvent, call: number) => unknown = () => undefined): {
  handler: KinesisHandler;
  events: KinesisStreamEvent[];
  contexts: Context[];
} {
  const events: KinesisStreamEvent[] = [];
  const contexts: Context[] = [];
  const handler: KinesisHandler = async (event, context) => {
    events.push(event);
    contexts.push(context);
    return respond(event, events.length - 1) as void;
  };
  return { handler, events, contexts };
}

const DRAIN = { timeoutMs: 20_000 };

// ---------------------------------------------------------------------------------------------
// delivery

describe('delivery', () => {
  test('delivers every record of a multi-shard stream exactly once, in order per partition key', async () => {
    const stream = await createStream(3);
    const puts = await put(stream.name, items(12, 15));
    const { handler, events } = recordingHandler();
    const runner = await startRunner({ streamName: stream.name, handler, batchSize: 25 });

    await runner.drain(DRAIN);

    const delivered = events.flatMap((event) => event.Records.map(text));
    expect([...delivered].sort()).toEqual(puts.map((p) => p.body).sort());
    const byKey = new Map<string, number[]>();
    for (const body of delivered) {
      const [key, n] = body.split('/');
      byKey.set(key, [...(byKey.get(key) ?? []), Number(n)]);
    }
    for (const numbers of byKey.values()) expect(numbers).toEqual([...Array(15).keys()]);
    expect(new Set(puts.map((p) => p.shardId)).size).toBe(3);
  });

  test('builds each record in the shape of a Lambda Kinesis event', async () => {
    const stream = await createStream(2);
    const before = Date.now();
    const [record] = await put(stream.name, [{ key: 'sensor-7', body: '{"value":1}' }]);
    const after = Date.now();
    const { handler, events } = recordingHandler();
    const runner = await startRunner({ streamName: stream.name, handler });

    await runner.drain(DRAIN);

    const delivered = events[0].Records[0];
    expect(delivered).toEqual({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'sensor-7',
        sequenceNumber: record.sequenceNumber,
        data: Buffer.from('{"value":1}').toString('base64'),
        approximateArrivalTimestamp: expect.any(Number),
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${record.shardId}:${record.sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: expect.stringMatching(/^arn:aws:iam::\d{12}:role\/.+/),
      awsRegion: 'us-east-1',
      eventSourceARN: stream.arn,
    });
    // Seconds with a fraction, as Lambda sends it.
    expect(delivered.kinesis.approximateArrivalTimestamp).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(delivered.kinesis.approximateArrivalTimestamp).toBeLessThanOrEqual(after / 1000 + 1);
  });

  test('passes a Lambda context with the function name and remaining time', async () => {
    const stream = await createStream(1);
    await put(stream.name, [{ key: 'k', body: 'x' }]);
    let remaining = -1;
    const { handler, contexts } = recordingHandler((_event) => {
      remaining = contexts[0].getRemainingTimeInMillis();
    });
    const runner = await startRunner({
      streamName: stream.name,
      handler,
      functionName: 'proc',
      functionTimeoutMs: 30_000,
    });

    await runner.drain(DRAIN);

    expect(contexts[0]).toMatchObject({
      functionName: 'proc',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:proc',
      memoryLimitInMB: '1024',
      awsRequestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(30_000);
  });

  test('with LATEST, delivers only records put after start', async () => {
    const stream = await createStream(1);
    await put(stream.name, [{ key: 'k', body: 'before' }]);
    const { handler, events } = recordingHandler();
    const runner = await startRunner({ streamName: stream.name, handler, startingPosition: 'LATEST' });
    await put(stream.name, [{ key: 'k', body: 'after' }]);

    await runner.drain(DRAIN);

    expect(events.flatMap((event) => event.Records.map(text))).toEqual(['after']);
  });

  test('limits each invocation to batchSize records', async () => {
    const stream = await createStream(1);
    await put(stream.name, items(1, 23));
    const { handler, events } = recordingHandler();
    const runner = await startRunner({ streamName: stream.name, handler, batchSize: 5 });

    await runner.drain(DRAIN);

    expect(events.map((event) => event.Records.length)).toEqual([5, 5, 5, 5, 3]);
  });

  test('resumes after an expired shard iterator without losing or repeating records', async () => {
    const stream = await createStream(1);
    const kinesisClients = createLocalClients(emulators.endpoints);
    extraClients.push(kinesisClients);
    let expireNextRead = false;
    kinesisClients.kinesis.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetRecordsCommand' && expireNextRead) {
          expireNextRead = false;
          throw new ExpiredIteratorException({
            $metadata: { httpStatusCode: 400 },
            message: 'Iterator expired.',
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'expireIterator' },
    );
    const first = await put(stream.name, items(1, 5));
    const { handler, events } = recordingHandler();
    const runner = await startRunner({ streamName: stream.name, handler, kinesis: kinesisClients.kinesis });
    await runner.drain(DRAIN);

    expireNextRead = true;
    const second = await put(
      stream.name,
      items(1, 5).map((item) => ({ ...item, body: `${item.body}b` })),
    );
    await runner.drain(DRAIN);

    expect(events.flatMap(seqs)).toEqual([...first, ...second].map((p) => p.sequenceNumber));
    expect(runner.metrics().counters.iteratorRefreshes).toBe(1);
  });
});

describe('lifecycle', () => {
  test('stop() lets the in-flight invocation finish before it resolves', async () => {
    const stream = await createStream(1);
    await put(stream.name, items(1, 3));
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let started: () => void = () => undefined;
    const invoked = new Promise<void>((resolve) => (started = resolve));
    let finished = false;
    const runner = await startRunner({
      streamName: stream.name,
      handler: async () => {
        started();
        await blocked;
        finished = true;
      },
    });
    await invoked;

    let stopped = false;
    const stopping = runner.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    const stoppedWhileBlocked = stopped;
    release();
    await stopping;

    expect(stoppedWhileBlocked).toBe(false);
    expect(finished).toBe(true);
  });

  test('drain() rejects with DrainTimeoutError when the records are not done in time', async () => {
    const stream = await createStream(1);
    await put(stream.name, items(1, 1));
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const runner = await startRunner({ streamName: stream.name, handler: () => blocked });

    const outcome = await runner.drain({ timeoutMs: 100 }).catch((error: unknown) => error);
    release();

    expect(outcome).toBeInstanceOf(DrainTimeoutError);
  });

  test('start() rejects for a stream that does not exist', async () => {
    const runner = new EventSourceRunner({
      kinesis: clients.kinesis,
      streamName: 'no-such-stream',
      handler: async () => undefined,
    });

    await expect(runner.start()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  test('maxBatchingWindow gathers records that arrive within the window into one batch', async () => {
    const stream = await createStream(1);
    const { handler, events } = recordingHandler();
    const runner = await startRunner({ streamName: stream.name, handler, maxBatchingWindowMs: 500 });

    for (let i = 0; i < 3; i++) await put(stream.name, [{ key: 'k', body: `r${i}` }]);
    await runner.drain(DRAIN);

    expect(events.map((event) => event.Records.map(text))).toEqual([['r0', 'r1', 'r2']]);
  });
});

describe('shards', () => {
  test('reads a split parent shard to its end before its children, keeping each key in order', async () => {
    const stream = await createStream(1);
    const before = await put(stream.name, items(4, 5));
    await clients.kinesis.send(
      new SplitShardCommand({
        StreamName: stream.name,
        ShardToSplit: 'shardId-000000000000',
        NewStartingHashKey: (2n ** 127n).toString(),
      }),
    );
    await waitUntilActive(stream.name);
    const after = await put(
      stream.name,
      items(4, 5).map((item) => ({ ...item, body: item.body.replace('/', '/1') })),
    );
    const { handler, events } = recordingHandler();
    const runner = await startRunner({ streamName: stream.name, handler, batchSize: 7 });

    await runner.drain(DRAIN);

    const delivered = events.flatMap((event) => event.Records.map(text));
    for (let k = 0; k < 4; k++) {
      const key = `sensor-${k}`;
      expect(delivered.filter((body) => body.startsWith(`${key}/`))).toEqual(
        [...before, ...after].filter((p) => p.key === key).map((p) => p.body),
      );
    }
    expect(new Set(after.map((p) => p.shardId)).size).toBe(2);
    expect(runner.metrics().shards.find((s) => s.shardId === 'shardId-000000000000')?.finished).toBe(true);
  });

  test('reports per-shard checkpoints at the last record and no lag once drained', async () => {
    const stream = await createStream(2);
    const puts = await put(stream.name, items(6, 3));
    const { handler } = recordingHandler();
    const runner = await startRunner({ streamName: stream.name, handler });

    await runner.drain(DRAIN);

    const lastPerShard = new Map(puts.map((p) => [p.shardId, p.sequenceNumber]));
    expect(
      runner
        .metrics()
        .shards.map((s) => [s.shardId, s.checkpoint, s.pending, s.iteratorAgeMs, s.inFlightBatches])
        .sort(),
    ).toEqual([...lastPerShard].map(([shardId, seq]) => [shardId, seq, 0, 0, 0]).sort());
  });

  test('reports the age of the oldest unfinished record while a batch is in flight', async () => {
    const stream = await createStream(1);
    await put(stream.name, items(1, 2));
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let started: () => void = () => undefined;
    const invoked = new Promise<void>((resolve) => (started = resolve));
    const runner = await startRunner({
      streamName: stream.name,
      handler: async () => {
        started();
        await blocked;
      },
    });
    await invoked;
    await new Promise((resolve) => setTimeout(resolve, 30));

    const [shard] = runner.metrics().shards;
    release();
    await runner.drain(DRAIN);

    expect(shard.pending).toBe(2);
    expect(shard.inFlightBatches).toBe(1);
    expect(shard.iteratorAgeMs).toBeGreaterThanOrEqual(30);
  });
});

// ---------------------------------------------------------------------------------------------
// partial batch responses

describe('partial batch response', () => {
  test('checkpoints before the lowest failed sequence number and re-delivers from it', async () => {
    const stream = await createStream(1);
    const puts = await put(stream.name, items(1, 10));
    const { handler, events } = recordingHandler((event, call) =>
      call === 0 ? { batchItemFailures: [6, 4].map((i) => ({ itemIdentifier: seqs(event)[i] })) } : undefined,
    );
    const runner = await startRunner({
      streamName: stream.name,
      handler,
      batchSize: 10,
      reportBatchItemFailures: true,
    });

    await runner.drain(DRAIN);

    expect(events.map(seqs)).toEqual([
      puts.map((p) => p.sequenceNumber),
      puts.slice(4).map((p) => p.sequenceNumber),
    ]);
    expect(runner.metrics().shards[0].checkpoint).toBe(puts[9].sequenceNumber);
  });

  test('an empty batchItemFailures list means the whole batch succeeded', async () => {
    const stream = await createStream(1);
    await put(stream.name, items(1, 4));
    const { handler, events } = recordingHandler(() => ({ batchItemFailures: [] }));
    const runner = await startRunner({ streamName: stream.name, handler, reportBatchItemFailures: true });

    await runner.drain(DRAIN);

    expect(events).toHaveLength(1);
    expect(runner.metrics().counters.recordsSucceeded).toBe(4);
  });

  test.each([
    ['an empty', ''],
    ['a null', null],
    ['an unknown', '49999999999999999999999999999999999999999999999999999999'],
  ])(
    'a failure entry with %s itemIdentifier fails and retries the whole batch',
    async (_label, identifier) => {
      const stream = await createStream(1);
      const puts = await put(stream.name, items(1, 6));
      const { handler, events } = recordingHandler((_event, call) =>
        call === 0 ? { batchItemFailures: [{ itemIdentifier: identifier }] } : undefined,
      );
      const runner = await startRunner({ streamName: stream.name, handler, reportBatchItemFailures: true });

      await runner.drain(DRAIN);

      const all = puts.map((p) => p.sequenceNumber);
      expect(events.map(seqs)).toEqual([all, all]);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// errors, bisection, retries, record age, on-failure destination

describe('failures', () => {
  test('bisects around a poison record, sends only it to the on-failure queue and processes the rest of the shard', async () => {
    const stream = await createStream(1);
    const puts = await put(stream.name, items(1, 20));
    const poison = puts[5];
    const succeeded: string[] = [];
    const handler: KinesisHandler = async (event) => {
      if (seqs(event).includes(poison.sequenceNumber)) throw new Error('poison record');
      succeeded.push(...seqs(event));
    };
    const queueUrl = await createQueue();
    const runner = await startRunner({
      streamName: stream.name,
      handler,
      batchSize: 8,
      bisectBatchOnError: true,
      retryAttempts: 2,
      onFailure: { sqs: clients.sqs, queueUrl },
    });

    await runner.drain(DRAIN);

    const documents = await receiveAll(queueUrl);
    expect(documents).toEqual([
      {
        requestContext: {
          requestId: expect.any(String),
          functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:stream-processor',
          condition: 'RetryAttemptsExhausted',
          // in the batch of 8, its half of 4, its pair, then alone: once plus two retries
          approximateInvokeCount: 6,
        },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        version: '1.0',
        timestamp: expect.any(String),
        KinesisBatchInfo: {
          shardId: poison.shardId,
          startSequenceNumber: poison.sequenceNumber,
          endSequenceNumber: poison.sequenceNumber,
          approximateArrivalOfFirstRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          approximateArrivalOfLastRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          batchSize: 1,
          streamArn: stream.arn,
        },
      },
    ]);
    expect([...succeeded].sort()).toEqual(
      puts
        .filter((p) => p !== poison)
        .map((p) => p.sequenceNumber)
        .sort(),
    );
    expect(runner.metrics().shards[0].checkpoint).toBe(puts[19].sequenceNumber);
  });

  test('without bisection, sends the whole batch on-failure once retryAttempts are used up', async () => {
    const stream = await createStream(1);
    const puts = await put(stream.name, items(1, 8));
    const { handler, events } = recordingHandler((event) => {
      if (seqs(event).includes(puts[1].sequenceNumber)) throw new Error('boom');
    });
    const queueUrl = await createQueue();
    const runner = await startRunner({
      streamName: stream.name,
      handler,
      batchSize: 4,
      retryAttempts: 1,
      onFailure: { sqs: clients.sqs, queueUrl },
    });

    await runner.drain(DRAIN);

    const [document, ...others] = await receiveAll(queueUrl);
    expect(others).toEqual([]);
    expect(document.requestContext).toMatchObject({
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 2,
    });
    expect(document.KinesisBatchInfo).toMatchObject({
      startSequenceNumber: puts[0].sequenceNumber,
      endSequenceNumber: puts[3].sequenceNumber,
      batchSize: 4,
    });
    expect(events.map(seqs)).toEqual([
      puts.slice(0, 4).map((p) => p.sequenceNumber),
      puts.slice(0, 4).map((p) => p.sequenceNumber),
      puts.slice(4).map((p) => p.sequenceNumber),
    ]);
  });

  test('with retryAttempts 0 a failed partial batch sends the rest of the batch on-failure at once', async () => {
    const stream = await createStream(1);
    const puts = await put(stream.name, items(1, 5));
    const { handler, events } = recordingHandler((event, call) =>
      call === 0 ? { batchItemFailures: [{ itemIdentifier: seqs(event)[2] }] } : undefined,
    );
    const queueUrl = await createQueue();
    const runner = await startRunner({
      streamName: stream.name,
      handler,
      retryAttempts: 0,
      reportBatchItemFailures: true,
      onFailure: { sqs: clients.sqs, queueUrl },
    });

    await runner.drain(DRAIN);

    const documents = await receiveAll(queueUrl);
    expect(documents.map((d) => d.KinesisBatchInfo)).toEqual([
      expect.objectContaining({
        startSequenceNumber: puts[2].sequenceNumber,
        endSequenceNumber: puts[4].sequenceNumber,
        batchSize: 3,
      }),
    ]);
    expect(events).toHaveLength(1);
  });

  test('records already older than maxRecordAge go on-failure without an invocation', async () => {
    const stream = await createStream(1);
    const puts = await put(stream.name, items(1, 3));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { handler, events } = recordingHandler();
    const queueUrl = await createQueue();
    const runner = await startRunner({
      streamName: stream.name,
      handler,
      maxRecordAgeMs: 200,
      onFailure: { sqs: clients.sqs, queueUrl },
    });

    await runner.drain(DRAIN);

    const documents = await receiveAll(queueUrl);
    expect(events).toEqual([]);
    expect(documents).toHaveLength(1);
    expect(documents[0].requestContext).toMatchObject({
      condition: 'RecordAgeExceeded',
      approximateInvokeCount: 0,
    });
    expect(documents[0].responseContext).toBeUndefined();
    expect(documents[0].KinesisBatchInfo).toMatchObject({
      startSequenceNumber: puts[0].sequenceNumber,
      endSequenceNumber: puts[2].sequenceNumber,
      batchSize: 3,
    });
  });

  test('a batch that keeps failing is retried until its records are older than maxRecordAge, then the shard moves on', async () => {
    const stream = await createStream(1);
    const failing = await put(stream.name, items(1, 3));
    const failingSeqs = new Set(failing.map((p) => p.sequenceNumber));
    const { handler, events } = recordingHandler((event) => {
      if (seqs(event).some((s) => failingSeqs.has(s))) throw new Error('still failing');
    });
    const queueUrl = await createQueue();
    const runner = await startRunner({
      streamName: stream.name,
      handler,
      retryAttempts: -1,
      maxRecordAgeMs: 300,
      onFailure: { sqs: clients.sqs, queueUrl },
    });
    await runner.drain(DRAIN);
    const [later] = await put(stream.name, [{ key: 'sensor-0', body: 'later' }]);

    await runner.drain(DRAIN);

    // The three records may be read in one GetRecords call or, under load, in two: so they reach
    // the on-failure queue in one or two documents, which together cover exactly them.
    const documents = await receiveAll(queueUrl);
    expect(documents.length).toBeGreaterThanOrEqual(1);
    expect(documents.every((d) => d.requestContext.condition === 'RecordAgeExceeded')).toBe(true);
    expect(documents[0].requestContext.approximateInvokeCount).toBeGreaterThan(1);
    expect(documents.reduce((n, d) => n + d.KinesisBatchInfo.batchSize, 0)).toBe(3);
    expect(documents[0].KinesisBatchInfo.startSequenceNumber).toBe(failing[0].sequenceNumber);
    expect(documents[documents.length - 1].KinesisBatchInfo.endSequenceNumber).toBe(
      failing[2].sequenceNumber,
    );
    expect(seqs(events[events.length - 1])).toEqual([later.sequenceNumber]);
  });

  test('an invocation that runs past the function timeout fails and is retried', async () => {
    const stream = await createStream(1);
    await put(stream.name, items(1, 2));
    const { handler, events } = recordingHandler(async (_event, call) => {
      if (call === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    });
    const runner = await startRunner({ streamName: stream.name, handler, functionTimeoutMs: 50 });

    await runner.drain(DRAIN);

    expect(events).toHaveLength(2);
    expect(runner.metrics().counters.timeouts).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// durable checkpoints

describe('durable checkpoints', () => {
  let dir: string;
  let store: FileCheckpointStore;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-runner-checkpoints-'));
    store = new FileCheckpointStore({ dir });
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const bodies = (events: readonly KinesisStreamEvent[]): string[] =>
    events.flatMap((event) => event.Records.map(text));

  test('a runner started again with the same store delivers only what was put after the last one finished', async () => {
    const stream = await createStream(2);
    await put(stream.name, items(6, 4));
    const first = recordingHandler();
    const runner = await startRunner({
      streamName: stream.name,
      handler: first.handler,
      checkpointStore: store,
    });
    await runner.drain(DRAIN);
    await runner.stop();
    const later = await put(
      stream.name,
      items(6, 2).map((i) => ({ ...i, body: `${i.body}-later` })),
    );

    const second = recordingHandler();
    const restarted = await startRunner({
      streamName: stream.name,
      handler: second.handler,
      checkpointStore: store,
    });
    await restarted.drain(DRAIN);

    expect(bodies(first.events)).toHaveLength(24);
    expect(bodies(second.events).sort()).toEqual(later.map((p) => p.body).sort());
  });

  test('a runner stopped mid-stream is resumed at the first record it had not finished', async () => {
    const stream = await createStream(1);
    const puts = await put(stream.name, items(1, 40));
    let stopping: Promise<void> | undefined;
    const started: { runner?: EventSourceRunner } = {};
    const first = recordingHandler((_event, call) => {
      if (call === 2) stopping = started.runner?.stop(); // the third batch finishes; the rest is abandoned
    });
    started.runner = await startRunner({
      streamName: stream.name,
      handler: first.handler,
      batchSize: 5,
      checkpointStore: store,
    });
    while (!stopping) await new Promise((resolve) => setTimeout(resolve, 5));
    await stopping;

    const second = recordingHandler();
    const restarted = await startRunner({
      streamName: stream.name,
      handler: second.handler,
      batchSize: 5,
      checkpointStore: store,
    });
    await restarted.drain(DRAIN);

    expect(bodies(first.events)).toEqual(puts.slice(0, 15).map((p) => p.body));
    expect(bodies(second.events)).toEqual(puts.slice(15).map((p) => p.body));
    const saved = await store.load({ streamName: stream.name, consumer: 'stream-processor' });
    expect(saved?.shards).toEqual({ 'shardId-000000000000': { sequenceNumber: puts[39].sequenceNumber } });
  });

  test('with LATEST, a restarted runner delivers the records put while it was stopped', async () => {
    const stream = await createStream(2);
    await put(
      stream.name,
      items(4, 2).map((i) => ({ ...i, body: `${i.body}-before` })),
    );
    const first = recordingHandler();
    const runner = await startRunner({
      streamName: stream.name,
      handler: first.handler,
      startingPosition: 'LATEST',
      checkpointStore: store,
    });
    const seen = await put(stream.name, items(4, 1));
    await runner.drain(DRAIN);
    await runner.stop();
    const whileStopped = await put(
      stream.name,
      items(4, 3).map((i) => ({ ...i, body: `${i.body}-while` })),
    );

    const second = recordingHandler();
    const restarted = await startRunner({
      streamName: stream.name,
      handler: second.handler,
      startingPosition: 'LATEST',
      checkpointStore: store,
    });
    await restarted.drain(DRAIN);

    expect(bodies(first.events).sort()).toEqual(seen.map((p) => p.body).sort());
    expect(bodies(second.events).sort()).toEqual(whileStopped.map((p) => p.body).sort());
  });

  test('with LATEST and nothing processed yet, a restarted runner starts where the first one took LATEST', async () => {
    const stream = await createStream(1);
    await put(stream.name, [{ key: 'k', body: 'before' }]);
    const first = recordingHandler();
    const runner = await startRunner({
      streamName: stream.name,
      handler: first.handler,
      startingPosition: 'LATEST',
      checkpointStore: store,
    });
    await runner.stop();
    await put(stream.name, [{ key: 'k', body: 'while-stopped' }]);

    const second = recordingHandler();
    const restarted = await startRunner({
      streamName: stream.name,
      handler: second.handler,
      startingPosition: 'LATEST',
      checkpointStore: store,
    });
    await restarted.drain(DRAIN);

    expect(first.events).toEqual([]);
    expect(bodies(second.events)).toEqual(['while-stopped']);
  });

  test('after a split, a restarted runner does not read the finished parent again and resumes its children', async () => {
    const stream = await createStream(1);
    const beforeSplit = await put(stream.name, items(4, 3));
    await clients.kinesis.send(
      new SplitShardCommand({
        StreamName: stream.name,
        ShardToSplit: 'shardId-000000000000',
        NewStartingHashKey: (2n ** 127n).toString(),
      }),
    );
    await waitUntilActive(stream.name);
    const afterSplit = await put(
      stream.name,
      items(4, 2).map((i) => ({ ...i, body: `${i.body}-child` })),
    );
    const first = recordingHandler();
    const runner = await startRunner({
      streamName: stream.name,
      handler: first.handler,
      batchSize: 3,
      checkpointStore: store,
    });
    await runner.drain(DRAIN);
    await runner.stop();
    const later = await put(
      stream.name,
      items(4, 2).map((i) => ({ ...i, body: `${i.body}-later` })),
    );

    const second = recordingHandler();
    const restarted = await startRunner({
      streamName: stream.name,
      handler: second.handler,
      batchSize: 3,
      checkpointStore: store,
    });
    await restarted.drain(DRAIN);

    expect(bodies(first.events).sort()).toEqual([...beforeSplit, ...afterSplit].map((p) => p.body).sort());
    expect(bodies(second.events).sort()).toEqual(later.map((p) => p.body).sort());
    const saved = await store.load({ streamName: stream.name, consumer: 'stream-processor' });
    expect(saved?.shards['shardId-000000000000']).toEqual({
      sequenceNumber: beforeSplit[beforeSplit.length - 1].sequenceNumber,
      finished: true,
    });
    expect(Object.keys(saved?.shards ?? {})).toHaveLength(3);
  });

  test('ignores the checkpoints of a deleted stream when a new one of the same name is read', async () => {
    const stream = await createStream(1);
    await put(stream.name, items(2, 2));
    const runner = await startRunner({
      streamName: stream.name,
      handler: recordingHandler().handler,
      checkpointStore: store,
    });
    await runner.drain(DRAIN);
    await runner.stop();
    await clients.kinesis.send(new DeleteStreamCommand({ StreamName: stream.name }));
    // kinesalite stamps creation times in whole seconds: let the new stream get another one.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await clients.kinesis.send(new CreateStreamCommand({ StreamName: stream.name, ShardCount: 1 }));
    await waitUntilActive(stream.name);
    const fresh = await put(
      stream.name,
      items(2, 2).map((i) => ({ ...i, body: `${i.body}-new` })),
    );

    const logs: RunnerLogEntry[] = [];
    const second = recordingHandler();
    const restarted = await startRunner({
      streamName: stream.name,
      handler: second.handler,
      checkpointStore: store,
      onLog: (entry) => logs.push(entry),
    });
    await restarted.drain(DRAIN);

    expect(bodies(second.events).sort()).toEqual(fresh.map((p) => p.body).sort());
    expect(logs.map((l) => l.event)).toContain('checkpoint.discarded');
  });

  test('start() fails with CheckpointStoreError when the saved checkpoints cannot be read', async () => {
    const stream = await createStream(1);
    const file = store.fileOf({ streamName: stream.name, consumer: 'stream-processor' });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'not json');

    const starting = startRunner({
      streamName: stream.name,
      handler: recordingHandler().handler,
      checkpointStore: store,
    });

    await expect(starting).rejects.toThrow(CheckpointStoreError);
  });
});

// ---------------------------------------------------------------------------------------------
// parallelization factor

test('parallelizationFactor runs batches of one shard concurrently, never two of one partition key', async () => {
  const stream = await createStream(1);
  await put(stream.name, items(8, 12));
  const inFlight = new Map<string, number>();
  let concurrent = 0;
  let maxConcurrent = 0;
  let keyOverlap = false;
  const delivered = new Map<string, number[]>();
  const handler: KinesisHandler = async (event) => {
    const keys = new Set(event.Records.map((r) => r.kinesis.partitionKey));
    for (const key of keys) {
      if ((inFlight.get(key) ?? 0) > 0) keyOverlap = true;
      inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
    }
    maxConcurrent = Math.max(maxConcurrent, ++concurrent);
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (const record of event.Records) {
      const [key, n] = text(record).split('/');
      delivered.set(key, [...(delivered.get(key) ?? []), Number(n)]);
    }
    concurrent--;
    for (const key of keys) inFlight.set(key, (inFlight.get(key) ?? 0) - 1);
  };
  const runner = await startRunner({
    streamName: stream.name,
    handler,
    batchSize: 4,
    parallelizationFactor: 4,
  });

  await runner.drain(DRAIN);

  expect(keyOverlap).toBe(false);
  expect(maxConcurrent).toBeGreaterThan(1);
  expect(maxConcurrent).toBeLessThanOrEqual(4);
  expect(delivered.size).toBe(8);
  for (const numbers of delivered.values()) expect(numbers).toEqual([...Array(12).keys()]);
});

// ---------------------------------------------------------------------------------------------
// chaos

describe('chaos', () => {
  let resources: LocalResources;

  beforeAll(async () => {
    resources = await createLocalResources(clients, resolveConfig({ stage: 'runnertest' }));
  });

  /** A handler in the style of the stream processor: one UpdateItem per record, one SNS publish per batch. */
  function writingHandler(target: LocalClients, errors: string[]): KinesisHandler {
    return async (event) => {
      try {
        for (const record of event.Records) {
          await target.dynamodb.send(
            new UpdateItemCommand({
              TableName: resources.tableName,
              Key: {
                pk: { S: `runner#${record.kinesis.partitionKey}` },
                sk: { S: record.kinesis.sequenceNumber },
              },
              UpdateExpression: 'ADD deliveries :one',
              ExpressionAttributeValues: { ':one': { N: '1' } },
            }),
          );
        }
        await target.sns.send(
          new PublishCommand({ TopicArn: resources.alertsTopicArn, Message: `${event.Records.length}` }),
        );
      } catch (error) {
        errors.push((error as Error).name);
        throw error;
      }
    };
  }

  async function runWithChaos(
    options: ChaosOptions,
    records: number,
    settings: Partial<EventSourceRunnerOptions> = {},
  ): Promise<{
    chaos: Chaos;
    runner: EventSourceRunner;
    errors: string[];
    onFailure: KinesisOnFailureRecord[];
    logs: RunnerLogEntry[];
  }> {
    const stream = await createStream(2);
    await put(stream.name, items(6, Math.ceil(records / 6)).slice(0, records));
    const chaos = new Chaos(options);
    const target = createLocalClients(emulators.endpoints);
    extraClients.push(target);
    applyChaos(target, chaos);
    const errors: string[] = [];
    const logs: RunnerLogEntry[] = [];
    const queueUrl = await createQueue();
    const runner = await startRunner({
      streamName: stream.name,
      handler: writingHandler(target, errors),
      batchSize: 10,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      retryAttempts: 3,
      onFailure: { sqs: clients.sqs, queueUrl },
      chaos,
      onLog: (entry) => logs.push(entry),
      ...settings,
    });
    await runner.drain({ timeoutMs: 30_000 });
    return { chaos, runner, errors, onFailure: await receiveAll(queueUrl), logs };
  }

  const sorted = (faults: readonly ChaosFault[]): ChaosFault[] =>
    [...faults].sort((a, b) =>
      `${a.scope}|${String(a.invocation).padStart(6, '0')}|${String(a.call ?? -1).padStart(6, '0')}|${a.kind}`.localeCompare(
        `${b.scope}|${String(b.invocation).padStart(6, '0')}|${String(b.call ?? -1).padStart(6, '0')}|${b.kind}`,
      ),
    );

  const HEAVY: ChaosOptions = {
    seed: 7,
    crashProbability: 0.3,
    maxCrashAfterUpdates: 6,
    throttleProbability: 0.08,
    lostResponseProbability: 0.4,
    redeliveryProbability: 0.3,
    maxConsecutiveFaultyInvocations: 2,
  };

  test('injects crashes, throttles and lost responses through the SDK clients, and still processes every record without the on-failure queue', async () => {
    const { chaos, runner, errors, onFailure } = await runWithChaos(HEAVY, 120);

    expect(chaos.counters.crashes).toBeGreaterThan(0);
    expect(chaos.counters.throttles).toBeGreaterThan(0);
    expect(chaos.counters.lostResponses).toBeGreaterThan(0);
    const faultNames = [
      'ProvisionedThroughputExceededException',
      'ThrottlingException',
      'ThrottledException',
      'TimeoutError',
      'SimulatedCrashError',
    ];
    expect(errors.filter((name) => !faultNames.includes(name))).toEqual([]);
    expect(errors).toEqual(expect.arrayContaining(['SimulatedCrashError', 'TimeoutError']));
    expect(onFailure).toEqual([]);
    expect(runner.metrics().counters).toMatchObject({
      recordsSucceeded: 120,
      recordsSentToOnFailure: 0,
      recordsDiscarded: 0,
    });
  });

  test('the same seed injects the same faults in the same places', async () => {
    const first = await runWithChaos(HEAVY, 60);
    const second = await runWithChaos(HEAVY, 60);

    expect(first.chaos.faults.length).toBeGreaterThan(0);
    expect(sorted(second.chaos.faults)).toEqual(sorted(first.chaos.faults));
  });

  test('redelivers ranges of already-successful records that overlap the last batch', async () => {
    const { chaos, runner, logs } = await runWithChaos(
      { seed: 3, crashProbability: 0, throttleProbability: 0, redeliveryProbability: 0.5 },
      60,
    );

    const redelivered = logs.filter((entry) => entry.event === 'batch.redelivered');
    expect(redelivered.length).toBeGreaterThan(0);
    expect(runner.metrics().counters.redeliveries).toBe(redelivered.length);
    expect(chaos.counters.redeliveries).toBe(redelivered.length);
    expect(runner.metrics().counters.invocations).toBe(
      runner.metrics().counters.batches + redelivered.length,
    );
  });

  test('a forced DynamoDB outage exhausts retries and sends the records on-failure', async () => {
    const chaosOptions: ChaosOptions = {
      seed: 1,
      crashProbability: 0,
      throttleProbability: 0,
      redeliveryProbability: 0,
    };
    const stream = await createStream(1);
    await put(stream.name, items(1, 3));
    const chaos = new Chaos(chaosOptions);
    chaos.setOutage('dynamodb', true);
    const target = createLocalClients(emulators.endpoints);
    extraClients.push(target);
    applyChaos(target, chaos);
    const queueUrl = await createQueue();
    const runner = await startRunner({
      streamName: stream.name,
      handler: writingHandler(target, []),
      retryAttempts: 1,
      onFailure: { sqs: clients.sqs, queueUrl },
      chaos,
    });

    await runner.drain(DRAIN);

    const documents = await receiveAll(queueUrl);
    expect(documents.map((d) => d.KinesisBatchInfo.batchSize)).toEqual([3]);
    expect(chaos.counters.outageFaults).toBe(2);
  });
});
