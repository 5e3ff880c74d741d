/**
 * Runs the `sluice` command as users do (`node cli/bin.cjs ...`, which is what `npx sluice` runs), in
 * a child process: jest cannot load the ESM-only emulator in its own module system, and a child
 * process also tests the real exit codes and output.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'cli', 'bin.cjs');

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

/** Runs `sluice <args>` to completion. */
export function runCli(
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: childEnv(options.env),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `sluice ${args.join(' ')} did not finish within ${options.timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 110_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Runs the replay contract, `sluice local --events FILE --once --out OUT` (`--records FILE` with
 * `options.input`), with its state in
 * `OUT-state` (quiet; `extra` adds flags such as `--chaos 7` or `-c config.json`, `options.env`
 * variables such as `AWS_ENDPOINT_URL_DYNAMODB`).
 */
export function runReplay(
  eventsFile: string,
  out: string,
  extra: readonly string[] = [],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: '--events' | '--records' } = {},
): Promise<CliResult> {
  const input = options.input ?? '--events';
  return runCli(
    ['local', input, eventsFile, '--once', '--out', out, '--state', `${out}-state`, '--quiet', ...extra],
    { timeoutMs: options.timeoutMs ?? 170_000, env: options.env },
  );
}

/** A long-running `sluice` command (e.g. `sluice local`). */
export interface RunningCli {
  readonly child: ChildProcessWithoutNullStreams;
  output(): { stdout: string; stderr: string };
  /** Resolves with the first match of `pattern` on stdout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends `signal` (default SIGINT, i.e. Ctrl-C; to the group with `processGroup`) and waits for the exit. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<CliResult>;
}

/**
 * Starts `sluice <args>`. With `processGroup`, it leads a process group of its own, as a shell runs a
 * foreground job, and `stop` signals the whole group, as a terminal's Ctrl-C does.
 */
export function startCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; processGroup?: boolean } = {},
): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: childEnv(options.env),
    detached: options.processGroup ?? false,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const signal = (name: NodeJS.Signals): void => {
    if (options.processGroup) process.kill(-(child.pid as number), name);
    else child.kill(name);
  };
  const killOnExit = (): void => {
    signal('SIGKILL');
  };
  process.once('exit', killOnExit);
  const closed = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => {
      process.removeListener('exit', killOnExit);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return {
    child,
    output: () => ({ stdout, stderr }),
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const deadline = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `no ${pattern} on stdout within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
            ),
          );
        }, timeoutMs);
        const check = (): void => {
          const match = stdout.match(pattern);
          if (match) {
            cleanup();
            resolve(match);
          }
        };
        const onExit = (): void => {
          cleanup();
          reject(
            new Error(`sluice exited before printing ${pattern}\nstdout:\n${stdout}\nstderr:\n${stderr}`),
          );
        };
        const cleanup = (): void => {
          clearTimeout(deadline);
          child.stdout.off('data', check);
          child.off('close', onExit);
        };
        child.stdout.on('data', check);
        child.once('close', onExit);
        check();
      }),
    stop: async (name = 'SIGINT', timeoutMs = 60_000) => {
      if (child.exitCode === null && child.signalCode === null) signal(name);
      const forced = setTimeout(() => signal('SIGKILL'), timeoutMs);
      const result = await closed;
      clearTimeout(forced);
      return result;
    },
  };
}
