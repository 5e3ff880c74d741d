/**
 * The local dashboard in a real headless Chromium (Debian's `chromium`, installed by
 * scripts/install-chromium.sh): the page loads, its charts fill with live data, the batch tables
 * appear, and an alert shows up once anomalous events are produced. Leaves a screenshot in
 * test-results/dashboard.png.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { ensureChromium, launchChromium } from '../helpers/chromium';
import { ROOT, runCli, startCli, type RunningCli } from '../helpers/cli';

let state: string;
let profile: string;
let local: RunningCli;
let context: BrowserContext;
let page: Page;
let dashboardUrl: string;

/** What the page's script exposes for tests (static/app.js `window.sluiceDashboard`), read in the page. */
interface PageState {
  snapshots: number;
  datasets: Record<string, Array<Array<number | null>>>;
  labels: Record<string, string[]>;
}

const READ_STATE = `(() => {
  const dashboard = window.sluiceDashboard;
  const datasets = {};
  const labels = {};
  for (const [name, chart] of Object.entries(dashboard.charts)) {
    datasets[name] = chart.data.datasets.map((d) => [...d.data]);
    labels[name] = [...chart.data.labels];
  }
  return { snapshots: dashboard.state.snapshots, datasets, labels };
})()`;

async function pageState(): Promise<PageState> {
  return (await page.evaluate(READ_STATE)) as PageState;
}

/** Polls the page state until `ready` holds. */
async function waitForState(ready: (state: PageState) => boolean, timeoutMs = 30_000): Promise<PageState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await pageState();
    if (ready(current)) return current;
    if (Date.now() > deadline)
      throw new Error(
        `dashboard state not reached within ${timeoutMs} ms: ${JSON.stringify(current).slice(0, 500)}`,
      );
    await page.waitForTimeout(250);
  }
}

const hasNumbers = (series: Array<Array<number | null>>): boolean =>
  series.some((d) => d.some((v) => typeof v === 'number'));

async function produce(args: string[]): Promise<void> {
  const result = await runCli(['produce', '--local', '--state', state, '--no-progress', '--json', ...args]);
  if (result.code !== 0) throw new Error(`sluice produce failed: ${result.stderr}`);
}

beforeAll(async () => {
  ensureChromium();
  state = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-dashboard-'));
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-chromium-'));
  local = startCli([
    'local',
    '--port',
    '0',
    '--state',
    state,
    '--firehose-interval',
    '1s',
    '--batch-every',
    '5s',
    '--quiet',
  ]);
  dashboardUrl = (await local.waitFor(/dashboard {2}(http:\/\/127\.0\.0\.1:\d+\/)/, 60_000))[1];
  await produce([
    '--rate',
    '60',
    '--duration',
    '6s',
    '--sensors',
    '6',
    '--anomaly-rate',
    '0',
    '--invalid-rate',
    '0.05',
    '--seed',
    '1',
  ]);
  context = await launchChromium(profile, { width: 1400, height: 1100 });
  page = await context.newPage();
  await page.goto(dashboardUrl);
}, 720_000);

afterAll(async () => {
  await context?.close();
  await local?.stop();
  for (const dir of [state, profile]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the page loads and connects to the live stream', async () => {
  await page.waitForFunction("document.getElementById('status-text').textContent === 'live'", null, {
    timeout: 20_000,
  });
  // The counters are the aggregate processor's books: they move when its first batch lands, up to
  // its batching window (45 s by default) after the traffic.
  await page.waitForFunction(
    "Number(document.getElementById('kpi-ingested').textContent.replace(/,/g, '')) > 0",
    null,
    {
      timeout: 90_000,
    },
  );
  expect(await page.title()).toBe('Sluice · local dashboard');
});

test('the sensor charts render current values and rolling averages from the speed layer', async () => {
  // Rolling averages are read from the aggregates table: they appear once the aggregate processor's
  // first batch lands, up to its batching window (45 s by default) after the traffic.
  const { datasets } = await waitForState(
    (s) => hasNumbers(s.datasets.current) && hasNumbers(s.datasets.rolling),
    90_000,
  );
  expect(datasets.current.length).toBeGreaterThan(0);
  const values = datasets.current.flat().filter((v): v is number => typeof v === 'number');
  expect(Math.min(...values)).toBeGreaterThan(-50);
  expect(Math.max(...values)).toBeLessThan(150);
});

test('the events-per-second chart shows the traffic', async () => {
  await waitForState((s) => s.datasets.eps[0].some((v) => (v ?? 0) > 0));
  const canvas = await page.locator('#chart-eps').boundingBox();
  expect(canvas?.height).toBeGreaterThan(100);
});

test('quarantine counts by reason appear for malformed records', async () => {
  const { datasets, labels } = await waitForState((s) => s.labels.quarantine.length > 0);
  expect(labels.quarantine.every((reason) => /^[a-z_]+(:[A-Za-z]+)?$/.test(reason))).toBe(true);
  expect(datasets.quarantine[0].reduce((a, b) => (a ?? 0) + (b ?? 0), 0)).toBeGreaterThan(0);
});

test('the latest batch tables appear after the batch job runs', async () => {
  await page.waitForSelector('.table-card[data-table="events"] tr:nth-child(2)', { timeout: 60_000 });
  const rows = await page.locator('.table-card[data-table="sensor_stats_hourly"] .rows').textContent();
  expect(rows).toMatch(/\(\d[\d,]* rows\)/);
});

test('an alert appears after anomalous events are produced', async () => {
  expect(await page.locator('.alert-row').count()).toBe(0);
  await produce([
    '--count',
    '30',
    '--rate',
    '100',
    '--sensors',
    '3',
    '--anomaly-rate',
    '1',
    '--invalid-rate',
    '0',
    '--seed',
    '2',
  ]);
  await page.waitForSelector('.alert-row', { timeout: 30_000 });
  const row = await page.locator('.alert-row').first().textContent();
  expect(row).toContain('temperature-high');
  fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
  await page.screenshot({ path: path.join(ROOT, 'test-results', 'dashboard.png'), fullPage: true });
});
