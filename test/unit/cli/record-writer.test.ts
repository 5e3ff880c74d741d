import type { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import {
  RecordRejectedError,
  RecordsNotPutError,
  RecordWriter,
  splitIntoCalls,
} from '../../../cli/record-writer';
import type { OutgoingRecord } from '../../../contract/stream-record';

const record = (i: number, bytes = 10): OutgoingRecord => ({
  data: Buffer.alloc(bytes, 97),
  partitionKey: `sensor-${i}`,
});
const records = (n: number, bytes = 10): OutgoingRecord[] =>
  Array.from({ length: n }, (_, i) => record(i, bytes));

type Answer = { ErrorCode?: string; ErrorMessage?: string; SequenceNumber?: string; ShardId?: string };

/** A fake Kinesis client: `decide(call, index)` answers each entry; calls are recorded. */
function fakeKinesis(decide: (call: number, entry: number, key: string) => 'ok' | 'throttled' = () => 'ok') {
  const calls: string[][] = [];
  let sequence = 0;
  const client = {
    send: async (command: PutRecordsCommand) => {
      const keys = (command.input.Records ?? []).map((r) => r.PartitionKey as string);
      const call = calls.push(keys) - 1;
      const answers: Answer[] = keys.map((key, entry) =>
        decide(call, entry, key) === 'ok'
          ? { SequenceNumber: String(++sequence), ShardId: 'shardId-000000000000' }
          : { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded' },
      );
      return { Records: answers, FailedRecordCount: answers.filter((a) => a.ErrorCode).length };
    },
  };
  return { client: client as unknown as KinesisClient, calls };
}

const noSleep = async (): Promise<void> => undefined;

test('splits records into calls of at most 500', () => {
  const calls = splitIntoCalls(records(1_201));
  expect(calls.map((c) => c.length)).toEqual([500, 500, 201]);
});

test('splits records into calls of at most 5 MiB', () => {
  const calls = splitIntoCalls(records(12, 1024 * 1024 - 20));
  expect(calls.map((c) => c.length)).toEqual([5, 5, 2]);
});

test('puts every record and returns shard and sequence number in input order', async () => {
  const { client } = fakeKinesis();
  const writer = new RecordWriter({ kinesis: client, streamName: 's', sleep: noSleep });
  const results = await writer.putAll(records(3));
  expect(results.map((r) => r.sequenceNumber)).toEqual(['1', '2', '3']);
});

test('sends again only the entries Kinesis rejected', async () => {
  const { client, calls } = fakeKinesis((call, entry) =>
    call === 0 && (entry === 1 || entry === 3) ? 'throttled' : 'ok',
  );
  const writer = new RecordWriter({ kinesis: client, streamName: 's', sleep: noSleep });
  await writer.putAll(records(5));
  expect(calls).toEqual([
    ['sensor-0', 'sensor-1', 'sensor-2', 'sensor-3', 'sensor-4'],
    ['sensor-1', 'sensor-3'],
  ]);
  expect(writer.stats).toMatchObject({ records: 5, retriedEntries: 2 });
});

test('gives up with RecordsNotPutError after maxAttempts', async () => {
  const { client, calls } = fakeKinesis((_, entry) => (entry === 0 ? 'throttled' : 'ok'));
  const writer = new RecordWriter({ kinesis: client, streamName: 's', sleep: noSleep, maxAttempts: 3 });
  await expect(writer.putAll(records(2))).rejects.toThrow(RecordsNotPutError);
  expect(calls).toHaveLength(3);
});

test('retries a whole call that failed with a retryable error', async () => {
  let failures = 1;
  const { client: inner } = fakeKinesis();
  const client = {
    send: async (command: PutRecordsCommand) => {
      if (failures-- > 0) throw Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
      return (inner as unknown as { send: (c: PutRecordsCommand) => Promise<unknown> }).send(command);
    },
  } as unknown as KinesisClient;
  const writer = new RecordWriter({ kinesis: client, streamName: 's', sleep: noSleep });
  await expect(writer.putAll(records(2))).resolves.toHaveLength(2);
  expect(writer.stats.retriedCalls).toBe(1);
});

test('does not retry a call error that retrying cannot fix', async () => {
  let calls = 0;
  const client = {
    send: async () => {
      calls++;
      throw Object.assign(new Error('Stream s not found'), { name: 'ResourceNotFoundException' });
    },
  } as unknown as KinesisClient;
  const writer = new RecordWriter({ kinesis: client, streamName: 's', sleep: noSleep });
  await expect(writer.putAll(records(1))).rejects.toThrow('Stream s not found');
  expect(calls).toBe(1);
});

test('rejects a record larger than 1 MiB before sending anything', async () => {
  const { client, calls } = fakeKinesis();
  const writer = new RecordWriter({ kinesis: client, streamName: 's', sleep: noSleep });
  await expect(writer.putAll([record(0, 1024 * 1024 + 1)])).rejects.toThrow(RecordRejectedError);
  expect(calls).toHaveLength(0);
});
