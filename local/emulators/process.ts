/**
 * Runs the emulators (kinesalite, dynalite, fauxqs) in a child process of their own
 * (local/emulators/main.ts), which is how `sluice local` runs them by default: their work (dynalite's
 * UpdateItem, kinesalite's GetRecords, request parsing) gets a core of its own instead of competing
 * with the event source runner and the handler on one thread. It is also how jest runs them: fauxqs
 * is ESM-only and cannot load inside jest's module system.
 *
 *   const emulators = await startEmulatorProcess({ dataDir: '.sluice/emulators' });
 *   ... createLocalClients(emulators.endpoints) ...
 *   await emulators.stop();
 *
 * The child never outlives this process: it exits when its stdin pipe closes, which the kernel does
 * when this process dies, even by SIGKILL. It runs in a process group of its own, so a Ctrl-C in the
 * terminal (SIGINT to the whole foreground group) reaches only this process, which then stops the
 * emulators last, after the runner, the Firehose and the final quarantine copy have used them.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { isLocalEndpoints, type LocalEndpoints } from '../endpoints';
import type { ExternalEndpoints } from '../external-endpoints';
import { EmulatorStartError, type EmulatorPorts, type RunningEmulators } from './start';

/** The package root: the child runs with it as working directory, where `--import tsx` resolves. */
const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(__dirname, 'main.ts');

/** Emulators running in a child process. */
export interface EmulatorProcess extends RunningEmulators {
  readonly pid: number;
  /** Stops the emulators (SIGTERM) and waits for the process to exit; safe to call more than once. */
  stop(): Promise<void>;
  /** Ends the process abruptly (SIGKILL: no flush, no clean close of LevelDB) and waits for its exit. */
  kill(): Promise<void>;
}

export interface EmulatorProcessOptions {
  /** @default 'us-east-1' */
  readonly region?: string;
  /** Fixed ports; any port left out is ephemeral. */
  readonly ports?: EmulatorPorts;
  /**
   * Keep kinesalite's and dynalite's data on disk there (see start.ts `dataDir`).
   * @default - in memory
   */
  readonly dataDir?: string;
  /**
   * Services that run elsewhere: their emulators are not started (see start.ts `external`).
   * @default - none
   */
  readonly external?: ExternalEndpoints;
  /** How long to wait for the endpoints line. @default 30000 */
  readonly startTimeoutMs?: number;
  /**
   * Told when the process exits before `stop()` or `kill()` was called (a crash), with the end of
   * what it wrote on stderr. @default - nothing
   */
  readonly onUnexpectedExit?: (error: EmulatorProcessExitError) => void;
}

/**
 * The emulator process exited when it was not asked to. The message is one line, with what its
 * stderr said went wrong; `stderr` holds the end of all it wrote (stack traces included).
 */
export class EmulatorProcessExitError extends Error {
  public override readonly name = 'EmulatorProcessExitError';
  constructor(
    readonly code: number | null,
    readonly signal: string | null,
    readonly stderr: string,
    when = '',
  ) {
    super(`the emulator process exited (code ${code}, signal ${signal})${when}${failureDetail(stderr)}`);
  }
}

/**
 * The line of a process's stderr that says what went wrong: its last error message (`Error: ...`,
 * `EmulatorStartError: ...`), else its last line that is not part of a stack trace or Node's
 * banner; undefined when it wrote nothing else.
 */
export function failureLine(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && line !== '^' && !line.startsWith('at ') && !/^Node\.js v\d/.test(line));
  const errors = lines.filter((line) => /^[\w.$]*(Error|Exception)\b/.test(line));
  return errors.at(-1) ?? lines.at(-1);
}

function failureDetail(stderr: string): string {
  const line = failureLine(stderr);
  return line ? `: ${line}` : '';
}

/**
 * The line main.ts prints on stdout when an emulator cannot start, so that the parent raises the
 * same `EmulatorStartError` (e.g. "Could not start dynalite: listen EADDRINUSE ...") as in-process.
 */
