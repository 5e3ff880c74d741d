/**
 * kinesalite as local mode starts it (local/emulators/kinesalite.ts) delivers a shard's first record
 * when a GetRecords overlaps the PutRecords that writes it. Plain kinesalite does not: the put numbers
 * its records, the read finds nothing yet and returns an iterator at the current second, the put
 * commits, and the first record (sequence index 0, an earlier second) sorts below that iterator for
 * good. Under load this lost the first record of `sluice local --events FILE --once` (the speed
 * layer never saw it; Firehose, polling at another moment, did).
 *
 * The test holds the put between numbering and commit (a hook on kinesalite's store), lets a
 * second boundary pass, reads, then lets the put commit.
 */
import { NodeHttpHandler } from '@smithy/node-http-handler';
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  PutRecordsCommand,
  waitUntilStreamExists,
} from '@aws-sdk/client-kinesis';
import { startKinesalite } from '../../local/emulators/kinesalite';
import type { RunningEmulator } from '../../local/emulators/listen';

interface Batchable {
  batch(ops: unknown, options: unknown, callback: unknown): unknown;
  heldBatch?: true;
}

/** Commits of records held back while `hold` is set; `numbered` resolves once a put is held. */
const puts = {
  hold: undefined as Promise<void> | undefined,
  onHeld: (): void => undefined,
};

// kinesalite creates its store through this module's `create` on each start: wrap the stream
// databases so that a put's commit (its one `batch` of puts) can be held.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kinesaliteDb = require('kinesalite/db') as { create: (options: unknown) => unknown };
const create = kinesaliteDb.create;
kinesaliteDb.create = (options: unknown) => {
  const store = create(options) as { getStreamDb: (name: string) => Batchable };
  const getStreamDb = store.getStreamDb;
  store.getStreamDb = (name: string) => {
    const db = getStreamDb(name);
    if (!db.heldBatch) {
      const batch = db.batch.bind(db);
      db.batch = (ops: unknown, batchOptions: unknown, callback: unknown) => {
        const held = puts.hold;
        const isPut = Array.isArray(ops) && (ops as Array<{ type?: string }>)[0]?.type === 'put';
        if (!held || !isPut) return batch(ops, batchOptions, callback);
        puts.onHeld();
        void held.then(() => batch(ops, batchOptions, callback));
        return undefined;
      };
      db.heldBatch = true;
    }
    return db;
  };
  return store;
};

const STREAM = 'first-record';
const SHARD = 'shardId-000000000000';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let emulator: RunningEmulator;
let kinesis: KinesisClient;

beforeAll(async () => {
  emulator = await startKinesalite();
  kinesis = new KinesisClient({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler(),
  });
  await kinesis.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 1 }));
  await waitUntilStreamExists({ client: kinesis, maxWaitTime: 30, minDelay: 1 }, { StreamName: STREAM });
});

afterAll(async () => {
  kinesis?.destroy();
  await emulator?.stop();
});

/** Reads from `iterator` until the shard has nothing more (an empty read); returns the data read. */
async function readAll(iterator: string | undefined, first: string[]): Promise<string[]> {
  const data = [...first];
  for (let next = iterator; next;) {
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: next }));
    const records = page.Records ?? [];
    data.push(...records.map((record) => Buffer.from(record.Data ?? []).toString('utf8')));
    if (records.length === 0) break;
    next = page.NextShardIterator;
  }
  return data;
}

test('a read that overlaps the put of a shard’s first records still leads to the first record', async () => {
  const { ShardIterator: trimHorizon } = await kinesis.send(
    new GetShardIteratorCommand({ StreamName: STREAM, ShardId: SHARD, ShardIteratorType: 'TRIM_HORIZON' }),
  );
  let release!: () => void;
  puts.hold = new Promise((resolve) => (release = resolve));
  const held = new Promise<void>((resolve) => (puts.onHeld = resolve));
  const put = kinesis.send(
    new PutRecordsCommand({
      StreamName: STREAM,
      Records: ['r1', 'r2', 'r3'].map((data) => ({ PartitionKey: 'sensor-1', Data: Buffer.from(data) })),
    }),
  );
  await held; // the records have their sequence numbers; none is committed
  await sleep(1_000 - (Date.now() % 1_000) + 20); // the read's second is after the put's

  const read = kinesis.send(new GetRecordsCommand({ ShardIterator: trimHorizon }));
  // Plain kinesalite answers at once (nothing yet); local mode's waits for the put, so let it go
  // after a while either way.
  await Promise.race([read, sleep(500)]);
  puts.hold = undefined;
  release();
  await put;
  const first = await read;

  const data = await readAll(
    first.NextShardIterator,
    (first.Records ?? []).map((record) => Buffer.from(record.Data ?? []).toString('utf8')),
  );
  expect(data).toEqual(['r1', 'r2', 'r3']);
});
