/** Checkpoint stores and the coalescing writer of the event source runner (plain data, a temp dir). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CheckpointStoreError,
  FileCheckpointStore,
  MemoryCheckpointStore,
  type CheckpointKey,
  type CheckpointStore,
  type StreamCheckpoints,
} from '../../../local/event-source/checkpoint-store';
import { CheckpointWriter } from '../../../local/event-source/checkpoint-writer';

const KEY: CheckpointKey = { streamName: 'sluice-dev-events', consumer: 'stream-processor' };
const STREAM = {
  streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/sluice-dev-events',
  streamCreatedAt: '2026-11-21T12:00:00.000Z',
};
const CHECKPOINTS: StreamCheckpoints = {
  ...STREAM,
  shards: {
    'shardId-000000000000': {
      sequenceNumber: '49680430544140629321650674207534631089784128696613863426',
      finished: true,
    },
    'shardId-000000000001': { sequenceNumber: '49680430544162930066849204830677375733876391687294550034' },
    'shardId-000000000002': { fromTimestamp: 1_795_000_000_000 },
    'shardId-000000000003': {},
  },
};

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-checkpoints-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('FileCheckpointStore', () => {
  test('loads what it saved, in a new store on the same directory', async () => {
    await new FileCheckpointStore({ dir }).save(KEY, CHECKPOINTS);

    expect(await new FileCheckpointStore({ dir }).load(KEY)).toEqual(CHECKPOINTS);
  });

  test('loads nothing for a stream and consumer it never saved', async () => {
    await new FileCheckpointStore({ dir }).save(KEY, CHECKPOINTS);

    const store = new FileCheckpointStore({ dir });
    expect(await store.load({ ...KEY, consumer: 'sluice-dev-events-raw' })).toBeUndefined();
    expect(await store.load({ ...KEY, streamName: 'other' })).toBeUndefined();
  });

  test('keeps one readable JSON document per stream and consumer, and no temporary files', async () => {
    const store = new FileCheckpointStore({ dir });
    await store.save(KEY, CHECKPOINTS);
    await store.save(KEY, { ...CHECKPOINTS, shards: { 'shardId-000000000001': { sequenceNumber: '7' } } });

    const file = path.join(dir, 'sluice-dev-events', 'stream-processor.json');
    expect(store.fileOf(KEY)).toBe(file);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['stream-processor.json']);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({
      version: 1,
      streamName: KEY.streamName,
      consumer: KEY.consumer,
      ...STREAM,
      shards: { 'shardId-000000000001': { sequenceNumber: '7' } },
    });
  });

  test('a save replaces the whole document: shards left out are gone', async () => {
    const store = new FileCheckpointStore({ dir });
    await store.save(KEY, CHECKPOINTS);

    await store.save(KEY, { ...STREAM, shards: { 'shardId-000000000003': { sequenceNumber: '12' } } });

    expect((await store.load(KEY))?.shards).toEqual({ 'shardId-000000000003': { sequenceNumber: '12' } });
  });

  test('a document that is not JSON fails the load with the file and how to start over', async () => {
    const store = new FileCheckpointStore({ dir });
    fs.mkdirSync(path.dirname(store.fileOf(KEY)), { recursive: true });
    fs.writeFileSync(store.fileOf(KEY), '{"version": 1, "shar');

    const loading = store.load(KEY);

    await expect(loading).rejects.toThrow(CheckpointStoreError);
    await expect(loading).rejects.toThrow(`${store.fileOf(KEY)} cannot be used: not JSON`);
    await expect(loading).rejects.toThrow('Delete the file to start from the starting position again');
  });

  test('a sequence number that is not a string of digits fails the load, naming the shard', async () => {
    const store = new FileCheckpointStore({ dir });
    await store.save(KEY, CHECKPOINTS);
    const document = JSON.parse(fs.readFileSync(store.fileOf(KEY), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(
      store.fileOf(KEY),
      JSON.stringify({ ...document, shards: { 'shardId-000000000001': { sequenceNumber: 4968 } } }),
    );

    await expect(store.load(KEY)).rejects.toThrow(
      'shards["shardId-000000000001"].sequenceNumber must be a string of digits',
    );
  });

  test('a save that cannot write rejects with CheckpointStoreError and leaves the last document', async () => {
    const store = new FileCheckpointStore({ dir });
    await store.save(KEY, CHECKPOINTS);
    // A file where the directory of the document would be makes the save fail.
    const blocked = new FileCheckpointStore({
      dir: path.join(dir, 'sluice-dev-events', 'stream-processor.json'),
    });

    await expect(blocked.save(KEY, CHECKPOINTS)).rejects.toThrow(CheckpointStoreError);
    expect(await store.load(KEY)).toEqual(CHECKPOINTS);
  });
});

describe('MemoryCheckpointStore', () => {
  test('loads a copy of what it saved, not the object itself', async () => {
    const store = new MemoryCheckpointStore();
    const shards = { 'shardId-000000000000': { sequenceNumber: '1' } };
    await store.save(KEY, { ...STREAM, shards });
    shards['shardId-000000000000'] = { sequenceNumber: '2' };

    expect((await store.load(KEY))?.shards).toEqual({ 'shardId-000000000000': { sequenceNumber: '1' } });
  });
});

/** A store whose saves wait until released, to see what the writer does meanwhile. */
class GatedStore implements CheckpointStore {
  readonly saves: StreamCheckpoints[] = [];
  failNext = 0;
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open();
  }

  load(): Promise<StreamCheckpoints | undefined> {
    return Promise.resolve(undefined);
  }

  async save(_key: CheckpointKey, checkpoints: StreamCheckpoints): Promise<void> {
    await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('disk full');
    }
    this.saves.push(checkpoints);
  }
}

