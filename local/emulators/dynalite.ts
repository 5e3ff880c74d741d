import dynalite from 'dynalite';
import { withRegion } from './kinesalite';
import { close, listen, type RunningEmulator } from './listen';

export interface DynaliteOptions {
  /** @default 0 (an ephemeral port) */
  readonly port?: number;
  /** Region dynalite writes into table ARNs. @default 'us-east-1' */
  readonly region?: string;
}

/**
 * Starts an in-memory dynalite whose tables become ACTIVE immediately. Conditional writes work;
 * TransactWriteItems and UpdateTimeToLive do not exist in dynalite.
 */
export async function startDynalite(options: DynaliteOptions = {}): Promise<RunningEmulator> {
  const server = withRegion(options.region, () =>
    dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }),
  );
  const url = await listen(server, options.port ?? 0);
  return { url, stop: () => close(server) };
}
