import type { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { RecordWriter } from '../../../cli/record-writer';
import { TrafficPump } from '../../../cli/traffic-pump';
import { decodeRecordEvents } from '../../../core/record-packing';
import { TrafficGenerator } from '../../../local/demo-producer';

function writer(calls: number[], fail = false): RecordWriter {
  let sequence = 0;
  const client = {
    send: async (command: PutRecordsCommand) => {
      if (fail) throw Object.assign(new Error('Stream not found'), { name: 'ResourceNotFoundException' });
      calls.push(command.input.Records?.length ?? 0);
      return {
        Records: (command.input.Records ?? []).map(() => ({
          SequenceNumber: String(++sequence),
          ShardId: 'shardId-0',
        })),
      };
    },
  } as unknown as KinesisClient;
  return new RecordWriter({ kinesis: client, streamName: 's' });
}

test('sends exactly the total, in calls of at most 500', async () => {
  const calls: number[] = [];
  const pump = new TrafficPump({
    writer: writer(calls),
    generator: new TrafficGenerator({ seed: 1 }),
    ratePerSecond: 1e9,
    total: 1_234,
    tickMs: 1,
  });
  const stats = await pump.start().done;
  expect(stats.sent).toBe(1_234);
  expect(calls.reduce((a, b) => a + b, 0)).toBe(1_234);
  expect(Math.max(...calls)).toBeLessThanOrEqual(500);
});

test('sends only what is due by the clock', async () => {
  let now = 0;
  const calls: number[] = [];
  const pump = new TrafficPump({
    writer: writer(calls),
    generator: new TrafficGenerator({ seed: 1 }),
    ratePerSecond: 100,
    tickMs: 1,
    now: () => now,
  });
  pump.start();
  now = 2_500;
  await new Promise((resolve) => setTimeout(resolve, 30));
  const stats = await pump.stop();
  expect(stats.sent).toBe(250);
});

test('counts records by kind', async () => {
  const calls: number[] = [];
  const pump = new TrafficPump({
    writer: writer(calls),
    generator: new TrafficGenerator({ seed: 2, invalidRate: 0.5, lateRate: 0 }),
    ratePerSecond: 1e9,
    total: 1_000,
    tickMs: 1,
  });
  const { byKind, sent } = await pump.start().done;
  expect(byKind.malformed).toBeGreaterThan(400);
  expect(byKind.normal + byKind.anomaly + byKind.malformed + byKind.late + byKind.duplicate).toBe(sent);
});

test('stops with the error when a call fails for good', async () => {
  const pump = new TrafficPump({
    writer: writer([], true),
    generator: new TrafficGenerator({ seed: 1 }),
    ratePerSecond: 1e9,
    total: 10,
    tickMs: 1,
  });
  await expect(pump.start().done).rejects.toThrow('Stream not found');
});

test('packs events into NDJSON records, and a rejected packed record is retried whole, once', async () => {
  const accepted: Uint8Array[] = [];
  let calls = 0;
  const client = {
    send: async (command: PutRecordsCommand) => {
      calls++;
      const entries = command.input.Records ?? [];
      return {
        Records: entries.map((entry, i) => {
          // The first call rejects its first entry: the writer must send that record again alone.
          if (calls === 1 && i === 0) return { ErrorCode: 'ProvisionedThroughputExceededException' };
          accepted.push(entry.Data as Uint8Array);
          return { SequenceNumber: String(accepted.length), ShardId: 'shardId-0' };
        }),
      };
    },
  } as unknown as KinesisClient;
  const pump = new TrafficPump({
    writer: new RecordWriter({ kinesis: client, streamName: 's', sleep: async () => undefined }),
    generator: new TrafficGenerator({ seed: 3, invalidRate: 0.1 }),
    ratePerSecond: 1e9,
    total: 1_000,
    tickMs: 1,
    packing: { mode: 'ndjson' },
  });
  const stats = await pump.start().done;
  const events = accepted.flatMap((data) => decodeRecordEvents(data, Date.now(), 0).subRecords);
  expect(events).toHaveLength(1_000);
  expect(stats).toMatchObject({ sent: 1_000, records: accepted.length });
  expect(accepted.length).toBeLessThan(200);
});
