/**
 * The serving layer after a replay (`sluice local --events FILE --once`): the view
 * `sensor_stats_hourly_live` across both layers, and `sluice aggregates` against aggregates.jsonl.
 *
 * The events are hours of the last 22 (not late) and an hour of yesterday only late events fill
 * (older than the 24h lateness: the speed layer skips them, the batch layer keeps them).
 * The boundary test takes the batch layer's partitions away and builds the days again one by one:
 * after each step every (sensor, metric, hour) is in the view once, from the batch layer where its
 * day is built and from the speed export elsewhere.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CURATED_TABLES } from '../../contract/lake-tables';
import { LocalLake } from '../../local/batch/duckdb-runner';
import { lakeDirOf } from '../../local/pipeline';
import { runCli, runReplay } from '../helpers/cli';

const HOUR = 3_600_000;
const NOW = Date.now();

interface LiveRow {
  sensor_id: string;
  metric: string;
  hour_start: string;
  event_count: number;
  avg_value: number;
  min_value: number;
  max_value: number;
  source: 'batch' | 'speed';
  dt: string;
}

interface AggregateLine {
  sensorId: string;
  metric: string;
  window: string;
  windowStart: string;
  count: number;
  sum: number;
  min: number;
  max: number;
  avg: number;
}

let work: string;
let out: string;
let state: string;
/** Hours (ISO) with a non-late event, per `sensor|metric`. */
const liveHours = new Set<string>();
const lateHours = new Set<string>();

const hourOf = (ms: number): string => new Date(Math.floor(ms / HOUR) * HOUR).toISOString();
const key = (sensor: string, metric: string, hour: string): string => `${sensor}|${metric}|${hour}`;
const iso = (text: string): string => new Date(`${text.replace(' ', 'T')}Z`).toISOString();

/** `sluice aggregates --local --state <state> ...args`. */
function aggregates(...args: string[]): ReturnType<typeof runCli> {
  return runCli(['aggregates', '--local', '--state', state, ...args]);
}

function readJsonl<T>(file: string): T[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as T);
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-serving-'));
  out = path.join(work, 'out');
  state = `${out}-state`;
  const lines: string[] = [];
  let id = 0;
  const event = (sensorId: string, metric: string, at: number, value: number): void => {
    lines.push(JSON.stringify({ eventId: `e-${id++}`, sensorId, metric, value, timestamp: at }));
  };
  for (let h = 1; h <= 22; h++) {
    const at = NOW - h * HOUR + 60_000;
    for (const [i, sensor] of ['s-1', 's-2', 's-3'].entries()) {
      event(sensor, 'temperature', at, 10 * i + h);
      event(sensor, 'temperature', at + 1_000, 10 * i + h + 0.5);
      liveHours.add(key(sensor, 'temperature', hourOf(at)));
    }
    if (h % 3 === 0) {
      event('s-1', 'humidity', at, 40 + h);
      liveHours.add(key('s-1', 'humidity', hourOf(at)));
    }
  }
  // Late only: older than the 24h lateness (the speed layer skips them) but from yesterday, so the
  // batch layer's build of yesterday (raw arrivals of yesterday and today) has them.
  const today = Math.floor(NOW / (24 * HOUR)) * 24 * HOUR;
  const lateAt = today - 24 * HOUR + Math.floor((NOW - today) / 2);
  for (let i = 0; i < 3; i++) event('s-2', 'pressure', lateAt + i, 1_000 + i);
  lateHours.add(key('s-2', 'pressure', hourOf(lateAt)));
  const file = path.join(work, 'events.ndjson');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const result = await runReplay(file, out);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
}, 200_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('after a replay, `sluice query --local` reads sensor_stats_hourly_live: every hour once, the batch layer statistics', async () => {
  const result = await runCli([
    'query',
    '--local',
    '--state',
    state,
    'SELECT * FROM sensor_stats_hourly_live',
    '--format',
    'json',
  ]);
  expect(result.stderr).toBe('');
  const rows = JSON.parse(result.stdout) as LiveRow[];
  const keys = rows.map((r) => key(r.sensor_id, r.metric, iso(r.hour_start)));
  expect(new Set(keys).size).toBe(rows.length);
  // Every day was built by the replay: batch rows only, equal to the batch layer's table.
  expect(new Set(rows.map((r) => r.source))).toEqual(new Set(['batch']));
  const batch = readJsonl<Record<string, string | number>>(
    path.join(out, 'tables', 'sensor_stats_hourly.jsonl'),
  );
  expect(rows.length).toBe(batch.length);
  const byKey = new Map(rows.map((r) => [key(r.sensor_id, r.metric, iso(r.hour_start)), r]));
  for (const b of batch) {
    const row = byKey.get(key(String(b.sensor_id), String(b.metric), String(b.hour_start)));
    expect(row).toBeDefined();
    expect([Number(row?.event_count), row?.min_value, row?.max_value]).toEqual([
      b.event_count,
      b.min_value,
      b.max_value,
    ]);
    expect(row?.avg_value).toBeCloseTo(Number(b.avg_value), 9);
  }
  for (const hour of [...liveHours, ...lateHours]) expect(keys).toContain(hour);
});

