import * as http from 'node:http';
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

let server: DashboardServer;
const received: unknown[] = [];

beforeAll(async () => {
  server = await startDashboardServer({
    source: { snapshot: async () => snapshot },
    intervalMs: 50,
    actions: {
      echo: async (body) => {
        received.push(body);
        return { ok: true };
      },
      fail: async () => {
        throw new Error('days must be a list of YYYY-MM-DD');
      },
    },
  });
});

afterAll(() => server.close());

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

test('runs a control action with the JSON body', async () => {
  const response = await fetch(new URL('/api/actions/echo', server.url), {
    method: 'POST',
    body: JSON.stringify({ days: ['2026-06-01'] }),
  });
  expect(await response.json()).toEqual({ ok: true });
  expect(received).toEqual([{ days: ['2026-06-01'] }]);
});

test('answers a failing action with 400 and its message', async () => {
  const response = await fetch(new URL('/api/actions/fail', server.url), { method: 'POST', body: '{}' });
  expect(response.status).toBe(400);
  expect(await response.json()).toEqual({ error: 'days must be a list of YYYY-MM-DD' });
});

test('answers unknown paths with 404', async () => {
  expect((await get('/nope')).status).toBe(404);
});
