/**
 * The dashboard server over real HTTP: what it serves, and whom it answers (issue 15): requests
 * addressed to it from its own page or the CLI only, control actions only with the session token
 * and a JSON body, and SQL through the query action read-only.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { BatchScheduler } from '../../local/batch-scheduler';
import { newSessionToken, sessionTokenHeaders } from '../../local/dashboard/access';
import { startDashboardServer, type DashboardServer } from '../../local/dashboard/server';
import type { DashboardSnapshot } from '../../local/dashboard/snapshot';

const snapshot: DashboardSnapshot = {
  time: '2026-06-01T12:00:00.000Z',
  totals: { ingested: 10, valid: 8, invalid: 1, late: 1, rawLanded: 10, alerts: 1 },
  eventsPerSecond: 5,
  iteratorLagMs: 120,
  shards: [{ shardId: 'shardId-000000000000', iteratorAgeMs: 120, pending: 0 }],
  sensors: [
    {
      sensorId: 's1',
      metric: 'temperature',
      current: 21,
      currentTime: '2026-06-01T11:59:59.000Z',
      rollingAvg: 20.5,
      rollingWindow: '5m',
    },
  ],
  recentAlerts: [],
  quarantineByReason: { not_json: 1 },
  batch: { state: 'idle', lastRunAt: null, lastRunDays: [], nextRunAt: null, error: null, tables: [] },
};

const token = newSessionToken();
let server: DashboardServer;
let work: string;
let lake: BatchScheduler;
let received: unknown[];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-dashboard-server-'));
  lake = new BatchScheduler({
    lakeDir: path.join(work, 'lake'),
    maxClockSkewMs: 300_000,
    scheduledDays: () => [],
  });
  server = await startDashboardServer({
    source: { snapshot: async () => snapshot },
    intervalMs: 50,
    actions: {
      token,
      handlers: {
        echo: async (body) => {
          received.push(body);
          return { ok: true };
        },
        fail: async () => {
          throw new Error('days must be a list of YYYY-MM-DD');
        },
        query: async (body) => ({ rows: await lake.query((body as { sql: string }).sql) }),
      },
    },
  });
});

beforeEach(() => {
  received = [];
});

afterAll(async () => {
  await server.close();
  await lake.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One request with exactly these headers (plus Host, unless given, and Content-Length). */
function send(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      new URL(path, server.url),
      { method: options.method ?? 'GET', headers: options.headers },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

const JSON_TYPE = { 'Content-Type': 'application/json' };

/** A POST of `body` as JSON to `/api/actions/<name>` with the session token. */
const act = (name: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> =>
  send(`/api/actions/${name}`, {
    method: 'POST',
    headers: { ...JSON_TYPE, ...sessionTokenHeaders(token), ...headers },
    body: JSON.stringify(body),
  });

const get = async (path: string): Promise<Response> => fetch(new URL(path, server.url));

test('listens on the loopback interface only', () => {
  expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
});

test('serves the page, which loads Chart.js from this server', async () => {
  const response = await get('/');
  const html = await response.text();
  expect(response.headers.get('content-type')).toMatch(/text\/html/);
  expect(html).toContain('<script src="/vendor/chart.umd.js"></script>');
  expect(html).not.toMatch(/https?:\/\//);
});

test('serves the Chart.js UMD bundle from node_modules', async () => {
  const body = await (await get('/vendor/chart.umd.js')).text();
  expect(body).toMatch(/Chart\.js v4\./);
});

test('answers the snapshot as JSON', async () => {
  expect(await (await get('/api/snapshot')).json()).toEqual(snapshot);
});

test('pushes snapshots as server-sent events', async () => {
  const first = await new Promise<string>((resolve, reject) => {
    const request = http.get(new URL('/api/stream', server.url), (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const match = /^data: (.*)$/m.exec(text);
        if (match) {
          request.destroy();
          resolve(match[1]);
        }
      });
    });
    request.on('error', reject);
  });
  expect(JSON.parse(first)).toEqual(snapshot);
});

test('runs a control action with the token and the JSON body', async () => {
  const answer = await act('echo', { days: ['2026-06-01'] });

  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.body)).toEqual({ ok: true });
  expect(received).toEqual([{ days: ['2026-06-01'] }]);
});

