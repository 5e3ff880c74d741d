/**
 * The local dashboard's web server, on 127.0.0.1 only: the static page, Chart.js (its UMD build,
 * served from node_modules: the page needs no network), the current snapshot as JSON, a
 * server-sent event stream that pushes a fresh snapshot every `intervalMs`, and the session's
 * control actions. It answers only requests addressed to itself and control actions only with the
 * session's token (see `./access.ts`).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { carriesSessionToken, foreignRequestReason, isJsonRequest } from './access';
import type { DashboardSnapshot, DashboardSource } from './snapshot';

export interface DashboardServerOptions {
  readonly source: DashboardSource;
  /** @default 0 (an ephemeral port) */
  readonly port?: number;
  /** Snapshot interval of the event stream, ms. @default 1000 */
  readonly intervalMs?: number;
  /** Called when building a snapshot fails (the stream then skips that tick). */
  readonly onError?: (error: unknown) => void;
  /**
   * Control requests: `POST /api/actions/<name>` with the token and a JSON body calls
   * `handlers[name]` and answers its result as JSON, or `{error}` with status 400 when it throws.
   * @default - none
   */
  readonly actions?: DashboardActions;
}

export type DashboardAction = (body: unknown) => Promise<unknown>;

export interface DashboardActions {
  /** The session's secret: a request must send it (`sessionTokenHeaders`) or gets 403 and runs nothing. */
  readonly token: string;
  readonly handlers: Readonly<Record<string, DashboardAction>>;
}

const MAX_ACTION_BODY = 1024 * 1024;

export interface DashboardServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const STATIC_DIR = path.join(__dirname, 'static');

/** The Chart.js UMD bundle; resolved from the package so hoisting does not matter. */
export function chartJsPath(): string {
  return path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js');
}

const ASSETS: Record<string, { file: () => string; type: string }> = {
  '/': { file: () => path.join(STATIC_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/index.html': { file: () => path.join(STATIC_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: () => path.join(STATIC_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/chart.umd.js': { file: chartJsPath, type: 'text/javascript; charset=utf-8' },
};

function answerJson(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

/** Answers `{error}` without reading the request's body. */
function refuse(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  status: number,
  error: string,
): void {
  request.resume();
  answerJson(response, status, { error });
}

const NO_TOKEN =
  'missing or wrong session token: control requests come from the sluice command of this session (it reads the token from <state>/session.json)';

function handleAction(
  actions: DashboardActions | undefined,
  name: string,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): void {
  const answer = (status: number, body: unknown): void => answerJson(response, status, body);
  // The token first: a caller without it learns nothing, not even which actions exist.
  if (!actions || !carriesSessionToken(request, actions.token))
    return refuse(request, response, 403, NO_TOKEN);
  if (!isJsonRequest(request))
    return refuse(request, response, 415, 'control requests must be sent as Content-Type: application/json');
  const action = actions.handlers[name];
  if (!action) return refuse(request, response, 404, 'no such action');
  const chunks: Buffer[] = [];
  let size = 0;
  request.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_ACTION_BODY) chunks.push(chunk);
  });
  request.on('end', () => {
    if (size > MAX_ACTION_BODY) return answer(413, { error: 'request body too large' });
    let body: unknown;
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
    } catch {
      return answer(400, { error: 'request body is not JSON' });
    }
    action(body).then(
      (result) => answer(200, result ?? {}),
      (error: unknown) => answer(400, { error: error instanceof Error ? error.message : String(error) }),
    );
  });
}

export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const intervalMs = options.intervalMs ?? 1_000;
  const clients = new Set<http.ServerResponse>();
  let latest: Promise<DashboardSnapshot> | undefined;
  // One snapshot per tick however many pages are open.
  const snapshot = (): Promise<DashboardSnapshot> => {
    latest ??= options.source.snapshot().finally(() => {
      setTimeout(() => (latest = undefined), Math.min(200, intervalMs / 2)).unref();
    });
    return latest;
  };

  let port = 0;
  const server = http.createServer((request, response) => {
    const foreign = foreignRequestReason(request, port);
    if (foreign) return refuse(request, response, 403, `forbidden: ${foreign}`);
    const url = new URL(request.url ?? '/', `http://${HOST}`);
    const action = /^\/api\/actions\/([a-z-]+)$/.exec(url.pathname);
    if (action && request.method === 'POST') {
      handleAction(options.actions, action[1], request, response);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const asset = ASSETS[url.pathname];
    if (asset) {
      fs.readFile(asset.file(), (error, body) => {
        if (error) response.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(error.message));
        else response.writeHead(200, { 'Content-Type': asset.type, 'Cache-Control': 'no-cache' }).end(body);
      });
      return;
    }
    if (url.pathname === '/favicon.ico') {
      response.writeHead(204).end();
      return;
    }
    if (url.pathname === '/api/snapshot') {
      snapshot().then(
        (body) =>
          response
            .writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
            .end(JSON.stringify(body)),
        (error: unknown) => {
          options.onError?.(error);
          response.writeHead(500, { 'Content-Type': 'text/plain' }).end((error as Error).message);
        },
      );
      return;
    }
    if (url.pathname === '/api/stream') {
      response.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
      });
      response.write('retry: 2000\n\n');
      clients.add(response);
      request.on('close', () => clients.delete(response));
      void push([response]);
      return;
    }
    response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
  });

  const push = async (targets: Iterable<http.ServerResponse>): Promise<void> => {
    let body: string;
    try {
      body = `data: ${JSON.stringify(await snapshot())}\n\n`;
    } catch (error) {
      options.onError?.(error);
      return;
    }
    for (const client of targets) if (!client.writableEnded) client.write(body);
  };
  const timer = setInterval(() => {
    if (clients.size > 0) void push(clients);
  }, intervalMs);
  timer.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${HOST}:${port}/`,
    port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(timer);
        for (const client of clients) client.end();
        clients.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
