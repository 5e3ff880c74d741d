/**
 * Runs the emulators as a process of their own and prints their endpoints as one JSON line on
 * stdout (a `LocalEndpoints` object), or, when one cannot start, an `EmulatorStartFailureLine`.
 * Started by process.ts (`sluice local`, the benchmarks, and the tests, which cannot load the
 * ESM-only fauxqs inside jest).
 *
 *   node --import tsx local/emulators/main.ts [--region us-east-1] [--kinesis-port N]
 *                                              [--dynamodb-port N] [--fauxqs-port N] [--exit-with-stdin]
 *                                              [--data-dir DIR] [--external JSON]
 *
 * With `--data-dir`, kinesalite and dynalite keep their data on disk there (see start.ts), so a
 * process started again on the same directory (and ports) carries on where the last one stopped,
 * even one that was killed. fauxqs always starts empty. `--external` takes the `ExternalEndpoints`
 * (e.g. `{"dynamodb":"http://127.0.0.1:8000"}`) whose emulators are not started; the printed
 * endpoints name them.
 *
 * It exits on SIGTERM or SIGINT. With `--exit-with-stdin` it also exits when its stdin closes, so a
 * parent that starts it with a stdin pipe can never leave it behind, not even when the parent is
 * killed.
 */
import { parseArgs } from 'node:util';
import { ENDPOINT_SERVICES, type ExternalEndpoints } from '../external-endpoints';
import type { EmulatorStartFailureLine } from './process';
import { EmulatorStartError, startEmulators } from './start';

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) {
    throw new Error(`${flag}: got ${JSON.stringify(value)}; must be a port number between 0 and 65535`);
  }
  return parsed;
}

function external(value: string | undefined): ExternalEndpoints | undefined {
  if (value === undefined) return undefined;
  const parsed: unknown = JSON.parse(value);
  const valid =
    typeof parsed === 'object' &&
    parsed !== null &&
    Object.entries(parsed).every(
      ([service, url]) =>
        (ENDPOINT_SERVICES as readonly string[]).includes(service) && typeof url === 'string',
    );
  if (!valid)
    throw new Error(`--external: got ${value}; must map services (${ENDPOINT_SERVICES.join(', ')}) to URLs`);
  return parsed as ExternalEndpoints;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      region: { type: 'string' },
      'kinesis-port': { type: 'string' },
      'dynamodb-port': { type: 'string' },
      'fauxqs-port': { type: 'string' },
      'exit-with-stdin': { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      external: { type: 'string' },
    },
  });
  const emulators = await startEmulators({
    region: values.region,
    dataDir: values['data-dir'],
    external: external(values.external),
    ports: {
      kinesis: port(values['kinesis-port'], '--kinesis-port'),
      dynamodb: port(values['dynamodb-port'], '--dynamodb-port'),
      fauxqs: port(values['fauxqs-port'], '--fauxqs-port'),
    },
  });
  let exiting = false;
  const shutdown = (): void => {
    if (exiting) return;
    exiting = true;
    const forced = setTimeout(() => process.exit(1), 5_000);
    forced.unref();
    void emulators.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  if (values['exit-with-stdin']) {
    process.stdin.on('end', shutdown);
    process.stdin.on('close', shutdown);
    process.stdin.resume();
  }
  process.stdout.write(`${JSON.stringify(emulators.endpoints)}\n`);
}

main().catch((error: unknown) => {
  if (error instanceof EmulatorStartError) {
    // For the parent (process.ts), which raises the same error as emulators started in its process.
    const { cause } = error;
    const line: EmulatorStartFailureLine = {
      startError: {
        emulator: error.emulator,
        message: cause instanceof Error ? cause.message : String(cause),
      },
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
