/** The emulator child process used by integration tests: start, fixed ports, and no orphans. */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { startEmulatorProcess } from '../helpers/emulators';

const ROOT = path.resolve(__dirname, '..', '..');

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

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
