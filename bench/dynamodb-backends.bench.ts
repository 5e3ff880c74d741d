/**
 * What one aggregate write costs on each local DynamoDB: CPU per call in the calling process (the
 * AWS SDK v3 client, as local mode configures it) and in the emulator's process, for the speed
 * layer's own writes (the aggregate store applying batches of the default windows).
 *
 * It answers "would another local DynamoDB let local mode go faster?": at real cardinality local
 * mode's limit is DynamoDB calls (about 0.7 per event at the default config), and each call costs
 * CPU on both sides on this 2-core machine.
 *
 * Backends, each fresh, each fed the same batches:
 *  - dynalite in memory, in the emulators' child process (`sluice local`'s placement);
 *  - dynalite on disk (LevelDB), as `sluice local` runs it (so `--keep-state` can resume);
 *  - DynamoDB Local (AWS's own, Java, `-inMemory`), where Java 17+ is on the PATH.
 *
 * Workload: `--series` sensor-metrics (default 2,000, one shard's share of the cost model's 10,000),
 * `--rounds` batches (default 4), each with 5 events per series inside one minute, so every batch
 * writes each series' 1-minute pane and hour item, and the first batch of each minute reads them
 * first (new items). Calls are counted with a middleware; CPU is read from process.cpuUsage() and
 * /proc/<pid>/stat (Linux). Figures are recorded under `localDynamodb`.
 *
 *   npx tsx bench/dynamodb-backends.bench.ts [--series 2000] [--rounds 8]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULT_CONFIG, toSpeedConfig } from '../contract/config';
import { aggregateBatch, type PositionedEvent } from '../core/aggregate';
import { storagePlan } from '../core/panes';
import { AggregateStore } from '../lambdas/adapters/aggregate-store';
import { startEmulatorProcess } from '../local/emulators/process';
import { createLocalClients, destroyLocalClients } from '../local/endpoints';
import { createAggregatesTable } from '../local/resources';
import { dynamoDbLocalClient, javaMissing, startDynamoDbLocal } from '../test/helpers/dynamodb-local';
import { cpuMsOf, processCpuMs } from './local-harness';
import { positiveNumber, runBench } from './options';
import { recordResults, type Figures } from './results';

const TABLE = 'sluice-bench-aggregates';
const EVENTS_PER_SERIES_PER_ROUND = 5;
const MINUTE = 60_000;

interface Backend {
  readonly name: string;
  readonly label: string;
  /** Starts the backend; returns its client, its process id and how to stop it. */
  start(): Promise<{ client: DynamoDBClient; pid: number; stop(): Promise<void> }>;
}

interface Measured {
  readonly calls: number;
  readonly updates: number;
  readonly clientCpuMsPerCall: number;
  readonly serverCpuMsPerCall: number;
  readonly callsPerSec: number;
}

function batches(series: number, rounds: number, start: number): PositionedEvent[][] {
  const out: PositionedEvent[][] = [];
  let sequence = 0;
  for (let round = 0; round < rounds; round++) {
    const batch: PositionedEvent[] = [];
    for (let i = 0; i < EVENTS_PER_SERIES_PER_ROUND; i++) {
      for (let s = 0; s < series; s++) {
        // Two batches a minute: a new pane every other batch, as a 45 s batching window makes it.
        const eventTime = start + Math.floor(round / 2) * MINUTE + (round % 2) * 30_000 + i * 1000;
        const sensor = Math.floor(s / 2);
        batch.push({
          event: {
            eventId: `r${round}-s${s}-${i}`,
            sensorId: `sensor-${sensor}`,
            metric: s % 2 === 0 ? 'temperature' : 'humidity',
            value: 20 + ((s * 7 + i) % 13),
            unit: s % 2 === 0 ? 'C' : '%',
            eventTime,
          },
          lane: 'shardId-000000000000',
          sequenceNumber: String(++sequence).padStart(20, '0'),
        });
      }
    }
    out.push(batch);
  }
  return out;
}

function countCalls(client: DynamoDBClient): Map<string, number> {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => (args) => {
      const name = context.commandName ?? 'unknown';
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'benchCountCalls' },
  );
  return counts;
}

