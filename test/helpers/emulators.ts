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
import { createLocalClients, destroyLocalClients, type LocalClients } from '../../local/endpoints';
import { externalEndpointsFromEnv } from '../../local/external-endpoints';

export type { EmulatorProcess, EmulatorProcessOptions };

/** Starts the emulators the environment does not name an external endpoint for (`options.external` overrides). */
export function startEmulatorProcess(options: EmulatorProcessOptions = {}): Promise<EmulatorProcess> {
  return startProcess({ external: externalEndpointsFromEnv(), ...options });
}

/**
 * The emulators and clients for one test file: started before its tests, stopped after them.
 *
 *   const local = useEmulators();
 *   test('...', () => { const { clients, emulators } = local(); ... });
 */
export function useEmulators(): () => {
  readonly emulators: EmulatorProcess;
  readonly clients: LocalClients;
} {
  let emulators: EmulatorProcess | undefined;
  let clients: LocalClients | undefined;
  beforeAll(async () => {
    emulators = await startEmulatorProcess();
    clients = createLocalClients(emulators.endpoints);
  });
  afterAll(async () => {
    if (clients) destroyLocalClients(clients);
    await emulators?.stop();
  });
  return () => {
    if (emulators === undefined || clients === undefined)
      throw new Error('the emulators are not started yet');
    return { emulators, clients };
  };
}
