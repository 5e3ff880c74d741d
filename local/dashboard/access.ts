/**
 * Who may call the dashboard server (threat model: docs/local-mode.md, "Who can reach it").
 *
 * - Every request must name this server in `Host` (`127.0.0.1:<port>` or `localhost:<port>`), so a
 *   page that rebinds its own DNS name to 127.0.0.1 reads nothing, and must carry no `Origin` other
 *   than the dashboard's own, so no other web page can drive it from the user's browser.
 * - A control action also needs the session's secret token (`Authorization: Bearer <token>`), which
 *   only the user who started the session can read (the 0600 session file), and a JSON body: a
 *   browser sends neither across origins without a CORS preflight, which this server never grants.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type * as http from 'node:http';

/** A fresh secret for one session: 256 random bits, URL-safe. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The request headers that carry `token` to a session's control actions. */
export function sessionTokenHeaders(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Whether the request carries `token`, compared in constant time (digests have one length). */
export function carriesSessionToken(request: http.IncomingMessage, token: string): boolean {
  const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
  return match !== null && timingSafeEqual(digest(match[1]), digest(token));
}

/** Whether the request's body is declared JSON (`application/json`, any parameters). */
export function isJsonRequest(request: http.IncomingMessage): boolean {
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  return mediaType === 'application/json';
}

/** The `Host` values that name a server on 127.0.0.1:`port`. */
function ownHosts(port: number): string[] {
  const names = ['127.0.0.1', 'localhost'];
  // Browsers leave out the default port.
  return names.flatMap((name) => (port === 80 ? [`${name}:80`, name] : [`${name}:${port}`]));
}

/**
 * Why the request is not from this dashboard or the CLI (a foreign `Host` or `Origin`), or
 * undefined when it is.
 */
export function foreignRequestReason(request: http.IncomingMessage, port: number): string | undefined {
  const hosts = ownHosts(port);
  const host = (request.headers.host ?? '').toLowerCase();
  if (!hosts.includes(host)) return `Host ${JSON.stringify(host)} is not this dashboard`;
  const origin = request.headers.origin;
  if (origin !== undefined && !hosts.some((h) => origin.toLowerCase() === `http://${h}`))
    return `Origin ${JSON.stringify(origin)} is not this dashboard`;
  return undefined;
}
