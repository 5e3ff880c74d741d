/**
 * The serving layer's two Lambda handlers against the real local stack: the stream-processor
 * handler writes aggregates to dynalite (emulators in a child process, real AWS SDK, the table with
 * its window index as local mode creates it), then the speed export handler lists each hour's series
 * through the index and writes one object per hour, and the sensors widget ranks them.
 */
import { gunzipSync } from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import { resolveConfig, toSpeedConfig } from '../../contract/config';
import { STREAM_PROCESSOR_SERVICE } from '../../contract/metric-names';
import { AggregateReader } from '../../lambdas/adapters/aggregate-reader';
import { pipelineMetrics } from '../../lambdas/adapters/pipeline-metrics';
import type { SpeedHourlyLine } from '../../lambdas/adapters/speed-export';
import { createHandler as createWidget } from '../../lambdas/aggregates-widget/handler';
import { createHandler as createSpeedExport } from '../../lambdas/speed-export/handler';
import { createHandler as createStreamProcessor } from '../../lambdas/stream-processor/handler';
import { createLocalClients, destroyLocalClients, type LocalClients } from '../../local/endpoints';
import { createLocalResources } from '../../local/resources';
import { startEmulatorProcess, type EmulatorProcess } from '../helpers/emulators';
import { kinesisRecord, type RawSensorEvent } from '../helpers/factories';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const HOUR = 3_600_000;
const H10 = Date.parse('2026-11-20T10:00:00Z');
/** Processing time: during 12:00, so the events of 10:00 and 11:00 are current. */
const NOW = H10 + 2 * HOUR + 5 * 60_000;

let emulators: EmulatorProcess;
let clients: LocalClients;
let tableName: string;
const windows = toSpeedConfig(resolveConfig({})).windows;

/** Sensor s-i reports temperature 10·i + k in each of 10:00 and 11:00; s-0 also humidity at 10:00. */
function events(): RawSensorEvent[] {
  const list: RawSensorEvent[] = [];
  for (const hour of [H10, H10 + HOUR]) {
    for (let i = 0; i < 4; i++) {
      for (let k = 0; k < 3; k++) {
        list.push({
          eventId: `e-${hour}-${i}-${k}`,
          sensorId: `s-${i}`,
          metric: 'temperature',
          value: 10 * i + k,
          timestamp: new Date(hour + (10 + k) * 60_000).toISOString(),
        });
      }
    }
  }
  list.push({ eventId: 'h', sensorId: 's-0', metric: 'humidity', value: 55, timestamp: H10 + 60_000 });
  return list;
}

beforeAll(async () => {
  emulators = await startEmulatorProcess();
  clients = createLocalClients(emulators.endpoints);
  const config = resolveConfig({ stage: 'serving', alertRules: [] });
  const resources = await createLocalResources(clients, config);
  tableName = resources.tableName;
  const processor = createStreamProcessor({
    dynamodb: clients.dynamodb,
    sns: clients.sns,
    s3: clients.s3,
    tableName,
    alertsTopicArn: resources.alertsTopicArn,
    lakeBucket: resources.lakeBucketName,
    config: toSpeedConfig(config),
    now: () => NOW,
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: pipelineMetrics(STREAM_PROCESSOR_SERVICE, 'integration'),
  });
  const records = events().map((data, i) =>
    kinesisRecord({ data, sequence: i + 1, arrivalMs: NOW - 60_000 }),
  );
  expect((await processor({ Records: records })).batchItemFailures).toEqual([]);
}, 60_000);

afterAll(async () => {
  destroyLocalClients(clients);
  await emulators.stop();
});

test('the speed export writes one object per hour with every series of that hour', async () => {
  const objects = new Map<string, Buffer>();
  const exportRun = createSpeedExport({
    dynamodb: clients.dynamodb,
    sink: { put: async (key, body) => void objects.set(key, Buffer.from(body)) },
    tableName,
    windows,
    latenessMs: 24 * HOUR,
    intervalMs: HOUR,
    now: () => NOW,
    logger: new Logger({ logLevel: 'SILENT' }),
  });

  const result = await exportRun();

  expect([...objects.keys()].sort()).toEqual([
    'speed/hourly/dt=2026-11-20/10.json.gz',
    'speed/hourly/dt=2026-11-20/11.json.gz',
  ]);
  expect(result).toMatchObject({ objects: 2, rows: 9 });
  const lines = gunzipSync(objects.get('speed/hourly/dt=2026-11-20/10.json.gz')!)
    .toString('utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as SpeedHourlyLine);
  expect(lines.map((l) => `${l.sensorId}/${l.metric}`)).toEqual([
    's-0/humidity',
    's-0/temperature',
    's-1/temperature',
    's-2/temperature',
    's-3/temperature',
  ]);
  expect(lines[4]).toEqual({
    sensorId: 's-3',
    metric: 'temperature',
    hourStart: '2026-11-20 10:00:00.000',
    eventCount: 3,
    sumValue: 93,
    avgValue: 31,
    minValue: 30,
    maxValue: 32,
  });
});

test("the sensors widget ranks the hour's sensors read from the table", async () => {
  const widget = createWidget({
    reader: new AggregateReader({ client: clients.dynamodb, tableName, windows }),
    windows,
    now: () => NOW,
  });

  const html = await widget({
    metric: 'temperature',
    window: '5m',
    top: 2,
    by: 'max',
    widgetContext: { timeRange: { start: H10, end: H10 + HOUR + 12 * 60_000 } },
  });

  expect(html).toContain('Top 2 sensors by max of temperature, window 5m from 2026-11-20T11:12:00Z');
  const sensors = [...html.matchAll(/<tr><td>(\d+)<\/td><td>(s-\d)<\/td><td>(\d+)<\/td>/g)].map((m) =>
    m.slice(1, 4).join(' '),
  );
  // The 5m instance from 11:12 holds each sensor's events of 11:12 (k = 2) only: count 1.
  expect(sensors).toEqual(['1 s-3 1', '2 s-2 1']);
});
