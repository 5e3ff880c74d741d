/**
 * The local emulators (kinesalite, dynalite, fauxqs) in a child process, for jest: fauxqs is
 * ESM-only and cannot load inside jest's module system. The same code `sluice local` uses
 * (local/emulators/process.ts); the child exits when stopped, and also when this process dies (it
 * watches its stdin pipe), so a crashed or killed jest run leaves no emulator behind.
 *
 *   let emulators: EmulatorProcess;
 *   beforeAll(async () => { emulators = await startEmulatorProcess(); });
 *   afterAll(() => emulators.stop());
 */
export {
  startEmulatorProcess,
  type EmulatorProcess,
  type EmulatorProcessOptions,
} from '../../local/emulators/process';
