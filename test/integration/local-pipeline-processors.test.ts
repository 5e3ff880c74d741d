/**
 * Local mode deploys what the stack deploys: an alert processor's runner beside the aggregate
 * processor's on the same kinesalite stream (each reading every record, with its own checkpoints),
 * or the aggregate processor alone in role `all`. Value alerts come from the alert processor, and
 * the accounting counts each record once.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { resolveConfig } from '../../contract/config';
import { startEmulatorProcess } from '../../local/emulators/process';
import { LocalPipeline } from '../../local/pipeline';
import { sensorEvent } from '../helpers/factories';

const COUNT = 40;

async function runPipeline(partialConfig: object): Promise<{
  alerts: number;
  ingested: number;
  aggregateRecords: number;
  alertRecords: number | undefined;
  checkpointFiles: string[];
}> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-processors-'));
  const pipeline = await LocalPipeline.start({
    config: resolveConfig(partialConfig),
    stateDir,
    // fauxqs is ESM-only: jest cannot load it in-process, so the emulators run in their child process.
    emulators: await startEmulatorProcess(),
    firehoseBufferIntervalMs: 200,
  });
  try {
    const now = Date.now();
    // Every fifth event is hot (value > 28): 8 breaching sensors, one alert each.
    const events = Array.from({ length: COUNT }, (_, i) =>
      sensorEvent({
        eventId: `e-${i}`,
        sensorId: `s-${i % 8}`,
        value: i % 5 === 0 ? 35 : 20,
        timestamp: new Date(now - 60_000 + i * 100).toISOString(),
      }),
    );
    await pipeline.clients.kinesis.send(
      new PutRecordsCommand({
        StreamName: pipeline.resources.streamName,
        Records: events.map((e) => ({
          Data: Buffer.from(JSON.stringify(e)),
          PartitionKey: String(e.sensorId),
        })),
      }),
    );
    // The aggregate processor's 45 s batching window does not hold up a settle: the drain closes the
    // open batch at the shard's tip, or this rejects with DrainTimeoutError.
    await pipeline.settle({ timeoutMs: 20_000 });
    return {
      alerts: pipeline.alerts.received.length,
      ingested: pipeline.accounting.totals.ingested,
      aggregateRecords: pipeline.runner.metrics().counters.recordsSucceeded,
      alertRecords: pipeline.alertRunner?.metrics().counters.recordsSucceeded,
      // One file per consumer of the stream: <checkpoints>/<stream>/<consumer>.json.
      checkpointFiles: fs
        .readdirSync(path.join(stateDir, 'checkpoints', pipeline.resources.streamName))
        .sort(),
    };
  } finally {
    await pipeline.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

test('by default, both runners read every record, alerts are raised once and records counted once', async () => {
  const run = await runPipeline({});

  expect(run).toMatchObject({ alerts: 8, ingested: COUNT, aggregateRecords: COUNT, alertRecords: COUNT });
  expect(run.checkpointFiles).toEqual(
    expect.arrayContaining(['alert-processor.json', 'stream-processor.json']),
  );
}, 60_000);

test('with alertProcessor.enabled false, one runner in role all raises the same alerts', async () => {
  const run = await runPipeline({ alertProcessor: { enabled: false } });

  expect(run).toMatchObject({ alerts: 8, ingested: COUNT, aggregateRecords: COUNT, alertRecords: undefined });
  expect(run.checkpointFiles).toContain('stream-processor.json');
  expect(run.checkpointFiles).not.toContain('alert-processor.json');
}, 60_000);
