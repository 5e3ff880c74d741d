import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../../contract/config';
import { reportError, UsageError } from '../../../cli/errors';
import { UserError } from '../../../contract/user-error';
import { SqlTemplateError } from '../../../contract/sql-template';
import { ChaosConfigError } from '../../../local/chaos/errors';
import { EmulatorStartError } from '../../../local/emulators/start';
import { ReplayInputError } from '../../../local/event-file';
import { CheckpointStoreError, FileCheckpointStore } from '../../../local/event-source/checkpoint-store';
import { EventSourceRunnerConfigError } from '../../../local/event-source/errors';

test('a user error is its message on one line with exit code 1', () => {
  expect(reportError(new UserError('no local Sluice is running'))).toEqual({
    message: 'no local Sluice is running',
    exitCode: 1,
  });
});

test('a usage error is a user error', () => {
  expect(reportError(new UsageError('--once needs --events FILE')).exitCode).toBe(1);
});

test.each([
  ['EventSourceRunnerConfigError', new EventSourceRunnerConfigError('batchSize: got 0')],
  ['ChaosConfigError', new ChaosConfigError('failureRate: got 2')],
  ['EmulatorStartError', new EmulatorStartError('kinesalite', new Error('port 4567 in use'))],
  ['CheckpointStoreError', new CheckpointStoreError('checkpoints x cannot be used')],
  ['SqlTemplateError', new SqlTemplateError('day: got "x"')],
  ['ReplayInputError', new ReplayInputError('events.ndjson does not exist')],
])('a %s is a user error: its message on one line with exit code 1, its name kept', (name, error) => {
  expect(error).toBeInstanceOf(UserError);
  expect(error.name).toBe(name);
  expect(reportError(error)).toEqual({ message: error.message, exitCode: 1 });
});

test('an error that is only named like a user error is unexpected: user errors are recognised by class', () => {
  const error = Object.assign(new Error('x'), { name: 'ChaosConfigError' });
  expect(reportError(error).exitCode).toBe(2);
});

test('a config error lists every issue on one line', () => {
  const report = reportError(
    new ConfigError(['stage: got "X"; must be lowercase', 'lateness: got "1"; must be a duration']),
  );
  expect(report).toEqual({
    message:
      'Invalid Sluice config: stage: got "X"; must be lowercase; lateness: got "1"; must be a duration',
    exitCode: 1,
  });
});

test('an AWS service error is shown with its name and exit code 1', () => {
  const error = Object.assign(new Error('Stream x under account 1 not found.'), {
    name: 'ResourceNotFoundException',
    $metadata: { httpStatusCode: 400 },
  });
  expect(reportError(error)).toEqual({
    message: 'AWS ResourceNotFoundException: Stream x under account 1 not found.',
    exitCode: 1,
  });
});

test('missing AWS credentials point to --local', () => {
  const error = Object.assign(new Error('Could not load credentials from any providers'), {
    name: 'CredentialsProviderError',
  });
  expect(reportError(error).message).toMatch(/no AWS credentials found.*--local/);
});

test('a client without an AWS region is a user error that says how to set one', () => {
  const report = reportError(new Error('Region is missing'));
  expect(report.exitCode).toBe(1);
  expect(report.message).toMatch(/no AWS region configured: set AWS_REGION.*--region.*--local/);
  expect(report.stack).toBeUndefined();
});

test('an unexpected error exits 2 and keeps its stack for SLUICE_DEBUG', () => {
  const report = reportError(new TypeError('x is undefined'));
  expect(report.exitCode).toBe(2);
  expect(report.message).toBe(
    'unexpected error: TypeError: x is undefined (set SLUICE_DEBUG=1 for the stack trace)',
  );
  expect(report.stack).toContain('TypeError');
});

test('an unusable checkpoint file of a kept state is a user error naming the file and the fix', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-errors-'));
  try {
    const store = new FileCheckpointStore({ dir });
    const key = { streamName: 'events', consumer: 'stream-processor' };
    await store.save(key, { streamArn: 'arn', streamCreatedAt: '', shards: {} });
    for (const file of fs.readdirSync(dir, { recursive: true }).map(String))
      if (file.endsWith('.json')) fs.writeFileSync(path.join(dir, file), '{ torn');

    const report = reportError(await store.load(key).catch((error: unknown) => error));

    expect(report.exitCode).toBe(1);
    expect(report.message).toMatch(/^checkpoints .+ cannot be used: not JSON .*Delete the file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