test('building the days one by one moves the boundary with neither gap nor overlap', async () => {
  const speed = new Map(
    readJsonl<AggregateLine>(path.join(out, 'aggregates.jsonl'))
      .filter((a) => a.window === '1h')
      .map((a) => [key(a.sensorId, a.metric, a.windowStart), a]),
  );
  const batch = new Map(
    readJsonl<Record<string, string | number>>(path.join(out, 'tables', 'sensor_stats_hourly.jsonl')).map(
      (b) => [key(String(b.sensor_id), String(b.metric), String(b.hour_start)), b],
    ),
  );
  const days = [...new Set([...batch.values()].map((b) => String(b.dt)))].sort();
  expect(days.length).toBeGreaterThanOrEqual(2);
  const lakeDir = lakeDirOf(state);
  // Back to "no day built": the curated partitions go away.
  for (const table of CURATED_TABLES)
    fs.rmSync(path.join(lakeDir, table.prefix), { recursive: true, force: true });
  const lake = await LocalLake.open({ lakeDir });
  try {
    for (let built = 0; built <= days.length; built++) {
      const builtDays = new Set(days.slice(0, built));
      const rows = (await lake.query('SELECT * FROM sensor_stats_hourly_live')) as unknown as LiveRow[];
      const keys = rows.map((r) => key(r.sensor_id, r.metric, iso(r.hour_start)));
      expect(new Set(keys).size).toBe(rows.length);
      for (const [i, row] of rows.entries()) {
        expect([row.dt, row.source]).toEqual([row.dt, builtDays.has(row.dt) ? 'batch' : 'speed']);
        // count and max as each layer has them: the batch table's row, or the speed layer's 1h window.
        const [count, max] =
          row.source === 'batch'
            ? [batch.get(keys[i])?.event_count, batch.get(keys[i])?.max_value]
            : [speed.get(keys[i])?.count, speed.get(keys[i])?.max];
        expect(count).toBeDefined();
        expect([Number(row.event_count), row.max_value]).toEqual([count, max]);
      }
      for (const hour of liveHours) expect(keys).toContain(hour);
      for (const hour of lateHours) {
        const day = hour.split('|')[2].slice(0, 10);
        expect(keys.includes(hour)).toBe(builtDays.has(day));
      }
      if (built < days.length) await lake.runDay(days[built]);
    }
  } finally {
    lake.close();
  }
});

test('`sluice aggregates --local --state S --format json` on the stopped state lists aggregates.jsonl', async () => {
  const result = await aggregates('--format', 'json');
  expect(result.stderr).toBe('');
  const lines = readJsonl<AggregateLine>(path.join(out, 'aggregates.jsonl'));
  expect(lines.length).toBeGreaterThan(100);
  expect(JSON.parse(result.stdout)).toEqual(lines);
});

test("`sluice aggregates --sensor` lists one sensor's windows as aggregates.jsonl has them", async () => {
  const lines = readJsonl<AggregateLine>(path.join(out, 'aggregates.jsonl'));
  for (const window of ['1h', '5m']) {
    const result = await aggregates(
      '--sensor',
      's-1',
      '--window',
      window,
      '--from',
      '30h',
      '--format',
      'json',
    );
    expect(result.stderr).toBe('');
    const expected = lines.filter((l) => l.sensorId === 's-1' && l.window === window);
    expect(expected.length).toBeGreaterThan(0);
    expect(JSON.parse(result.stdout)).toEqual(expected);
  }
});

test.each([
  // The 1h window holding an hour's events, and the 5m window (composed from 1m panes) holding one.
  ['1h', HOUR],
  ['5m', 60_000],
])(
  '`sluice aggregates --top` ranks the sensors of one %s instance as aggregates.jsonl does',
  async (window, hop) => {
    const lines = readJsonl<AggregateLine>(path.join(out, 'aggregates.jsonl'));
    const eventTime = NOW - 5 * HOUR + 60_000;
    const at = new Date(Math.floor(eventTime / Number(hop)) * Number(hop)).toISOString();
    const result = await aggregates(
      ...['--top', '2', '--metric', 'temperature', '--window', String(window), '--by', 'avg'],
      ...['--to', at, '--format', 'json'],
    );
    expect(result.stderr).toBe('');
    const expected = lines
      .filter((l) => l.metric === 'temperature' && l.window === window && l.windowStart === at)
      .sort((a, b) => b.avg - a.avg)
      .slice(0, 2)
      .map((l, i) => ({ rank: i + 1, ...l }));
    expect(expected.map((e) => e.sensorId)).toEqual(['s-3', 's-2']);
    expect(JSON.parse(result.stdout)).toEqual(expected);
  },
);

test('a hostile or huge read is one line and exit 1', async () => {
  const script = await aggregates('--sensor', '<script>alert(1)</script>');
  expect(script.code).toBe(1);
  expect(script.stderr).toMatch(
    /^sluice aggregates: option '--sensor <id>' argument .* is invalid\. must be a sensor id/,
  );
  const huge = await aggregates('--sensor', 's-1', '--window', '1h', '--from', '3650d');
  expect(huge.code).toBe(1);
  expect(huge.stderr).toMatch(
    /^sluice: the range spans \d+ hours; at most 744 are listed through the window index/,
  );
  const top = await aggregates('--top', '1000000', '--metric', 'temperature');
  expect(top.code).toBe(1);
  expect(top.stderr).toMatch(/^sluice aggregates: option '--top <n>' argument '1000000' is invalid/);
});
