/**
 * The emulator child process (local/emulators/process.ts, used by `sluice local` and the tests):
 * start, fixed ports, start errors, crashes, no orphans, and data that outlives the process with
 * --data-dir.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  PutRecordCommand,
} from '@aws-sdk/client-kinesis';
import { createLocalClients, destroyLocalClients } from '../../local/endpoints';
import type { EmulatorProcessExitError } from '../../local/emulators/process';
import { EmulatorStartError } from '../../local/emulators/start';
import { startEmulatorProcess } from '../helpers/emulators';
import { startRestartableEmulators } from '../helpers/restartable-emulators';
import { isProcessAlive as isRunning } from '../../cli/session';

const ROOT = path.resolve(__dirname, '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

test('stop() ends the emulator process', async () => {
  const emulators = await startEmulatorProcess();

  await emulators.stop();

  expect(isRunning(emulators.pid)).toBe(false);
});

test('listens on the fixed ports it is given', async () => {
  const kinesis = await freePort();
  const emulators = await startEmulatorProcess({ ports: { kinesis } });
  try {
    expect(emulators.endpoints.kinesis).toBe(`http://127.0.0.1:${kinesis}`);
  } finally {
    await emulators.stop();
  }
});

test('a fixed port that is taken fails the start with an EmulatorStartError naming the emulator', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address() as { port: number };
  try {
    const started = startEmulatorProcess({ ports: { dynamodb: port } });

    await expect(started).rejects.toThrow(EmulatorStartError);
    await expect(started).rejects.toThrow(/^Could not start dynalite: .*EADDRINUSE/);
  } finally {
    blocker.close();
  }
});

test('runs in a process group of its own, so a Ctrl-C to the parent process group does not reach it', async () => {
  const emulators = await startEmulatorProcess();
  try {
    const stat = fs.readFileSync(`/proc/${emulators.pid}/stat`, 'utf8');
    const processGroup = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);

    expect(processGroup).toBe(emulators.pid);
  } finally {
    await emulators.stop();
  }
});

test('a process that dies without being asked is reported with its exit', async () => {
  let report: (error: EmulatorProcessExitError) => void = () => undefined;
  const reported = new Promise<EmulatorProcessExitError>((resolve) => (report = resolve));
  const emulators = await startEmulatorProcess({ onUnexpectedExit: (error) => report(error) });

  process.kill(emulators.pid, 'SIGKILL');

  expect((await reported).signal).toBe('SIGKILL');
  await emulators.stop();
});

test('a process stopped on request is not reported as dying', async () => {
  let reported: EmulatorProcessExitError | undefined;
  const emulators = await startEmulatorProcess({
    onUnexpectedExit: (error) => {
      reported = error;
    },
  });

  await emulators.stop();

  expect(reported).toBeUndefined();
});

test('with --exit-with-stdin the process exits when its parent goes away and its stdin closes', async () => {
  const child = spawn(
    process.execPath,
    ['--no-warnings', '--import', 'tsx', path.join(ROOT, 'local/emulators/main.ts'), '--exit-with-stdin'],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));

  child.stdin.end();

  expect(await exited).toBe(0);
});

test('with --data-dir, a process started again after a SIGKILL finds the stream, its records and the table items', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-emulator-data-'));
  const emulators = await startRestartableEmulators({ dataDir });
  const clients = createLocalClients(emulators.endpoints);
  try {
    await clients.kinesis.send(new CreateStreamCommand({ StreamName: 'kept', ShardCount: 1 }));
    await clients.dynamodb.send(
      new CreateTableCommand({
        TableName: 'kept-table',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    for (;;) {
      const { StreamDescriptionSummary: s } = await clients.kinesis.send(
        new DescribeStreamSummaryCommand({ StreamName: 'kept' }),
      );
      if (s?.StreamStatus === 'ACTIVE') break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const put = await clients.kinesis.send(
      new PutRecordCommand({ StreamName: 'kept', PartitionKey: 'k', Data: Buffer.from('survives') }),
    );
    await clients.dynamodb.send(
      new PutItemCommand({ TableName: 'kept-table', Item: { pk: { S: 'a' }, n: { N: '42' } } }),
    );

    await emulators.restart();

    const { ShardIterator } = await clients.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: 'kept',
        ShardId: put.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const { Records } = await clients.kinesis.send(new GetRecordsCommand({ ShardIterator }));
    const { Item } = await clients.dynamodb.send(
      new GetItemCommand({ TableName: 'kept-table', Key: { pk: { S: 'a' } } }),
    );
    expect(emulators.starts).toBe(2);
    expect(Records?.map((r) => [r.SequenceNumber, Buffer.from(r.Data ?? []).toString()])).toEqual([
      [put.SequenceNumber, 'survives'],
    ]);
    expect(Item).toEqual({ pk: { S: 'a' }, n: { N: '42' } });
  } finally {
    destroyLocalClients(clients);
    await emulators.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
