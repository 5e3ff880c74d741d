import * as fs from 'node:fs';
import dynalite from 'dynalite';
import { withRegion } from './kinesalite';
import { close, listen, type RunningEmulator } from './listen';

export interface DynaliteOptions {
  /** @default 0 (an ephemeral port) */
  readonly port?: number;
  /** Region dynalite writes into table ARNs. @default 'us-east-1' */
  readonly region?: string;
  /**
   * Directory (created if missing) where dynalite keeps its tables and items in LevelDB; a dynalite
   * started again on it finds them. One process at a time: LevelDB locks the directory.
   * @default - in memory: everything is lost when it stops
   */
  readonly dataDir?: string;
}

/**
 * Starts a dynalite (in memory, or on disk with `dataDir`) whose tables become ACTIVE immediately.
 * Conditional writes work; TransactWriteItems and UpdateTimeToLive do not exist in dynalite.
 */
export async function startDynalite(options: DynaliteOptions = {}): Promise<RunningEmulator> {
  if (options.dataDir) fs.mkdirSync(options.dataDir, { recursive: true });
  const server = withRegion(options.region, () =>
    dynalite({
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
      ...(options.dataDir ? { path: options.dataDir } : {}),
    }),
  );
  const url = await listen(server, options.port ?? 0);
  return { url, stop: () => close(server) };
}
