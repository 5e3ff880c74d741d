/**
 * kinesalite, Kinesis for the local mode, with one race of its own closed: a GetRecords never runs
 * while a PutRecord(s) is under way (`serializeReadsWithPuts`).
 */
import * as fs from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
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

/**
 * Starts a kinesalite (in memory, or on disk with `dataDir`) whose streams become ACTIVE immediately
 * and whose reads never overlap a put.
 */
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
  serializeReadsWithPuts(server);
  const url = await listen(server, options.port ?? 0);
  return { url, stop: () => close(server) };
}

/** Which side of the read/put exclusion a Kinesis operation is on, if any. */
type Side = 'read' | 'put';
const SIDES: Readonly<Record<string, Side>> = {
  GetRecords: 'read',
  // LATEST is numbered from the stream's next sequence index: it must not see a put half done either.
  GetShardIterator: 'read',
  PutRecord: 'put',
  PutRecords: 'put',
};

/**
 * kinesalite (3.3.3) loses a shard's first record when a GetRecords overlaps the PutRecord(s) that
 * writes it. A put takes each record's sequence number (sequence index, then the current second)
 * before it commits the records; a GetRecords that finds nothing returns an iterator at (its
 * iterator's sequence index, the current second). Before a consumer has read anything that index
 * is the one the next record gets (0 for a shard's first record from TRIM_HORIZON), so when the
 * read scans between the put's numbering and its commit, and a second boundary falls in between,
 * the iterator lands just above that record: every later read starts after it, and it is never
 * delivered (nothing fails; the record is in the stream, another consumer may well see it). Real
 * Kinesis returns committed records only. Here a GetRecords waits for the puts under way and a put
 * for the reads under way (reads run together, puts run together, first come first served), so a
 * read sees a put whole or not at all, and a put after an empty read numbers its records at or
 * after that read's second.
 */
export function serializeReadsWithPuts(server: Server): void {
  const handlers = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  const gate = new SideGate();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const target = req.headers['x-amz-target'];
    const side = typeof target === 'string' ? SIDES[target.slice(target.indexOf('.') + 1)] : undefined;
    const handle = (): void => {
      for (const handler of handlers) handler.call(server, req, res);
    };
    if (side === undefined) {
      handle();
      return;
    }
    // The request body waits in the paused stream until kinesalite's handler reads it.
    void gate.enter(side).then(() => {
      let left = false;
      const leave = (): void => {
        if (left) return;
        left = true;
        gate.leave();
      };
      res.once('finish', leave);
      res.once('close', leave);
      handle();
    });
  });
}

/** Requests of one side run together, never alongside the other side's; waiting requests in arrival order. */
class SideGate {
  private side: Side | undefined;
  private running = 0;
  private readonly waiting: Array<{ readonly side: Side; readonly admit: () => void }> = [];

  enter(side: Side): Promise<void> {
    if (this.waiting.length === 0 && (this.running === 0 || this.side === side)) {
      this.side = side;
      this.running++;
      return Promise.resolve();
    }
    return new Promise((admit) => this.waiting.push({ side, admit }));
  }

  leave(): void {
    this.running--;
    if (this.running > 0) return;
    this.side = this.waiting[0]?.side;
    while (this.waiting.length > 0 && this.waiting[0].side === this.side) {
      this.running++;
      (this.waiting.shift() as { readonly admit: () => void }).admit();
    }
  }
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
