/**
 * Starts every emulator the local mode needs, in this process: kinesalite (Kinesis), dynalite
 * (DynamoDB) and fauxqs (SNS, SQS and S3 on one port). All bind to 127.0.0.1. kinesalite and dynalite
 * keep their state in memory, or on disk under `dataDir` so that emulators started again on it find
 * their streams, records, tables and items. fauxqs has no persistence (its README: "All state is
 * in-memory"): topics, subscriptions, queues, messages and objects are lost when it stops, and local
 * mode creates the resources again on every start (local/resources.ts).
 */
import * as path from 'node:path';
import { UserError } from '../../contract/user-error';
import { DEFAULT_LOCAL_REGION, type LocalEndpoints } from '../endpoints';
import { startDynalite } from './dynalite';
import { startFauxqs } from './fauxqs';
import { startKinesalite } from './kinesalite';
import type { RunningEmulator } from './listen';

export interface EmulatorPorts {
  /** @default 0 (an ephemeral port) */
  readonly kinesis?: number;
  /** @default 0 (an ephemeral port) */
  readonly dynamodb?: number;
  /** SNS, SQS and S3 share this port. @default 0 (an ephemeral port) */
  readonly fauxqs?: number;
}

export interface StartEmulatorsOptions {
  /** Region written into ARNs and used by every client. @default 'us-east-1' */
  readonly region?: string;
  /** Fixed ports; any port left out is ephemeral. */
  readonly ports?: EmulatorPorts;
  /** kinesalite's limit on shards across all streams. @default 1000 */
  readonly shardLimit?: number;
  /**
   * Keep kinesalite's and dynalite's data on disk, in `<dataDir>/kinesis` and `<dataDir>/dynamodb`
   * (LevelDB, created if missing); emulators started again on the same directory carry on from it.
   * @default - in memory
   */
  readonly dataDir?: string;
}

/** Where `startEmulators` keeps kinesalite's and dynalite's data under `dataDir`. */
export function emulatorDataDirs(dataDir: string): { readonly kinesis: string; readonly dynamodb: string } {
  return { kinesis: path.join(dataDir, 'kinesis'), dynamodb: path.join(dataDir, 'dynamodb') };
}

export interface RunningEmulators {
  readonly endpoints: LocalEndpoints;
  /** Stops every emulator; safe to call more than once. */
  stop(): Promise<void>;
}

/** Raised when an emulator cannot start, e.g. because a fixed port is taken. */
export class EmulatorStartError extends UserError {
  public override readonly name = 'EmulatorStartError';
  constructor(
    public readonly emulator: string,
    cause: unknown,
  ) {
    super(`Could not start ${emulator}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

export async function startEmulators(options: StartEmulatorsOptions = {}): Promise<RunningEmulators> {
  const region = options.region ?? DEFAULT_LOCAL_REGION;
  const ports = options.ports ?? {};
  const dirs = options.dataDir ? emulatorDataDirs(options.dataDir) : undefined;
  const starts: Array<[string, Promise<RunningEmulator>]> = [
    [
      'kinesalite',
      startKinesalite({
        port: ports.kinesis,
        region,
        shardLimit: options.shardLimit,
        dataDir: dirs?.kinesis,
      }),
    ],
    ['dynalite', startDynalite({ port: ports.dynamodb, region, dataDir: dirs?.dynamodb })],
    ['fauxqs', startFauxqs({ port: ports.fauxqs, region })],
  ];
  const settled = await Promise.allSettled(starts.map(([, start]) => start));
  const running = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.findIndex((s) => s.status === 'rejected');
  if (failed >= 0) {
    await Promise.allSettled(running.map((emulator) => emulator.stop()));
    throw new EmulatorStartError(starts[failed][0], (settled[failed] as PromiseRejectedResult).reason);
  }
  const [kinesis, dynamodb, fauxqs] = running;
  let stopping: Promise<void> | undefined;
  return {
    endpoints: {
      region,
      kinesis: kinesis.url,
      dynamodb: dynamodb.url,
      sns: fauxqs.url,
      sqs: fauxqs.url,
      s3: fauxqs.url,
    },
    stop: () => {
      stopping ??= Promise.allSettled(running.map((emulator) => emulator.stop())).then(() => undefined);
      return stopping;
    },
  };
}
