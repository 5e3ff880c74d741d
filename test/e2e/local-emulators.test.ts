/**
 * Where `sluice local` runs its emulators: by default in a child process (another core), which must
 * not change what users see. A Ctrl-C in a terminal goes to the whole foreground process group; the
 * emulators must outlive it until the pipeline has finished with them (the outputs written on
 * Ctrl-C read DynamoDB and fauxqs's S3), and must not outlive `sluice local`. `--emulators
 * in-process` keeps the one-process layout.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateEventLines } from '../../local/demo-producer';
import { runReplay, startCli, type CliResult } from '../helpers/cli';
import type { Expected } from '../helpers/recompute';
import { expectedOutputs, readOutputs } from '../helpers/replay-check';
import { until } from '../helpers/until';
import { isProcessAlive as isRunning } from '../../cli/session';

const COUNT = 300;

let work: string;
let eventsFile: string;
let lines: string[];
let expected: Expected;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-local-emulators-'));
  const nowMs = Date.now();
  lines = generateEventLines({
    count: COUNT,
    nowMs,
    spanMs: 10 * 60_000,
    seed: 20_261_124,
    sensors: 6,
    invalidRate: 0.05,
    idPrefix: 'local-emulators',
  });
  eventsFile = path.join(work, 'events.ndjson');
  fs.writeFileSync(eventsFile, `${lines.join('\n')}\n`);
  expected = expectedOutputs(lines, nowMs);
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/**
 * Emulator processes among the children of `pid` (ps). Other children are left out: tsx may run an
 * esbuild service process while it compiles files it has not cached yet.
 */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes('emulators/main'))
      .map((line) => Number(line.trim().split(/\s+/)[0]));
  } catch {
    return []; // ps exits 1 when there is none
  }
}

const sortedQuarantine = (list: ReadonlyArray<Record<string, unknown>>): string[] =>
  list.map((q) => `${String(q.reason)} ${String(q.data)}`).sort();

test('a Ctrl-C to the terminal process group writes complete outputs and leaves no emulator process behind', async () => {
  const out = path.join(work, 'ctrl-c');
  const args = ['local', '--events', eventsFile, '--out', out, '--state', `${out}-state`];
  const cli = startCli([...args, '--no-dashboard', '--no-batch', '--quiet'], { processGroup: true });
  await cli.waitFor(/Press Ctrl-C to stop/).catch(async (error: unknown) => {
    await cli.stop('SIGKILL');
    throw error;
  });
  const emulatorPids = childrenOf(cli.child.pid as number);

  const { code } = await cli.stop('SIGINT');

  const outputs = readOutputs(out);
  expect(emulatorPids).toHaveLength(1);
  expect(code).toBe(0);
  expect(outputs.summary.ingested).toBe(COUNT);
  expect(outputs.aggregates).toEqual(expected.aggregates);
  expect(sortedQuarantine(outputs.quarantine)).toEqual(sortedQuarantine(expected.quarantine));
  expect(emulatorPids.filter(isRunning)).toEqual([]);
});

test('an emulator process that dies under `sluice local` is reported as an error naming the process', async () => {
  const state = path.join(work, 'crash-state');
  const cli = startCli(['local', '--state', state, '--no-dashboard', '--no-batch', '--quiet']);
  let result: CliResult | undefined;
  try {
    await cli.waitFor(/Press Ctrl-C to stop/);
    const [emulatorPid] = childrenOf(cli.child.pid as number);

    process.kill(emulatorPid, 'SIGKILL');
    await until(
      'the pipeline reporting the exit',
      () => /emulator process exited/.test(cli.output().stderr),
      {
        intervalMs: 50,
      },
    );
  } finally {
    result = await cli.stop('SIGINT');
  }

  expect(result.stderr).toMatch(
    /error: \[pipeline\] the emulator process exited \(code null, signal SIGKILL\)/,
  );
});

test('`--emulators in-process` runs the replay contract in one process', async () => {
  const out = path.join(work, 'in-process');

  const result = await runReplay(eventsFile, out, ['--emulators', 'in-process']);

  const outputs = readOutputs(out);
  expect(result.code).toBe(0);
  expect(outputs.summary.ingested).toBe(COUNT);
  expect(outputs.aggregates).toEqual(expected.aggregates);
});
