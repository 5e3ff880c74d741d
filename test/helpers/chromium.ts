/**
 * Debian's Chromium for the browser tests, driven by playwright-core. A new machine has no
 * Chromium: the first browser test installs it with the project's own script
 * (scripts/install-chromium.sh, apt-get; root or sudo), so `npm test` needs no manual step.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Headless, sandbox-free (root in CI), and no background traffic to Google on a closed network. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const INSTALL_SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'install-chromium.sh');

/** Browser tests run in parallel jest workers; only one of them may run apt-get at a time. */
const INSTALL_LOCK = path.join(os.tmpdir(), 'sluice-install-chromium.lock');

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Installs Chromium with scripts/install-chromium.sh when it is missing; throws a clear error if that fails. */
export function ensureChromium(): void {
  const deadline = Date.now() + 600_000;
  while (!fs.existsSync(CHROMIUM)) {
    try {
      fs.mkdirSync(INSTALL_LOCK);
    } catch {
      if (Date.now() > deadline) throw new Error(`timed out waiting for another test to install ${CHROMIUM}`);
      sleepSync(1_000);
      continue;
    }
    try {
      execFileSync('bash', [INSTALL_SCRIPT], { stdio: 'inherit', timeout: 600_000 });
    } catch (error) {
      throw new Error(
        `${CHROMIUM} is missing and ${INSTALL_SCRIPT} could not install it: ${(error as Error).message}`,
      );
    } finally {
      fs.rmSync(INSTALL_LOCK, { recursive: true, force: true });
    }
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${INSTALL_SCRIPT} ran, but ${CHROMIUM} is still missing`);
  }
}

/** A headless Chromium with a fresh profile in `profileDir`. */
export async function launchChromium(
  profileDir: string,
  viewport?: { width: number; height: number },
): Promise<BrowserContext> {
  ensureChromium();
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    ...(viewport ? { viewport } : {}),
  });
}
