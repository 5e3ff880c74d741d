import { LOOPBACK, type RunningEmulator } from './listen';

export interface FauxqsOptions {
  /** @default 0 (an ephemeral port) */
  readonly port?: number;
  /** Region used in ARNs and queue URLs when a request does not name one. @default 'us-east-1' */
  readonly region?: string;
}

/**
 * Starts fauxqs (SNS, SQS and S3 on one port). fauxqs is ESM-only: it is loaded with a dynamic
 * import, which works under tsx and plain Node 20.19+, but not inside jest's module system (tests
 * run the emulators in a child process, see test/helpers/emulators.ts).
 *
 * `startFauxqs` from the package listens on 0.0.0.0, so this builds the app and listens on the
 * loopback interface itself. (`buildApp({host})` only sets the host name written into queue URLs.)
 */
export async function startFauxqs(options: FauxqsOptions = {}): Promise<RunningEmulator> {
  const { buildApp } = await import('fauxqs');
  const app = buildApp({ logger: false, defaultRegion: options.region });
  const address = await app.listen({ host: LOOPBACK, port: options.port ?? 0 });
  const port = new URL(address).port;
  return {
    url: `http://${LOOPBACK}:${port}`,
    stop: async () => {
      await app.close();
    },
  };
}
