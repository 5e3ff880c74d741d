/**
 * The emulator process (local/emulators/process.ts) with its data on disk (`dataDir`), for fault
 * tests: `kill()` ends it abruptly (SIGKILL: no flush, no clean close of LevelDB), `restart()` starts
 * it again on the same directory and the same ports, so clients built for the first one reach the
 * second. Like every emulator process, the child exits when this process dies (stdin pipe).
 *
 *   const emulators = await startRestartableEmulators({ dataDir });
 *   await emulators.kill();
 *   await emulators.restart();
 *   await emulators.stop();
 */
import type { LocalEndpoints } from '../../local/endpoints';
import { startEmulatorProcess, type EmulatorProcess } from '../../local/emulators/process';

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
  const { dataDir, startTimeoutMs } = options;
  let current: EmulatorProcess = await startEmulatorProcess({ dataDir, startTimeoutMs });
  let starts = 1;
  const { endpoints } = current;
  const port = (url: string): number => Number(new URL(url).port);
  const ports = {
    kinesis: port(endpoints.kinesis),
    dynamodb: port(endpoints.dynamodb),
    fauxqs: port(endpoints.sqs),
  };

  return {
    endpoints,
    get starts() {
      return starts;
    },
    kill: () => current.kill(),
    restart: async () => {
      await current.kill();
      current = await startEmulatorProcess({ dataDir, startTimeoutMs, ports });
      starts++;
      const again = current.endpoints;
      if (again.kinesis !== endpoints.kinesis || again.dynamodb !== endpoints.dynamodb) {
        throw new Error(
          `restarted emulators moved: ${JSON.stringify(again)} vs ${JSON.stringify(endpoints)}`,
        );
      }
    },
    stop: () => current.stop(),
  };
}
