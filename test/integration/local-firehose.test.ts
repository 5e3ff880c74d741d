/**
 * The local Firehose against kinesalite (in the emulator child process): it must land what AWS
 * Firehose would, in the same layout: gzip objects of newline-terminated records under
 * raw/dt=YYYY-MM-DD/hour=HH/ of the oldest record's arrival, named like Firehose names them; with a
 * checkpoint store, a Firehose started again continues after the last record landed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { CreateStreamCommand, waitUntilStreamExists, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { LocalClients } from '../../local/endpoints';
import { FileCheckpointStore } from '../../local/event-source/checkpoint-store';
import { packKpl } from '../../core/record-packing';
import { LocalFirehose, type LocalFirehoseOptions } from '../../local/firehose';
import { useEmulators } from '../helpers/emulators';
import { rawLines, rawObjects } from '../helpers/reference-batch';
import { until } from '../helpers/until';

let clients: LocalClients;
let lakeDir: string;
let streamCount = 0;

const local = useEmulators();
beforeAll(() => ({ clients } = local()));

beforeEach(() => {
  lakeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-firehose-'));
});

afterEach(() => {
  fs.rmSync(lakeDir, { recursive: true, force: true });
});

async function newStream(shards = 2): Promise<string> {
  streamCount += 1;
  const name = `firehose-test-${streamCount}`;
  await clients.kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  await waitUntilStreamExists(
    { client: clients.kinesis, maxWaitTime: 30, minDelay: 0.1, maxDelay: 0.2 },
    { StreamName: name },
  );
  return name;
}

async function put(stream: string, records: readonly string[]): Promise<void> {
  for (let i = 0; i < records.length; i += 500) {
    await clients.kinesis.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: records
          .slice(i, i + 500)
          .map((data, j) => ({ Data: Buffer.from(data), PartitionKey: `key-${(i + j) % 7}` })),
      }),
    );
  }
}

function landedLines(): string[] {
  return rawObjects(lakeDir).flatMap((file) => rawLines(file).map((line) => line.toString('utf8')));
}

function firehose(stream: string, overrides: Partial<LocalFirehoseOptions> = {}): LocalFirehose {
  return new LocalFirehose({
    kinesis: clients.kinesis,
    streamName: stream,
    lakeDir,
    deliveryStreamName: 'sluice-test-raw',
    ...overrides,
  });
}

describe('LocalFirehose', () => {
  test('lands every record of every shard exactly once, one per line', async () => {
    const stream = await newStream(3);
    const records = Array.from({ length: 1200 }, (_, i) => JSON.stringify({ n: i, text: 'ü "quoted"' }));
    await put(stream, records);
    const landing = firehose(stream);

    await landing.flush();

    expect(landedLines().sort()).toEqual([...records].sort());
    expect(landing.recordsLanded).toBe(1200);
  });

  test('lands packed records one event per line: KPL de-aggregated, NDJSON line by line', async () => {
    const stream = await newStream(1);
    const kpl = packKpl([
      { partitionKey: 's1', data: Buffer.from('{"k":1}') },
      { partitionKey: 's2', data: Buffer.from('{"k":2}') },
    ]);
    const broken = Buffer.from(kpl);
    broken[broken.length - 1] ^= 0xff;
    await clients.kinesis.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: [kpl, Buffer.from('{"n":1}\n{"n":2}'), Buffer.from('{"n":3}\n'), broken].map((Data) => ({
          Data,
          PartitionKey: 'p',
        })),
      }),
    );
    const landing = firehose(stream);

    await landing.flush();

    const lines = rawObjects(lakeDir).flatMap((file) => rawLines(file));
    // The NDJSON record without a trailing newline does not glue onto the next; the one with one
    // leaves an empty line (Firehose appends a newline to every record); a broken aggregate lands as it is.
    expect(lines.slice(0, 6).map((l) => l.toString('utf8'))).toEqual([
      '{"k":1}',
      '{"k":2}',
      '{"n":1}',
      '{"n":2}',
      '{"n":3}',
      '',
    ]);
    expect(Buffer.concat(lines.slice(6))).toEqual(
      broken.subarray(0, broken.length).filter((b) => b !== 0x0a),
    );
    expect(landing.recordsRead).toBe(4);
  });

  test('writes gzip objects in which every record is followed by a newline', async () => {
    const stream = await newStream(1);
    await put(stream, ['{"a":1}', 'not json']);

    await firehose(stream).flush();

    const [object] = rawObjects(lakeDir);
    expect(zlib.gunzipSync(fs.readFileSync(object)).toString('utf8')).toBe('{"a":1}\nnot json\n');
  });

  test('names objects raw/dt=YYYY-MM-DD/hour=HH/<delivery stream>-1-YYYY-MM-DD-HH-MM-SS-<id>.gz by arrival time', async () => {
    const stream = await newStream(1);
    const before = Date.now();
    await put(stream, ['x']);
    const after = Date.now();

    await firehose(stream).flush();

    const key = path.relative(lakeDir, rawObjects(lakeDir)[0]).split(path.sep).join('/');
    const match =
      /^raw\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/sluice-test-raw-1-(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.gz$/.exec(
        key,
      );
    expect(match).not.toBeNull();
    const [, dt, hour, y, mo, d, h, mi, s] = match as RegExpExecArray;
    const named = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
    expect(named).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(named).toBeLessThanOrEqual(after);
    expect(`${dt}T${hour}`).toBe(`${y}-${mo}-${d}T${h}`);
  });

  test('delivers an object each time the buffer reaches its size', async () => {
    const stream = await newStream(1);
    await put(
      stream,
      Array.from({ length: 100 }, () => 'r'.repeat(99)),
    ); // 100 bytes with the newline
    const landing = firehose(stream, { bufferSizeBytes: 1000 });

    await landing.flush();

    expect(rawObjects(lakeDir).map((f) => rawLines(f).length)).toEqual(Array(10).fill(10));
    expect(landing.objectsWritten).toBe(10);
  });

  test('delivers a partial buffer once the buffer interval has passed, while running', async () => {
    const stream = await newStream(1);
    let now = 0;
    const landing = firehose(stream, { bufferIntervalMs: 60_000, pollIntervalMs: 20, clock: () => now });
    landing.start();
    await put(stream, ['a', 'b']);
    await until('2 records buffered', () => landing.recordsBuffered === 2);
    expect(rawObjects(lakeDir)).toEqual([]);

    now = 60_000;
    await until('2 records landed', () => landing.recordsLanded === 2);

    await landing.stop();
    expect(landedLines()).toEqual(['a', 'b']);
  });

  test('stop() lands what is still buffered or in the stream', async () => {
    const stream = await newStream(2);
    const landing = firehose(stream, { pollIntervalMs: 20 });
    landing.start();
    await put(stream, ['one', 'two', 'three']);

    await landing.stop();

    expect(landedLines().sort()).toEqual(['one', 'three', 'two']);
    expect(landing.recordsBuffered).toBe(0);
  });

  test('a second flush lands only what arrived since the first', async () => {
    const stream = await newStream(2);
    const landing = firehose(stream);
    await put(stream, ['first']);
    await landing.flush();
    await put(stream, ['second']);

    const result = await landing.flush();

    expect(result).toEqual({ recordsRead: 1, objectsWritten: 1 });
    expect(landedLines().sort()).toEqual(['first', 'second']);
  });

  test('starting at LATEST skips records put before the first poll', async () => {
    const stream = await newStream(1);
    await put(stream, ['old']);
    const landing = firehose(stream, { startingPosition: 'LATEST' });
    await landing.flush();
    await put(stream, ['new']);

    await landing.flush();

    expect(landedLines()).toEqual(['new']);
  });

  test('with a checkpoint store, a Firehose started again lands only what the last one had not landed', async () => {
    const stream = await newStream(2);
    const store = new FileCheckpointStore({ dir: path.join(lakeDir, 'checkpoints') });
    const before = Array.from({ length: 30 }, (_, i) => `before-${i}`);
    await put(stream, before);
    const first = firehose(stream, { checkpointStore: store, bufferSizeBytes: 100 });
    await first.stop();
    const after = Array.from({ length: 20 }, (_, i) => `after-${i}`);
    await put(stream, after);

    const second = firehose(stream, { checkpointStore: store });
    const result = await second.stop();

    expect(first.objectsWritten).toBeGreaterThan(1);
    expect(result.recordsRead).toBe(20);
    expect(landedLines().sort()).toEqual([...before, ...after].sort());
  });

  test('ignores the saved positions of another stream of the same name', async () => {
    const stream = await newStream(1);
    const store = new FileCheckpointStore({ dir: path.join(lakeDir, 'checkpoints') });
    await store.save(
      { streamName: stream, consumer: 'sluice-test-raw' },
      {
        streamArn: `arn:aws:kinesis:us-east-1:000000000000:stream/${stream}`,
        streamCreatedAt: '2020-01-01T00:00:00.000Z',
        shards: { 'shardId-000000000000': { sequenceNumber: '1', finished: true } },
      },
    );
    await put(stream, ['kept']);

    await firehose(stream, { checkpointStore: store }).flush();

    expect(landedLines()).toEqual(['kept']);
  });
});
