/**
 * Speed-vs-batch reconciliation against the real local stack: the real stream-processor handler
 * writes aggregates to dynalite (emulators in a child process, real AWS SDK), the raw records land
 * in a local lake as Firehose lands them, the batch SQL runs on DuckDB, and the reconciliation reads
 * both sides — through `reconcileLocal` (local mode) and through the Lambda handler with Athena
 * played by DuckDB.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import type { KinesisStreamEvent } from 'aws-lambda';
import { RECONCILIATION_SERVICE, STREAM_PROCESSOR_SERVICE } from '../../contract/metric-names';
import { findHourlyWindow } from '../../core/reconcile';
import { pipelineMetrics } from '../../lambdas/adapters/pipeline-metrics';
import { resolveConfig, toSpeedConfig } from '../../contract/config';
import { createHandler as createStreamProcessor } from '../../lambdas/stream-processor/handler';
import { createHandler as createReconciliation } from '../../lambdas/reconciliation/handler';
import { LocalLake } from '../../local/batch/duckdb-runner';
import { createLocalClients, destroyLocalClients, type LocalClients } from '../../local/endpoints';
import { reconcileLocal } from '../../local/reconcile';
import { createLocalResources } from '../../local/resources';
import { startEmulatorProcess, type EmulatorProcess } from '../helpers/emulators';
import { kinesisRecord, type RawSensorEvent } from '../helpers/factories';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const DAY = '2026-11-20';
const HOUR = 3_600_000;
const DAY_START = Date.parse(`${DAY}T00:00:00Z`);
/** Processing time: early on the next day, so every event of DAY is within the default 24h lateness. */
const NOW = DAY_START + 24 * HOUR + HOUR;

let emulators: EmulatorProcess;
let clients: LocalClients;
const tempDirs: string[] = [];

beforeAll(async () => {
  emulators = await startEmulatorProcess();
  clients = createLocalClients(emulators.endpoints);
});

