/**
 * The local dashboard's reconciliation panel in a real headless Chromium: served by the dashboard
 * server from a snapshot whose drift is known, the page shows the drift line and the differing hours,
 * and says when no batch run has happened yet.
 * Page expressions are strings: the project's TypeScript has no DOM types.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { ReconciliationReport } from '../../core/reconcile';
import { startDashboardServer, type DashboardServer } from '../../local/dashboard/server';
import type { DashboardSnapshot } from '../../local/dashboard/snapshot';
import { launchChromium } from '../helpers/chromium';

const DRIFT: ReconciliationReport = {
  days: ['2026-11-20'],
  window: '1h',
  status: 'compared',
  message: '2026-11-20: 1 of 24 hourly items differ (window 1h), largest relative difference 0.250',
  tolerance: 1e-6,
  generatedAt: '2026-11-21T02:10:00.000Z',
  itemsCompared: 24,
  itemsDiffering: 1,
  maxRelativeDifference: 0.25,
  missingInSpeed: 0,
  missingInBatch: 0,
  itemsUnsettled: 0,
  itemsLateOnly: 0,
  differences: [
    {
      sensorId: 'sensor-007',
      metric: 'temperature',
      hourStart: '2026-11-20T05:00:00.000Z',
      kind: 'mismatch',
      field: 'count',
      relativeDifference: 0.25,
      speed: { count: 4, avg: 4.5, min: 2, max: 6 },
      batch: { count: 3, avg: 4, min: 2, max: 6 },
    },
  ],
};

function snapshot(drift: ReconciliationReport | null): DashboardSnapshot {
  return {
    time: new Date().toISOString(),
    totals: { ingested: 0, valid: 0, invalid: 0, late: 0, rawLanded: 0, alerts: 0 },
    eventsPerSecond: 0,
    iteratorLagMs: 0,
    shards: [],
    sensors: [],
    recentAlerts: [],
    quarantineByReason: {},
    batch: { state: 'idle', lastRunAt: null, lastRunDays: [], nextRunAt: null, error: null, tables: [] },
    drift,
  };
}

let profile: string;
let context: BrowserContext;
let page: Page;
let server: DashboardServer | undefined;
let current: DashboardSnapshot = snapshot(null);

beforeAll(async () => {
  server = await startDashboardServer({ source: { snapshot: async () => current }, intervalMs: 200 });
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-drift-chromium-'));
  context = await launchChromium(profile);
  page = await context.newPage();
  await page.goto(server.url);
}, 720_000);

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

test('before any batch run the panel says so', async () => {
  await page.waitForFunction(
    "document.getElementById('drift-meta')?.textContent === 'No batch run yet.'",
    null,
    {
      timeout: 20_000,
    },
  );

  expect(await page.locator('#drift-table').isVisible()).toBe(false);
});

test('after a run the panel shows the drift and the differing hours', async () => {
  current = snapshot(DRIFT);

  await page.waitForFunction(
    "document.getElementById('drift-meta')?.textContent?.startsWith('drift:')",
    null,
    {
      timeout: 20_000,
    },
  );

  expect(await page.locator('#drift-meta').textContent()).toBe(
    'drift: 1 of 24 hourly items differ · max relative difference 0.250 · window 1h · 2026-11-20',
  );
  expect(await page.locator('#drift-body tr').first().locator('td').allTextContents()).toEqual([
    'sensor-007',
    'temperature',
    '2026-11-20 05:00',
    'mismatch',
    'count',
    '4.00',
    '3.00',
    '0.250',
  ]);
});

test('the drift line says how many hours were not compared, and why', async () => {
  current = snapshot({
    ...DRIFT,
    itemsCompared: 12,
    itemsDiffering: 0,
    maxRelativeDifference: 0,
    itemsLateOnly: 3,
    itemsUnsettled: 2,
    differences: [],
  });

  await page.waitForFunction(
    "document.getElementById('drift-meta')?.textContent?.includes('not compared')",
    null,
    { timeout: 20_000 },
  );

  expect(await page.locator('#drift-meta').textContent()).toBe(
    'drift: none · 12 hourly items agree · window 1h · 2026-11-20 · not compared: 3 late-only, 2 still filling in',
  );
  expect(await page.locator('#drift-meta').getAttribute('class')).toBe('drift-meta');
});

test('before any hour has settled, the panel says there was nothing to compare yet', async () => {
  current = snapshot({
    ...DRIFT,
    itemsCompared: 0,
    itemsDiffering: 0,
    maxRelativeDifference: 0,
    itemsUnsettled: 16,
    differences: [],
  });

  await page.waitForFunction(
    "document.getElementById('drift-meta')?.textContent?.includes('16 still filling in')",
    null,
    { timeout: 20_000 },
  );

  expect(await page.locator('#drift-meta').textContent()).toBe(
    'drift: none · no settled hour to compare yet · window 1h · 2026-11-20 · not compared: 16 still filling in',
  );
});

test('without an hourly window the panel shows the reason', async () => {
  current = snapshot({
    ...DRIFT,
    status: 'no_hourly_window',
    window: null,
    message: 'no hourly window configured: add a tumbling window of size "1h"',
    itemsCompared: 0,
    itemsDiffering: 0,
    maxRelativeDifference: 0,
    differences: [],
  });

  await page.waitForFunction(
    "document.getElementById('drift-meta')?.textContent?.startsWith('no hourly window')",
    null,
    {
      timeout: 20_000,
    },
  );

  expect(await page.locator('#drift-table').isVisible()).toBe(false);
});
