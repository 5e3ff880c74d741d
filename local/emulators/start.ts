/**
 * Starts every emulator the local mode needs, in this process: kinesalite (Kinesis), dynalite
 * (DynamoDB) and fauxqs (SNS, SQS and S3 on one port). All bind to 127.0.0.1. kinesalite and dynalite
 * keep their state in memory, or on disk under `dataDir` so that emulators started again on it find
 * their streams, records, tables and items. fauxqs has no persistence (its README: "All state is
 * in-memory"): topics, subscriptions, queues, messages and objects are lost when it stops, and local
 * mode creates the resources again on every start (local/resources.ts).
 *
 * A service given an external endpoint (local/external-endpoints.ts) is not emulated: its emulator
 * is not started (fauxqs only when SNS, SQS and S3 are all external) and the endpoints name the
 * external URL instead.
 */
import * as path from 'node:path';
import { UserError } from '../../contract/user-error';
import { DEFAULT_LOCAL_REGION, type LocalEndpoints } from '../endpoints';
import { externalServices, type ExternalEndpoints } from '../external-endpoints';
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
  /**
   * Services that run elsewhere; their emulators are not started.
   * @default - none: every service is emulated
   */
  readonly external?: ExternalEndpoints;
}

/** The emulators local mode runs, each with the services it serves. */
export const EMULATOR_SERVICES = {
  kinesalite: ['kinesis'],
  dynalite: ['dynamodb'],
  fauxqs: ['sns', 'sqs', 's3'],
} as const;
export type EmulatorName = keyof typeof EMULATOR_SERVICES;

/** The emulators to start when `external` runs some services elsewhere: those serving any other. */
export function emulatorsNeeded(external: ExternalEndpoints = {}): EmulatorName[] {
  return (Object.keys(EMULATOR_SERVICES) as EmulatorName[]).filter((name) =>
    EMULATOR_SERVICES[name].some((service) => external[service] === undefined),
  );
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
  const external = options.external ?? {};
  const dirs = options.dataDir ? emulatorDataDirs(options.dataDir) : undefined;
  const start: Record<EmulatorName, () => Promise<RunningEmulator>> = {
    kinesalite: () =>
      startKinesalite({
        port: ports.kinesis,
        region,
        shardLimit: options.shardLimit,
        dataDir: dirs?.kinesis,
      }),
    dynalite: () => startDynalite({ port: ports.dynamodb, region, dataDir: dirs?.dynamodb }),
    fauxqs: () => startFauxqs({ port: ports.fauxqs, region }),
  };
  const names = emulatorsNeeded(external);
  const settled = await Promise.allSettled(names.map((name) => start[name]()));
  const running = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.findIndex((s) => s.status === 'rejected');
  if (failed >= 0) {
    await Promise.allSettled(running.map((emulator) => emulator.stop()));
    throw new EmulatorStartError(names[failed], (settled[failed] as PromiseRejectedResult).reason);
  }
  const urls = new Map(names.map((name, i) => [name, running[i].url]));
  // A service's own emulator when it runs one, else its external endpoint (emulatorsNeeded).
  const url = (service: keyof ExternalEndpoints, emulator: EmulatorName): string =>
    external[service] ?? (urls.get(emulator) as string);
  const externals = externalServices(external);
  let stopping: Promise<void> | undefined;
  return {
    endpoints: {
      region,
      kinesis: url('kinesis', 'kinesalite'),
      dynamodb: url('dynamodb', 'dynalite'),
      sns: url('sns', 'fauxqs'),
      sqs: url('sqs', 'fauxqs'),
      s3: url('s3', 'fauxqs'),
      ...(externals.length > 0 ? { external: externals } : {}),
    },
    stop: () => {
      stopping ??= Promise.allSettled(running.map((emulator) => emulator.stop())).then(() => undefined);
      return stopping;
    },
  };
}
