import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Every emulator binds here: the local mode never listens beyond the loopback interface. */
export const LOOPBACK = '127.0.0.1';

/** A running emulator: its base URL and how to stop it. */
export interface RunningEmulator {
  readonly url: string;
  stop(): Promise<void>;
}

/** Listens on `127.0.0.1:port` (0 = an ephemeral port) and resolves with the base URL. */
export function listen(server: Server, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, LOOPBACK, () => {
      server.off('error', onError);
      const address = server.address() as AddressInfo;
      resolve(`http://${LOOPBACK}:${address.port}`);
    });
  });
}

/** Stops accepting connections, drops open keep-alive sockets and waits until the server is closed. */
export function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