afterAll(async () => {
  destroyLocalClients(clients);
  await emulators.stop();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Three sensors, two metrics, events spread over several hours of DAY. */
function events(): RawSensorEvent[] {
  const list: RawSensorEvent[] = [];
  for (let i = 0; i < 60; i++) {
    list.push({
      eventId: `e-${i}`,
      sensorId: `sensor-${i % 3}`,
      metric: i % 4 === 0 ? 'humidity' : 'temperature',
      value: 15 + ((i * 7) % 11) + 0.1 * (i % 3) + 0.01,
      timestamp: new Date(DAY_START + 2 * HOUR + i * 13 * 60_000).toISOString(),
    });
  }
  return list;
}

interface Scenario {
  readonly stage: string;
  /** Records as producers sent them (a producer duplicate is a second record with the same event). */
  readonly records: readonly RawSensorEvent[];
  readonly windows?: ReadonlyArray<{ name: string; size: string; hop?: string }>;
}

interface Prepared {
  readonly tableName: string;
  readonly lakeDir: string;
  readonly windows: ReturnType<typeof toSpeedConfig>['windows'];
}

/** Speed layer over dynalite + raw landing + batch job on DuckDB, for one scenario. */
async function prepare(scenario: Scenario): Promise<Prepared> {
  const config = resolveConfig({
    stage: scenario.stage,
    ...(scenario.windows ? { windows: scenario.windows } : {}),
    alertRules: [],
  });
  const resources = await createLocalResources(clients, config);
  const speedConfig = toSpeedConfig(config);
  const processor = createStreamProcessor({
    dynamodb: clients.dynamodb,
    sns: clients.sns,
    s3: clients.s3,
    tableName: resources.tableName,
    alertsTopicArn: resources.alertsTopicArn,
    lakeBucket: resources.lakeBucketName,
    config: speedConfig,
    now: () => NOW,
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: pipelineMetrics(STREAM_PROCESSOR_SERVICE, 'integration'),
  });
  const records = scenario.records.map((data, i) =>
    kinesisRecord({ data, sequence: i + 1, arrivalMs: NOW - 30 * 60_000 }),
  );
  const event: KinesisStreamEvent = { Records: records };
  const response = await processor(event);
  expect(response.batchItemFailures).toEqual([]);

  // Raw landing keeps every record, duplicates included, as Firehose writes it.
  const lakeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-reconcile-'));
  tempDirs.push(lakeDir);
  const arrival = new Date(NOW - 30 * 60_000).toISOString();
  const dir = path.join(lakeDir, 'raw', `dt=${arrival.slice(0, 10)}`, `hour=${arrival.slice(11, 13)}`);
  fs.mkdirSync(dir, { recursive: true });
  const body = scenario.records.map((r) => `${JSON.stringify(r)}\n`).join('');
  fs.writeFileSync(path.join(dir, 'sluice-raw-1-2026-11-21-00-30-00-test.gz'), zlib.gzipSync(body));
  const lake = await LocalLake.open({ lakeDir });
  try {
    await lake.runDay(DAY);
  } finally {
    lake.close();
  }
  return { tableName: resources.tableName, lakeDir, windows: speedConfig.windows };
}

describe('local reconciliation', () => {
  test('finds zero drift when producers sent every event once', async () => {
    const { tableName, lakeDir, windows } = await prepare({ stage: 'rec-clean', records: events() });

    const report = await reconcileLocal({
      dynamodb: clients.dynamodb,
      tableName,
      lake: { lakeDir },
      days: [DAY],
      windows,
    });

    expect(report.itemsCompared).toBeGreaterThan(10);
    expect(report).toMatchObject({
      status: 'compared',
      window: '1h',
      itemsDiffering: 0,
      maxRelativeDifference: 0,
    });
  });

  test('finds the hours whose events a producer sent twice', async () => {
    const all = events();
    // Two producer retries: the same events again, in new records.
    const duplicated = [...all, all[5], all[17]];
    const { tableName, lakeDir, windows } = await prepare({ stage: 'rec-dups', records: duplicated });

    const report = await reconcileLocal({
      dynamodb: clients.dynamodb,
      tableName,
      lake: { lakeDir },
      days: [DAY],
      windows,
    });

    expect(report.itemsDiffering).toBe(2);
    expect(report.maxRelativeDifference).toBeGreaterThan(0);
    expect(report.differences.map((d) => [d.sensorId, d.kind, d.field])).toEqual(
      expect.arrayContaining([
        [all[5].sensorId, 'mismatch', 'count'],
        [all[17].sensorId, 'mismatch', 'count'],
      ]),
    );
  });

  test('hours whose events were all late are late-only, not drift', async () => {
    // Events of hour 00 are more than the 24h lateness older than NOW: the speed layer skips them.
    const late: RawSensorEvent[] = [10, 25, 40].map((minute, i) => ({
      eventId: `late-${i}`,
      sensorId: 'sensor-9',
      metric: 'temperature',
      value: 20 + i,
      timestamp: new Date(DAY_START + minute * 60_000).toISOString(),
    }));
    const { tableName, lakeDir, windows } = await prepare({
      stage: 'rec-late',
      records: [...events(), ...late],
    });
    const options = { dynamodb: clients.dynamodb, tableName, lake: { lakeDir }, days: [DAY], windows };

    const strict = await reconcileLocal(options);
    const report = await reconcileLocal({ ...options, lateBefore: NOW - 24 * HOUR });

    expect(strict).toMatchObject({ itemsDiffering: 1, missingInSpeed: 1 });
    expect(report).toMatchObject({ itemsDiffering: 0, missingInSpeed: 0, itemsLateOnly: 1 });
    expect(report.itemsCompared).toBe(strict.itemsCompared - 1);
  });

  test('compares only the hours that ended by settledBefore', async () => {
    const { tableName, lakeDir, windows } = await prepare({ stage: 'rec-settled', records: events() });
    const options = { dynamodb: clients.dynamodb, tableName, lake: { lakeDir }, days: [DAY], windows };

    const all = await reconcileLocal(options);
    const early = await reconcileLocal({ ...options, settledBefore: DAY_START + 6 * HOUR });

    expect(early.itemsUnsettled).toBeGreaterThan(0);
    expect(early.itemsCompared + early.itemsUnsettled).toBe(all.itemsCompared);
    expect(early.itemsDiffering).toBe(0);
  });

  test('writes the day report into the lake where the Lambda writes it in the bucket', async () => {
    const { tableName, lakeDir, windows } = await prepare({ stage: 'rec-file', records: events() });

    const report = await reconcileLocal({
      dynamodb: clients.dynamodb,
      tableName,
      lake: { lakeDir },
      days: [DAY],
      windows,
    });

    const file = path.join(lakeDir, 'reports', 'reconciliation', `dt=${DAY}.json`);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({
      days: [DAY],
      itemsCompared: report.itemsCompared,
    });
  });

  test('reads the batch layer through an open lake runner as well as a lake directory', async () => {
    const { tableName, lakeDir, windows } = await prepare({ stage: 'rec-runner', records: events() });
    const lake = await LocalLake.open({ lakeDir });

    try {
      const report = await reconcileLocal({
        dynamodb: clients.dynamodb,
        tableName,
        lake,
        days: [DAY],
        windows,
      });

      expect(report).toMatchObject({ itemsDiffering: 0 });
      expect(report.itemsCompared).toBeGreaterThan(10);
    } finally {
      lake.close();
    }
  });

  test('without a tumbling hourly window, reports "no hourly window configured" and compares nothing', async () => {
    const { tableName, lakeDir, windows } = await prepare({
      stage: 'rec-nohour',
      records: events(),
      windows: [{ name: '1m', size: '1m' }],
    });

    const report = await reconcileLocal({
      dynamodb: clients.dynamodb,
      tableName,
      lake: { lakeDir },
      days: [DAY],
      windows,
    });

    expect(report).toMatchObject({ status: 'no_hourly_window', itemsCompared: 0 });
    expect(report.message).toMatch(/^no hourly window configured/);
  });
});

describe('reconciliation Lambda handler', () => {
  test('reports the drift of duplicates read from DynamoDB, with Athena played by DuckDB', async () => {
    const all = events();
    const { tableName, lakeDir, windows } = await prepare({ stage: 'rec-lambda', records: [...all, all[3]] });
    const lake = await LocalLake.open({ lakeDir });
    const written: string[] = [];
    try {
      const handler = createReconciliation({
        // Athena returns every value as a string.
        athena: {
          rows: async (sql) =>
            (await lake.query(sql)).map((row) =>
              Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? null : String(v)])),
            ),
        },
        dynamodb: clients.dynamodb,
        reports: {
          write: async (day, report) => {
            written.push(JSON.stringify(report));
            return `reports/reconciliation/dt=${day}.json`;
          },
        },
        tableName,
        hourlyWindow: findHourlyWindow(windows)?.name,
        aggregateTtlMs: 7 * 24 * HOUR,
        latenessMs: 24 * HOUR,
        tolerance: 1e-6,
        maxDifferences: 20,
        now: () => NOW,
        logger: new Logger({ logLevel: 'SILENT' }),
        metrics: pipelineMetrics(RECONCILIATION_SERVICE, 'integration'),
      });

      const result = await handler({
        'detail-type': 'Step Functions Execution Status Change',
        detail: { input: '{}', startDate: NOW, status: 'SUCCEEDED' },
      });

      expect(result.reconciled.map((r) => [r.day, r.report.itemsDiffering])).toEqual([[DAY, 1]]);
      expect(written).toHaveLength(1);
    } finally {
      lake.close();
    }
  });

  test('does not count an hour whose events were all late as drift', async () => {
    const late: RawSensorEvent = {
      eventId: 'late-lambda',
      sensorId: 'sensor-8',
      metric: 'temperature',
      value: 21,
      timestamp: new Date(DAY_START + 15 * 60_000).toISOString(),
    };
    const { tableName, lakeDir, windows } = await prepare({
      stage: 'rec-lambda-late',
      records: [...events(), late],
    });
    const lake = await LocalLake.open({ lakeDir });
    try {
      const handler = createReconciliation({
        athena: {
          rows: async (sql) =>
            (await lake.query(sql)).map((row) =>
              Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? null : String(v)])),
            ),
        },
        dynamodb: clients.dynamodb,
        reports: { write: async (day) => `reports/reconciliation/dt=${day}.json` },
        tableName,
        hourlyWindow: findHourlyWindow(windows)?.name,
        aggregateTtlMs: 7 * 24 * HOUR,
        latenessMs: 24 * HOUR,
        tolerance: 1e-6,
        maxDifferences: 20,
        now: () => NOW,
        logger: new Logger({ logLevel: 'SILENT' }),
        metrics: pipelineMetrics(RECONCILIATION_SERVICE, 'integration'),
      });

      const result = await handler({ day: DAY });

      expect(result.reconciled[0].report).toMatchObject({ itemsDiffering: 0, itemsLateOnly: 1 });
    } finally {
      lake.close();
    }
  });
});
