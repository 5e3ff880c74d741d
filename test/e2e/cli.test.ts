/**
 * The `sluice` command as a user meets it: help on every command, and user mistakes reported as one
 * line on stderr with exit code 1, never a stack trace.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli, type CliResult } from '../helpers/cli';

let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-cli-'));
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function expectOneLineError(result: CliResult, pattern: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(pattern);
  // commander may add a pointer to --help; nothing else, and no stack frames
  expect(lines.slice(1).every((line) => line === '(run with --help for usage)')).toBe(true);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

test.each(['local', 'produce', 'query', 'backfill', 'aggregates', 'repair'])(
  '`sluice %s --help` describes the command and exits 0',
  async (command) => {
    const result = await runCli([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: sluice ${command} `));
    expect(result.stdout).toContain('Examples:');
  },
);

test('`sluice --help` lists every command', async () => {
  const result = await runCli(['--help']);
  expect(result.code).toBe(0);
  for (const command of ['local', 'produce', 'query', 'backfill', 'aggregates', 'repair'])
    expect(result.stdout).toMatch(new RegExp(`\\n  ${command} `));
});

test('an invalid option value names the option and what is allowed', async () => {
  expectOneLineError(
    await runCli(['produce', '--rate', 'fast']),
    /^sluice produce: option '--rate <n>' argument 'fast' is invalid\. must be a number/,
  );
});

test('an unknown command is one line', async () => {
  expectOneLineError(await runCli(['deploy']), /^sluice: unknown command 'deploy'/);
});

test('--once without --events says what is missing', async () => {
  expectOneLineError(
    await runCli(['local', '--once', '--state', work]),
    /^sluice: --once needs --events FILE/,
  );
});

test('a missing event file is named', async () => {
  const missing = path.join(work, 'missing.ndjson');
  expectOneLineError(
    await runCli(['local', '--events', missing, '--once', '--state', work]),
    new RegExp(`^sluice: --events ${missing}: does not exist$`),
  );
});

test('an invalid config file lists its problems on one line', async () => {
  const config = path.join(work, 'bad.config.json');
  fs.writeFileSync(config, JSON.stringify({ stage: 'Prod', lateness: 'soon' }));
  expectOneLineError(
    await runCli(['local', '--config', config, '--state', work]),
    /^sluice: Invalid Sluice config .*stage: got "Prod".*; lateness: got "soon"/,
  );
});

test('--local without a running local mode says how to start one', async () => {
  expectOneLineError(
    await runCli(['produce', '--local', '--state', work, '--count', '1']),
    /^sluice: no local Sluice is running .*npx sluice local/,
  );
});

test('a local query without a local lake says how to create one', async () => {
  expectOneLineError(
    await runCli(['query', '--local', '--state', path.join(work, 'none'), 'SELECT 1']),
    /^sluice: there is no local lake at /,
  );
});

test('a local query with no session running reads the lake directory', async () => {
  const state = path.join(work, 'lake-only');
  fs.mkdirSync(path.join(state, 'lake'), { recursive: true });

  const result = await runCli([
    'query',
    '--local',
    '--state',
    state,
    '--format',
    'csv',
    'SELECT count(*) AS n FROM events',
  ]);

  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^n\r?\n0\r?\n$/);
});

test('a local query with no session running is read-only too: COPY TO writes nothing', async () => {
  const state = path.join(work, 'lake-only');
  fs.mkdirSync(path.join(state, 'lake'), { recursive: true });
  const target = path.join(work, 'pwned.csv');

  const result = await runCli(['query', '--local', '--state', state, `COPY (SELECT 1 AS x) TO '${target}'`]);

  expectOneLineError(result, /^sluice: query failed: Permission Error: /);
  expect(fs.existsSync(target)).toBe(false);
});

test('a backfill range that ends before it starts is refused', async () => {
  expectOneLineError(
    await runCli(['backfill', '--local', '--state', work, '--from', '2026-01-05', '--to', '2026-01-01']),
    /^sluice: --to 2026-01-01 is before --from 2026-01-05$/,
  );
});

test('a repair range needs its shard, first and last sequence number together', async () => {
  expectOneLineError(
    await runCli(['repair', '--local', '--state', work, '--shard', 'shardId-000000000000']),
    /^sluice: --shard, --from and --to name a range together: give all three$/,
  );
});

test('an impossible date is refused', async () => {
  expectOneLineError(
    await runCli(['backfill', '--from', '2026-02-30', '--to', '2026-03-01']),
    /^sluice backfill: option '--from <day>' argument '2026-02-30' is invalid/,
  );
});

test('an --outputs file that does not exist is named', async () => {
  const result = await runCli(['produce', '--count', '1', '--outputs', path.join(work, 'none.json')], {
    cwd: work,
  });
  expectOneLineError(result, /^sluice: --outputs .*none\.json: the file does not exist$/);
});

test('producing to AWS without a stream name says where the name comes from', async () => {
  const result = await runCli(['produce', '--count', '1'], { cwd: work, env: { SLUICE_STREAM_NAME: '' } });
  expectOneLineError(
    result,
    /^sluice: --stream is needed: pass it, set SLUICE_STREAM_NAME, or deploy with .*--outputs-file cdk-outputs\.json/,
  );
});

test('`sluice produce --out` writes an event file that `sluice local --events` can replay', async () => {
  const file = path.join(work, 'events.ndjson');
  const result = await runCli(['produce', '--count', '300', '--sensors', '4', '--seed', '9', '--out', file]);
  expect(result.code).toBe(0);
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  expect(lines).toHaveLength(300);
  expect(JSON.parse(lines.find((l) => l.startsWith('{"eventId"')) as string)).toMatchObject({
    sensorId: expect.stringMatching(/^sensor-00[1-4]$/),
  });
});
