/**
 * A running `sluice local` announces itself in `<state>/session.json`, so that other commands given
 * `--local` (produce, query, backfill) can reach it: the emulator endpoints, the resource names, and
 * the control URL of its dashboard server with the session's secret token. The file is readable by
 * its owner only (0600), as the token is what lets a caller run control actions. It is removed when
 * the session stops.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sessionTokenHeaders } from '../local/dashboard/access';
import { isLocalEndpoints, type LocalEndpoints } from '../local/endpoints';
import { UserError } from '../contract/user-error';

export const DEFAULT_STATE_DIR = '.sluice';

export interface LocalSession {
  readonly pid: number;
  readonly startedAt: string;
  readonly endpoints: LocalEndpoints;
  readonly streamName: string;
  readonly tableName: string;
  readonly lakeBucketName: string;
  readonly lakeDir: string;
  /** Base URL of the dashboard server, which also takes control requests under /api/. */
  readonly dashboardUrl: string;
  /** The secret a control request must carry (see `local/dashboard/access.ts`). */
  readonly token: string;
}

export function sessionFile(stateDir: string): string {
  return path.join(path.resolve(stateDir), 'session.json');
}

/**
 * Writes the session file, owner-only from its first byte: a new file created with mode 0600 (a
 * stale file's looser mode is not kept), then renamed over the old one in one step.
 */
export function writeSession(stateDir: string, session: LocalSession): void {
  const file = sessionFile(stateDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const staging = `${file}.${process.pid}.tmp`;
  fs.rmSync(staging, { force: true });
  fs.writeFileSync(staging, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  fs.renameSync(staging, file);
}

/** Removes the session file if it is this process's. */
export function removeSession(stateDir: string, pid = process.pid): void {
  const session = readSessionFile(stateDir);
  if (session?.pid === pid) fs.rmSync(sessionFile(stateDir), { force: true });
}

/** Whether a process with this pid exists (one owned by another user counts). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readSessionFile(stateDir: string): LocalSession | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(sessionFile(stateDir), 'utf8'));
  } catch {
    return undefined;
  }
  const session = parsed as Partial<LocalSession>;
  if (
    typeof session.pid !== 'number' ||
    !isLocalEndpoints(session.endpoints) ||
    typeof session.streamName !== 'string' ||
    typeof session.token !== 'string'
  ) {
    return undefined;
  }
  return session as LocalSession;
}

/** The running local session of `stateDir`, or undefined when none is running. */
export function findSession(stateDir: string): LocalSession | undefined {
  const session = readSessionFile(stateDir);
  return session && isProcessAlive(session.pid) ? session : undefined;
}

/** The running local session, or a user error saying how to start one. */
export function requireSession(stateDir: string): LocalSession {
  const session = findSession(stateDir);
  if (!session) {
    throw new UserError(
      `no local Sluice is running with state directory ${path.resolve(stateDir)}; start one with \`npx sluice local\` (in another terminal) or pass --state`,
    );
  }
  return session;
}

/** Sends a control request to a running local session and returns its JSON answer. */
export async function callSession<T>(session: LocalSession, action: string, body: unknown): Promise<T> {
  const url = new URL(`api/actions/${action}`, session.dashboardUrl);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...sessionTokenHeaders(session.token) },
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw new UserError(
      `could not reach the local Sluice at ${session.dashboardUrl}: ${(error as Error).message}`,
    );
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      // plain text
    }
    throw new UserError(message);
  }
  return JSON.parse(text) as T;
}