test('answers a failing action with 400 and its message', async () => {
  const answer = await act('fail', {});

  expect(answer.status).toBe(400);
  expect(JSON.parse(answer.body)).toEqual({ error: 'days must be a list of YYYY-MM-DD' });
});

test('answers an action from the page itself (its own Origin, either host name)', async () => {
  const answer = await act(
    'echo',
    {},
    { Host: `localhost:${server.port}`, Origin: `http://localhost:${server.port}` },
  );

  expect(answer.status).toBe(200);
});

describe('refuses, and runs nothing', () => {
  test('the cross-origin text/plain POST of any web page (a CORS simple request)', async () => {
    const answer = await send('/api/actions/echo', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', Origin: 'http://evil.example' },
      body: JSON.stringify({ days: ['2026-06-01'] }),
    });

    expect(answer.status).toBe(403);
    expect(received).toEqual([]);
  });

  test('a cross-origin POST even with the token', async () => {
    const answer = await act('echo', {}, { Origin: 'http://evil.example' });

    expect(answer.status).toBe(403);
    expect(received).toEqual([]);
  });

  test('a POST without the token', async () => {
    const answer = await send('/api/actions/echo', { method: 'POST', headers: JSON_TYPE, body: '{}' });

    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({
      error: expect.stringMatching(/^missing or wrong session token/),
    });
    expect(received).toEqual([]);
  });

  test('a POST with a wrong token', async () => {
    const answer = await act('echo', {}, sessionTokenHeaders(newSessionToken()));

    expect(answer.status).toBe(403);
    expect(received).toEqual([]);
  });

  test('a POST with the token that is not application/json, with 415', async () => {
    const answer = await act('echo', {}, { 'Content-Type': 'text/plain' });

    expect(answer.status).toBe(415);
    expect(received).toEqual([]);
  });

  test('COPY TO through the query action with the token, and writes nothing', async () => {
    const target = path.join(work, 'pwned.csv');

    const answer = await act('query', { sql: `COPY (SELECT 1 AS x) TO '${target}'` });

    expect(answer.status).toBe(400);
    expect(fs.existsSync(target)).toBe(false);
  });

  test('read_text outside the lake through the query action with the token', async () => {
    const answer = await act('query', { sql: "SELECT * FROM read_text('/etc/passwd')" });

    expect(answer.status).toBe(400);
    expect(answer.body).not.toContain('root:');
  });
});

test('the query action reads the lake', async () => {
  const answer = await act('query', { sql: 'SELECT count(*) AS n FROM events' });

  expect(JSON.parse(answer.body)).toEqual({ rows: [{ n: '0' }] });
});

describe('answers only requests addressed to it (DNS rebinding reads nothing)', () => {
  test('refuses a foreign Host on /api/snapshot', async () => {
    const answer = await send('/api/snapshot', { headers: { Host: `evil.example:${server.port}` } });

    expect(answer.status).toBe(403);
    expect(answer.body).not.toContain('shardId');
  });

  test('refuses its own address on another port in Host', async () => {
    const answer = await send('/api/snapshot', { headers: { Host: `127.0.0.1:${server.port + 1}` } });

    expect(answer.status).toBe(403);
  });

  test('refuses a foreign Origin on /api/stream', async () => {
    const answer = await send('/api/stream', { headers: { Origin: 'http://evil.example' } });

    expect(answer.status).toBe(403);
  });

  test('answers localhost:<port> as well as 127.0.0.1:<port>', async () => {
    const answer = await send('/api/snapshot', { headers: { Host: `localhost:${server.port}` } });

    expect(JSON.parse(answer.body)).toEqual(snapshot);
  });
});

test('answers unknown paths with 404', async () => {
  expect((await get('/nope')).status).toBe(404);
});
