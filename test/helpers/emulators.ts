/**
 * The local emulators (kinesalite, dynalite, fauxqs) in a child process, for jest: fauxqs is
 * ESM-only and cannot load inside jest's module system. The same code `sluice local` uses
 * (local/emulators/process.ts); the child exits when stopped, and also when this process dies (it
 * watches its stdin pipe), so a crashed or killed jest run leaves no emulator behind.
 *
 * Like `sluice local`, it honours `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`: a service
 * given an endpoint (e.g. DynamoDB Local) is not started, and the endpoints name it instead, so the
 * clients of `createLocalClients(emulators.endpoints)` talk to it.
 *
 *   let emulators: EmulatorProcess;
 *   beforeAll(async () => { emulators = await startEmulatorProcess(); });
 *   afterAll(() => emulators.stop());
 */
import {
  startEmulatorProcess as startProcess,
  type EmulatorProcess,
  type EmulatorProcessOptions,
} from '../../local/emulators/process';
import { externalEndpointsFromEnv } from '../../local/external-endpoints';

export type { EmulatorProcess, EmulatorProcessOptions };

/** Starts the emulators the environment does not name an external endpoint for (`options.external` overrides). */
export function startEmulatorProcess(options: EmulatorProcessOptions = {}): Promise<EmulatorProcess> {
  return startProcess({ external: externalEndpointsFromEnv(), ...options });
}
