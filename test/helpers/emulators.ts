/**
 * Runs the local emulators (kinesalite, dynalite, fauxqs) in a child process for jest: fauxqs is
 * ESM-only and cannot load inside jest's module system. The child prints its endpoints as one JSON
 * line; it exits when stopped, and also when this process dies (it watches its stdin pipe), so a
 * crashed or killed jest run leaves no emulator behind.
 *
 *   let emulators: EmulatorProcess;
 *   beforeAll(async () => { emulators = await startEmulatorProcess(); });
 *   afterAll(() => emulators.stop());
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { isLocalEndpoints, type LocalEndpoints } from '../../local/endpoints';

export interface EmulatorProcess {
  readonly endpoints: LocalEndpoints;
  readonly pid: number;
  /** Stops the emulators and waits for the process to exit; safe to call more than once. */
  stop(): Promise<void>;
}

export interface EmulatorProcessOptions {
  /** @default 'us-east-1' */
  readonly region?: string;
  /** Fixed ports; any left out is ephemeral. */
  readonly ports?: { readonly kinesis?: number; readonly dynamodb?: number; readonly fauxqs?: number };
  /** How long to wait for the endpoints line. @default 30000 */
  readonly startTimeoutMs?: number;
}

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'local', 'emulators', 'main.ts');

export async function startEmulatorProcess(options: EmulatorProcessOptions = {}): Promise<EmulatorProcess> {
  const args = ['--no-warnings', '--import', 'tsx', MAIN, '--exit-with-stdin'];
  if (options.region) args.push('--region', options.region);
  for (const [service, port] of Object.entries(options.ports ?? {})) {
    if (port !== undefined) args.push(`--${service}-port`, String(port));
  }
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        child.stdin.end();
        const forced = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(forced);
      }
      process.removeListener('exit', killOnExit);
    })();
    return stopping;
  };

  try {
    const endpoints = await readEndpoints(child, options.startTimeoutMs ?? 30_000);
    return { endpoints, pid: child.pid as number, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function readEndpoints(
  child: ChildProcessByStdio<Writable, Readable, Readable>,
  timeoutMs: number,
): Promise<LocalEndpoints> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const finish = (error: Error | undefined, endpoints?: LocalEndpoints): void => {
      clearTimeout(timer);
      child.stdout.removeListener('data', onStdout);
      child.removeListener('exit', onExit);
      // Keep draining the pipes so the child never blocks on a full buffer.
      child.stdout.resume();
      child.stderr.resume();
      if (error) reject(error);
      else resolve(endpoints as LocalEndpoints);
    };
    const onStdout = (chunk: Buffer): void => {
      stdout += chunk.toString('utf8');
      for (const line of stdout.split('\n')) {
        try {
          const parsed: unknown = JSON.parse(line);
          if (isLocalEndpoints(parsed)) return finish(undefined, parsed);
        } catch {
          // not the endpoints line
        }
      }
    };
    const onExit = (code: number | null, signal: string | null): void =>
      finish(
        new Error(`emulator process exited (code ${code}, signal ${signal}) before it was ready:\n${stderr}`),
      );
    const timer = setTimeout(
      () => finish(new Error(`emulator process not ready within ${timeoutMs} ms:\n${stderr}`)),
      timeoutMs,
    );
    child.stdout.on('data', onStdout);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('exit', onExit);
  });
}