export interface EmulatorStartFailureLine {
  readonly startError: { readonly emulator: string; readonly message: string };
}

function isStartFailureLine(value: unknown): value is EmulatorStartFailureLine {
  if (typeof value !== 'object' || value === null) return false;
  const { startError } = value as { startError?: { emulator?: unknown; message?: unknown } };
  return typeof startError?.emulator === 'string' && typeof startError.message === 'string';
}

/** How much of the child's stderr is kept for error messages. */
const STDERR_TAIL_CHARS = 8_000;

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

export async function startEmulatorProcess(options: EmulatorProcessOptions = {}): Promise<EmulatorProcess> {
  const args = ['--no-warnings', '--import', 'tsx', MAIN, '--exit-with-stdin'];
  if (options.region) args.push('--region', options.region);
  if (options.dataDir) args.push('--data-dir', path.resolve(options.dataDir));
  if (options.external && Object.keys(options.external).length > 0)
    args.push('--external', JSON.stringify(options.external));
  for (const [service, port] of Object.entries(options.ports ?? {})) {
    if (port !== undefined) args.push(`--${service}-port`, String(port));
  }
  const env = { ...process.env };
  // Options meant for this process (a debugger port, a profiler, jest's loaders) are not the child's.
  delete env.NODE_OPTIONS;
  const child: Child = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  // The child may be gone when its stdin is closed; that is fine.
  child.stdin.on('error', () => undefined);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
  });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let asked = false;
  let ready = false;
  let stopping: Promise<void> | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      process.removeListener('exit', killOnExit);
      if (!asked && ready) options.onUnexpectedExit?.(new EmulatorProcessExitError(code, signal, stderr));
      resolve();
    }),
  );
  const end = (signal: NodeJS.Signals): Promise<void> => {
    asked = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      child.stdin.end();
      const forced = setTimeout(() => child.kill('SIGKILL'), 5_000);
      void exited.then(() => clearTimeout(forced));
    }
    return exited;
  };

  try {
    const endpoints = await readEndpoints(child, options.startTimeoutMs ?? 30_000, () => stderr);
    ready = true;
    return {
      endpoints,
      pid: child.pid as number,
      stop: () => (stopping ??= end('SIGTERM')),
      kill: () => end('SIGKILL'),
    };
  } catch (error) {
    await end('SIGTERM');
    throw error;
  }
}

function readEndpoints(child: Child, timeoutMs: number, stderr: () => string): Promise<LocalEndpoints> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    const finish = (error: Error | undefined, endpoints?: LocalEndpoints): void => {
      clearTimeout(timer);
      child.stdout.removeListener('data', onStdout);
      child.removeListener('exit', onExit);
      // Keep draining stdout so the child never blocks on a full pipe.
      child.stdout.resume();
      if (error) reject(error);
      else resolve(endpoints as LocalEndpoints);
    };
    const onStdout = (chunk: Buffer): void => {
      stdout += chunk.toString('utf8');
      for (const line of stdout.split('\n')) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          continue; // not a line of ours
        }
        if (isLocalEndpoints(parsed)) return finish(undefined, parsed);
        if (isStartFailureLine(parsed)) {
          const { emulator, message } = parsed.startError;
          return finish(new EmulatorStartError(emulator, new Error(message)));
        }
      }
    };
    const onExit = (code: number | null, signal: string | null): void =>
      finish(
        new EmulatorStartError(
          'the emulators',
          new EmulatorProcessExitError(code, signal, stderr(), ' before it was ready'),
        ),
      );
    const timer = setTimeout(
      () =>
        finish(
          new EmulatorStartError(
            'the emulators',
            new Error(`their process was not ready within ${timeoutMs} ms${failureDetail(stderr())}`),
          ),
        ),
      timeoutMs,
    );
    child.stdout.on('data', onStdout);
    child.once('exit', onExit);
  });
}
