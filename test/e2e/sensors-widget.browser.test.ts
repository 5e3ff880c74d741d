/**
 * The dashboard's sensors widget (lambdas/aggregates-widget) in a real headless Chromium: its HTML
 * for the top-N and a sensor's windows renders as tables, and hostile parameters (markup in a sensor
 * id or a metric, a time range of years) give a clear, escaped message: nothing runs.
 * Page expressions are strings: the project's TypeScript has no DOM types.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { WindowValues } from '../../core/aggregate';
import type { WindowSpec } from '../../core/speed-config';
import type { AggregateReader } from '../../lambdas/adapters/aggregate-reader';
import { createHandler, type WidgetEvent } from '../../lambdas/aggregates-widget/handler';
import { launchChromium } from '../helpers/chromium';

const WINDOWS: WindowSpec[] = [
  { name: '1m', sizeMs: 60_000, hopMs: 60_000 },
  { name: '5m', sizeMs: 300_000, hopMs: 60_000 },
  { name: '1h', sizeMs: 3_600_000, hopMs: 3_600_000 },
];
const NOW = Date.parse('2026-12-03T15:30:00Z');
const HOUR_START = Date.parse('2026-12-03T15:00:00Z');

function values(sensorId: string, metric: string, windowStart: number, max: number): WindowValues {
  return {
    sensorId,
    metric,
    window: '1h',
    windowStart,
    windowEnd: windowStart + 3_600_000,
    count: 4,
    sum: 4 * max - 2,
    min: max - 2,
    max,
    firstEventTime: windowStart,
    lastEventTime: windowStart + 1,
  };
}

/** Answers as the table would; a sensor id with markup stands for data nobody validated. */
const reader: Pick<AggregateReader, 'top' | 'range'> = {
  top: async (read) => ({
    windowStart: HOUR_START,
    windowEnd: HOUR_START + 3_600_000,
    series: 3,
    rows: [
      values('s-7', read.metric, HOUR_START, 31),
      values('<img src=x onerror="window.__pwned=1">', read.metric, HOUR_START, 30),
    ].slice(0, read.n),
  }),
  range: async (read) => [
    values(read.sensorId, 'temperature', HOUR_START - 3_600_000, 20),
    values(read.sensorId, 'temperature', HOUR_START, 21),
  ],
};

const handler = createHandler({ reader, windows: WINDOWS, now: () => NOW });

let profile: string;
let browser: BrowserContext;
let page: Page;

beforeAll(async () => {
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-widget-'));
  browser = await launchChromium(profile);
  page = await browser.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  fs.rmSync(profile, { recursive: true, force: true });
});

async function show(
  event: WidgetEvent,
): Promise<{ text: string; rows: number; pwned: unknown; scripts: number }> {
  await page.setContent(await handler(event));
  return {
    text: (await page.evaluate('document.body.innerText')) as string,
    rows: (await page.evaluate("document.querySelectorAll('tbody tr').length")) as number,
    pwned: await page.evaluate('window.__pwned'),
    scripts: (await page.evaluate("document.querySelectorAll('script, img').length")) as number,
  };
}

test('the top-N renders as a table, a stored value with markup shown as text', async () => {
  const shown = await show({ metric: 'temperature', top: 5, by: 'max' });
  expect(shown.rows).toBe(2);
  expect(shown.text).toContain('Top 2 sensors by max of temperature, window 1h from 2026-12-03T15:00:00Z');
  expect(shown.text).toContain('<img src=x onerror="window.__pwned=1">');
  expect([shown.scripts, shown.pwned]).toEqual([0, undefined]);
});

test("a sensor named in the form shows its windows over the dashboard's time range", async () => {
  const shown = await show({
    metric: 'temperature',
    widgetContext: {
      timeRange: { start: NOW - 3 * 3_600_000, end: NOW },
      forms: { all: { sensor: 's-7' } },
    },
  });
  expect(shown.rows).toBe(2);
  expect(shown.text).toContain('Sensor s-7, window 1h: 2 windows');
});

test.each<[string, WidgetEvent, RegExp]>([
  [
    'a script in the sensor id',
    { widgetContext: { forms: { all: { sensor: '<script>window.__pwned=1</script>' } } } },
    /sensor: got "<script>window.__pwned=1<\/script>"; must be 1-128 of letters/,
  ],
  [
    'markup in the metric',
    { metric: '"><svg onload=window.__pwned=1>' },
    /metric: got "\\"><svg onload=window.__pwned=1>"; must be 1-64/,
  ],
  [
    'a time range of ten years',
    {
      window: '1m',
      widgetContext: {
        timeRange: { start: NOW - 3650 * 86_400_000, end: NOW },
        forms: { all: { sensor: 's-7' } },
      },
    },
    /the time range holds 5256001 windows of 1m; at most 500: zoom in or pick a longer window/,
  ],
  [
    'a top of a million',
    { metric: 'temperature', top: 1_000_000 },
    /top: got 1000000; must be a whole number from 1 to 50/,
  ],
  [
    'an unknown window',
    { metric: 'temperature', window: '<b>7d</b>' },
    /window: got "<b>7d<\/b>"; must be one of 1m, 5m, 1h/,
  ],
])('%s is a clear, escaped message and nothing runs', async (_, event, message) => {
  const shown = await show(event);
  expect(shown.text).toMatch(/^Cannot show this: /);
  expect(shown.text).toMatch(message);
  expect([shown.rows, shown.scripts, shown.pwned]).toEqual([0, 0, undefined]);
  expect((await page.evaluate("document.querySelectorAll('svg, b').length")) as number).toBe(0);
});

test('describe returns the documentation CloudWatch shows when the widget is added', async () => {
  expect(await handler({ describe: true })).toMatch(/^## Sluice sensors/);
});
