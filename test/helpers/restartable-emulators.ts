/**
 * The emulator process (local/emulators/main.ts) with its data on disk (`--data-dir`), for fault
 * tests: `kill()` ends it abruptly (SIGKILL: no flush, no clean close of LevelDB), `restart()` starts
 * it again on the same directory and the same ports, so clients built for the first one reach the
 * second. Like test/helpers/emulators.ts, the child exits when this process dies (stdin pipe).
 *
 *   const emulators = await startRestartableEmulators({ dataDir });
 *   await emulators.kill();
 *   await emulators.restart();
 *   await emulators.stop();
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { isLocalEndpoints, type LocalEndpoints } from '../../local/endpoints';

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'local', 'emulators', 'main.ts');

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

export interface RestartableEmulators {
  /** The same for every incarnation (fixed after the first start). */
  readonly endpoints: LocalEndpoints;
  /** How many times the process was started. */
  readonly starts: number;
  /** Kills the process with SIGKILL and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts the process again on the same data directory and ports. */
  restart(): Promise<void>;
  /** Stops the process (SIGTERM) if it runs; safe to call more than once. */
  stop(): Promise<void>;
}

export interface RestartableEmulatorsOptions {
  /** Where kinesalite and dynalite keep their data. */
  readonly dataDir: string;
  /** How long to wait for the endpoints line. @default 30000 */
  readonly startTimeoutMs?: number;
}

export async function startRestartableEmulators(
  options: RestartableEmulatorsOptions,
): Promise<RestartableEmulators> {
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  let child: Child | undefined;
  let starts = 0;
  const killOnExit = (): void => {
    child?.kill('SIGKILL');
  };
  process.on('exit', killOnExit);

  const launch = async (ports: string[]): Promise<LocalEndpoints> => {
    const args = ['--no-warnings', '--import', 'tsx', MAIN, '--exit-with-stdin'];
    args.push('--data-dir', options.dataDir, ...ports);
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    starts++;
    return readEndpoints(child, timeoutMs);
  };
  const exit = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    if (signal !== 'SIGKILL') running.stdin.end();
    const forced = setTimeout(() => running.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(forced);
  };

  const endpoints = await launch([]);
  const fixedPorts = [
    ['--kinesis-port', endpoints.kinesis],
    ['--dynamodb-port', endpoints.dynamodb],
    ['--fauxqs-port', endpoints.sqs],
  ].flatMap(([flag, url]) => [flag, new URL(url).port]);

  return {
    endpoints,
    get starts() {
      return starts;
    },
    kill: () => exit('SIGKILL'),
    restart: async () => {
      await exit('SIGKILL');
      const again = await launch(fixedPorts);
      if (again.kinesis !== endpoints.kinesis || again.dynamodb !== endpoints.dynamodb) {
        throw new Error(
          `restarted emulators moved: ${JSON.stringify(again)} vs ${JSON.stringify(endpoints)}`,
        );
      }
    },
    stop: async () => {
      await exit('SIGTERM');
      process.removeListener('exit', killOnExit);
    },
  };
}

function readEndpoints(child: Child, timeoutMs: number): Promise<LocalEndpoints> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const finish = (error: Error | undefined, endpoints?: LocalEndpoints): void => {
      clearTimeout(timer);
      child.stdout.removeAllListeners('data');
      child.removeListener('exit', onExit);
      // Keep draining the pipes so the child never blocks on a full buffer.
      child.stdout.resume();
      child.stderr.resume();
      if (error) reject(error);
      else resolve(endpoints as LocalEndpoints);
    };
    const onExit = (code: number | null, signal: string | null): void =>
      finish(
        new Error(`emulator process exited (code ${code}, signal ${signal}) before it was ready:\n${stderr}`),
      );
    const timer = setTimeout(
      () => finish(new Error(`emulator process not ready within ${timeoutMs} ms:\n${stderr}`)),
      timeoutMs,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const line = stdout.split('\n').find((l) => {
        try {
          return isLocalEndpoints(JSON.parse(l));
        } catch {
          return false;
        }
      });
      if (line) finish(undefined, JSON.parse(line) as LocalEndpoints);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('exit', onExit);
  });
}
