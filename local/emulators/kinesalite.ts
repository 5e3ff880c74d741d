import * as fs from 'node:fs';
import kinesalite from 'kinesalite';
import { close, listen, type RunningEmulator } from './listen';

export interface KinesaliteOptions {
  /** @default 0 (an ephemeral port) */
  readonly port?: number;
  /** Region kinesalite writes into stream ARNs. @default 'us-east-1' */
  readonly region?: string;
  /**
   * Maximum shards across all streams (kinesalite's account limit).
   * @default 1000 (test suites create many small streams in one emulator)
   */
  readonly shardLimit?: number;
  /**
   * Directory (created if missing) where kinesalite keeps its streams and records in LevelDB; a
   * kinesalite started again on it finds them, with the same ARNs and sequence numbers. One process
   * at a time: LevelDB locks the directory.
   * @default - in memory: everything is lost when it stops
   */
  readonly dataDir?: string;
}

/** Starts a kinesalite (in memory, or on disk with `dataDir`) whose streams become ACTIVE immediately. */
export async function startKinesalite(options: KinesaliteOptions = {}): Promise<RunningEmulator> {
  if (options.dataDir) fs.mkdirSync(options.dataDir, { recursive: true });
  const server = withRegion(options.region, () =>
    kinesalite({
      createStreamMs: 0,
      deleteStreamMs: 0,
      updateStreamMs: 0,
      shardLimit: options.shardLimit ?? 1000,
      ...(options.dataDir ? { path: options.dataDir } : {}),
    }),
  );
  const url = await listen(server, options.port ?? 0);
  return { url, stop: () => close(server) };
}

/**
 * kinesalite and dynalite read the region for their ARNs from the environment when they are
 * created; this sets it for exactly that moment.
 */
export function withRegion<T>(region: string | undefined, create: () => T): T {
  if (region === undefined) return create();
  const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
  process.env.AWS_REGION = region;
  process.env.AWS_DEFAULT_REGION = region;
  try {
    return create();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}