async function measure(backend: Backend, work: readonly PositionedEvent[][]): Promise<Measured> {
  const { client, pid, stop } = await backend.start();
  try {
    const config = toSpeedConfig(DEFAULT_CONFIG);
    await createAggregatesTable(client, TABLE, 10_000);
    const plan = storagePlan(config.windows);
    const store = new AggregateStore({
      client,
      tableName: TABLE,
      plan,
      ttlSeconds: Math.ceil(config.aggregateTtlMs / 1000),
    });
    const counts = countCalls(client);
    const clientBefore = processCpuMs();
    const serverBefore = cpuMsOf(pid) ?? NaN;
    const startedAt = performance.now();
    for (const batch of work) {
      const outcomes = await store.apply(aggregateBatch(batch, plan.stored), () => batch);
      const failed = outcomes.find((outcome) => outcome.error);
      if (failed) throw failed.error;
    }
    const elapsedMs = performance.now() - startedAt;
    const clientMs = processCpuMs() - clientBefore;
    const serverMs = (cpuMsOf(pid) ?? NaN) - serverBefore;
    const calls = [...counts.values()].reduce((a, b) => a + b, 0);
    return {
      calls,
      updates: counts.get('UpdateItemCommand') ?? 0,
      clientCpuMsPerCall: clientMs / calls,
      serverCpuMsPerCall: serverMs / calls,
      callsPerSec: (calls / elapsedMs) * 1000,
    };
  } finally {
    await stop();
  }
}

function dynalite(onDisk: boolean): Backend {
  return {
    name: onDisk ? 'dynaliteOnDisk' : 'dynaliteInMemory',
    label: onDisk ? 'dynalite on disk (as sluice local)' : 'dynalite in memory',
    async start() {
      const dataDir = onDisk ? fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-ddb-')) : undefined;
      const emulators = await startEmulatorProcess({ dataDir });
      const clients = createLocalClients(emulators.endpoints);
      return {
        client: clients.dynamodb,
        pid: emulators.pid,
        async stop() {
          destroyLocalClients(clients);
          await emulators.stop();
          if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  };
}

const dynamodbLocal: Backend = {
  name: 'dynamodbLocal',
  label: 'DynamoDB Local (-inMemory)',
  async start() {
    const emulator = await startDynamoDbLocal();
    const client = dynamoDbLocalClient(emulator.endpoint);
    return {
      client,
      pid: emulator.pid,
      async stop() {
        client.destroy();
        await emulator.stop();
      },
    };
  },
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { series: { type: 'string' }, rounds: { type: 'string' } } });
  const series = positiveNumber('--series', values.series, 2_000);
  const rounds = positiveNumber('--rounds', values.rounds, 4);
  const work = batches(series, rounds, Math.floor(Date.now() / 3_600_000) * 3_600_000);
  const backends = [dynalite(false), dynalite(true)];
  const missing = javaMissing();
  if (missing) console.log(`DynamoDB Local: skipped (${missing})`);
  else backends.push(dynamodbLocal);

  console.log(
    `${series} series × ${rounds} batches of ${EVENTS_PER_SERIES_PER_ROUND} events each, default windows; CPU per DynamoDB call`,
  );
  const figures: Record<string, Figures> = {};
  for (const backend of backends) {
    const m = await measure(backend, work);
    figures[backend.name] = {
      calls: m.calls,
      updates: m.updates,
      clientCpuMsPerCall: Number(m.clientCpuMsPerCall.toFixed(3)),
      serverCpuMsPerCall: Number(m.serverCpuMsPerCall.toFixed(3)),
      callsPerSec: Math.round(m.callsPerSec),
    };
    console.log(
      `  ${backend.label.padEnd(36)} ${m.calls} calls (${m.updates} UpdateItem): client ${m.clientCpuMsPerCall.toFixed(
        2,
      )} ms + emulator ${m.serverCpuMsPerCall.toFixed(2)} ms CPU per call; ${Math.round(m.callsPerSec)} calls/s`,
    );
  }
  recordResults({ localDynamodb: { ...figures, series, rounds } });
}

runBench(main);
