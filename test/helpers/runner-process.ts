/**
 * The local event source runner with the real stream processor in a process of its own
 * (test/helpers/runner-process-main.ts), so a fault test can kill it abruptly with SIGKILL, in the
 * middle of a batch, and start it again; plus the journal it leaves behind.
 *
 *   const first = startRunnerProcess({ ...config, run: 1, mode: 'run', stallAfterUpdates: 200 });
 *   await first.stalled;   // an invocation is in flight with some of its updates applied
 *   await first.kill();
 *   const second = startRunnerProcess({ ...config, run: 2, mode: 'drain' });
 *   const counters = await second.finished;
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunnerCounters } from '../../local/event-source/types';
import type { RunnerProcessConfig } from './runner-process-main';

export type { RunnerProcessConfig } from './runner-process-main';

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'test', 'helpers', 'runner-process-main.ts');

export interface RunnerProcess {
  readonly pid: number;
  /** Resolves when the stall point is reached (`stallAfterUpdates`); rejects if the process ends first. */
  readonly stalled: Promise<void>;
  /** Resolves with the runner's final counters when a 'drain' run exits; rejects if it fails. */
  readonly finished: Promise<RunnerCounters>;
  /** Kills the process with SIGKILL and waits until it is gone. */
  kill(): Promise<void>;
}

export function startRunnerProcess(config: RunnerProcessConfig): RunnerProcess {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', MAIN, JSON.stringify(config)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      process.removeListener('exit', killOnExit);
      resolve({ code, signal });
    }),
  );
  const describe = (how: { code: number | null; signal: NodeJS.Signals | null }): Error =>
    new Error(`runner process exited (code ${how.code}, signal ${how.signal}):\n${stderr}\n${stdout}`);

  const stalled = new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (stdout.includes('STALLED\n')) {
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    void exited.then((how) => reject(describe(how)));
  });
  stalled.catch(() => undefined); // only awaited by tests that stall
  const finished = exited.then((how) => {
    const done = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { type: string; counters: RunnerCounters })
      .find((message) => message.type === 'done');
    if (how.code !== 0 || !done) throw describe(how);
    return done.counters;
  });
  finished.catch(() => undefined); // only awaited by tests that drain

  return {
    pid: child.pid as number,
    stalled,
    finished,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** One line of the journal a runner process writes (see runner-process-main.ts). */
export type JournalEntry =
  | { type: 'invoke'; run: number; id: number; shardId: string; seqs: string[] }
  | {
      type: 'result';
      run: number;
      id: number;
      /** One letter per record of the invocation: v(alid), i(nvalid), l(ate). */
      outcomes: string;
      /** Sequence numbers in batchItemFailures. */
      failed: string[];
      alreadyApplied: number;
      itemsWritten: number;
      alertsPublished: number;
    }
  | { type: 'error'; run: number; id: number; message: string }
  | { type: 'stall'; run: number; updates: number };

/** The journal's entries; a last line cut short by a SIGKILL is left out. */
export function readJournal(file: string): JournalEntry[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const complete = lines.slice(0, -1); // every complete line ends with a newline
  return complete.filter((line) => line.length > 0).map((line) => JSON.parse(line) as JournalEntry);
}