describe('CheckpointWriter', () => {
  test('coalesces the checkpoints set during a save into one next save of the latest state', async () => {
    const store = new GatedStore();
    const writer = new CheckpointWriter({ store, key: KEY, stream: STREAM, onError: () => undefined });
    store.hold();
    writer.set('shardId-000000000000', { sequenceNumber: '1' });
    await new Promise((resolve) => setImmediate(resolve)); // the first save is under way
    for (let n = 2; n <= 50; n++) writer.set('shardId-000000000000', { sequenceNumber: String(n) });
    writer.set('shardId-000000000001', { sequenceNumber: '9' });

    store.release();
    await writer.flush();

    expect(store.saves.map((s) => s.shards)).toEqual([
      { 'shardId-000000000000': { sequenceNumber: '1' } },
      { 'shardId-000000000000': { sequenceNumber: '50' }, 'shardId-000000000001': { sequenceNumber: '9' } },
    ]);
  });

  test('flush resolves false when the save fails, reports it, and a later save carries the state', async () => {
    const store = new GatedStore();
    const errors: number[] = [];
    const writer = new CheckpointWriter({
      store,
      key: KEY,
      stream: STREAM,
      onError: (_error, inARow) => errors.push(inARow),
      retryBackoffMs: 1,
    });
    store.hold();
    store.failNext = 2;
    writer.set('shardId-000000000000', { sequenceNumber: '3' });

    store.release();
    const first = await writer.flush();
    const second = await writer.flush();

    expect([first, second]).toEqual([false, true]);
    expect(errors).toEqual([1, 2]);
    expect(store.saves.map((s) => s.shards)).toEqual([{ 'shardId-000000000000': { sequenceNumber: '3' } }]);
    writer.close();
  });

  test('flush with nothing new to save does not write', async () => {
    const store = new GatedStore();
    const writer = new CheckpointWriter({ store, key: KEY, stream: STREAM, onError: () => undefined });
    writer.set('shardId-000000000000', { sequenceNumber: '1' });
    await writer.flush();

    await writer.flush();

    expect(store.saves).toHaveLength(1);
    expect(store.saves[0]).toEqual({
      ...STREAM,
      shards: { 'shardId-000000000000': { sequenceNumber: '1' } },
    });
  });
});
