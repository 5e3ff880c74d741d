/**
 * `sluice local`: the whole pipeline on this machine, with a live dashboard, optional demo traffic,
 * and the replay contract (`--events FILE --once --out DIR`) used by tests and by users trying their
 * own data.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { durationMs, loadConfig, toSpeedConfig, type SluiceConfig } from '../contract/config';
import { TrafficGenerator } from '../local/demo-producer';
import { newSessionToken } from '../local/dashboard/access';
import { startDashboardServer, type DashboardServer } from '../local/dashboard/server';
import { PipelineDashboardSource } from '../local/dashboard/pipeline-source';
import { readReplayFile, type EventFileRecord } from '../local/event-file';
import { decodeRecordEvents } from '../core/record-packing';
import {
  ENDPOINT_SERVICES,
  externalEndpointsFromEnv,
  externalServices,
  type ExternalEndpoints,
} from '../local/external-endpoints';
import {
  EMULATOR_PLACEMENTS,
  LocalPipeline,
  type EmulatorPlacement,
  type PipelineLogEntry,
} from '../local/pipeline';
import {
  countRawRecords,
  readAggregates,
  readTables,
  toAlertLines,
  toQuarantineLines,
  writeReplayOutputs,
  type ReplaySummary,
} from '../local/replay-outputs';
import { UserError } from '../contract/user-error';
import type { SpeedRepairEvent } from '../lambdas/speed-repair/handler';
import { createLocalSpeedRepair, listedBatches, listGivenUp, repairSummary } from '../local/speed-repair';
import { UsageError } from './errors';
import { dayOption, durationOption, integerOption, numberOption } from './options';
import { ProgressBar, formatCount } from './progress';
import { RecordWriter } from './record-writer';
import { DEFAULT_STATE_DIR, findSession, removeSession, writeSession } from './session';
import { TrafficPump } from './traffic-pump';

export interface LocalOptions {
  readonly config?: string;
  readonly state: string;
  readonly keepState?: boolean;
  readonly port: number;
  readonly dashboard: boolean;
  readonly demo?: boolean;
  readonly rate: number;
  readonly sensors: number;
  readonly seed?: number;
  readonly batch: boolean;
  readonly batchEvery: number;
  readonly firehoseInterval?: number;
  readonly events?: string;
  readonly records?: string;
  readonly once?: boolean;
  readonly out?: string;
  readonly chaos?: number;
  readonly quiet?: boolean;
  readonly emulators: EmulatorPlacement;
}

export const DEFAULT_DASHBOARD_PORT = 4380;

export function localCommand(): Command {
  return new Command('local')
    .description(
      'Run the whole pipeline on this machine (no AWS account): emulators, the speed layer, Firehose, the batch job and a live dashboard',
    )
    .option(
      '-c, --config <file>',
      'Sluice config file (default: sluice.config.json when present, else the defaults)',
    )
    .option('--state <dir>', 'directory of all local state (the lake is <dir>/lake)', DEFAULT_STATE_DIR)
    .option(
      '--keep-state',
      'resume where the last run stopped: stream, table, checkpoints and lake (default: start empty)',
    )
    .option(
      '--port <n>',
      'dashboard port on 127.0.0.1 (0: any free port)',
      integerOption(0, 65_535),
      DEFAULT_DASHBOARD_PORT,
    )
    .option('--no-dashboard', 'do not serve the dashboard')
    .option(
      '--demo',
      'produce realistic sensor traffic (daily cycles, noise, anomalies, malformed and late events)',
    )
    .option('--rate <n>', 'demo events per second', numberOption(0.1, 100_000), 40)
    .option('--sensors <n>', 'demo sensors', integerOption(1, 100_000), 12)
    .option('--seed <n>', 'seed of the demo traffic (default: random)', integerOption(0, 2 ** 32 - 1))
    .addOption(
      new Option('--batch-every <duration>', 'time between batch job runs, e.g. 30s, 5m')
        .argParser(durationOption(5_000, 86_400_000))
        .default(120_000, '2m'),
    )
    .option('--no-batch', 'do not run the batch job on a schedule')
    .option(
      '--firehose-interval <duration>',
      'Firehose buffer interval (default: config firehose.bufferInterval)',
      durationOption(0, 900_000),
    )
    .option('--events <file>', 'replay an NDJSON event file: each line becomes one record')
    .option(
      '--records <file>',
      'replay raw Kinesis records: each line {"data": "<base64>", "partitionKey": "<key>"} (packed NDJSON or KPL payloads too)',
    )
    .option(
      '--once',
      'with --events or --records: exit once every line is processed, landed raw and batch-built',
    )
    .option(
      '--out <dir>',
      'write the replay outputs to this directory (with --once at the end, otherwise on Ctrl-C)',
    )
    .option(
      '--chaos <seed>',
      'seeded fault injection in the event source runner (outputs must not change)',
      integerOption(0, 2 ** 31 - 1),
    )
    .addOption(
      // in-process is for profiling or debugging everything as one process; it is slower, as the
      // emulators then share the pipeline's one thread.
      new Option(
        '--emulators <where>',
        'where the emulators run: child (a process of their own, another core) or in-process (one process to profile or debug; slower)',
      )
        .choices(EMULATOR_PLACEMENTS)
        .default('child'),
    )
    .option('-q, --quiet', 'print only errors and the final summary')
    .addHelpText(
      'after',
      `
Examples:
  npx sluice local --demo                                  dashboard with live demo traffic
  npx sluice local --events events.ndjson --once --out out  replay a file and write the outputs
  npx sluice local --events events.ndjson --once --out out --chaos 7   same, with injected faults
  npx sluice local --records records.ndjson --once --out out  replay raw (e.g. KPL-aggregated) records
  AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 npx sluice local --demo   DynamoDB Local instead of dynalite

AWS_ENDPOINT_URL (every service) and AWS_ENDPOINT_URL_<SERVICE> (KINESIS, DYNAMODB, SNS, SQS, S3; the
more specific wins) run a service elsewhere, e.g. LocalStack: its emulator is not started and its
resources are created there.`,
    )
    .action(async (options: LocalOptions) => runLocal(options));
}

function checkOptions(options: LocalOptions): void {
  if (options.events && options.records)
    throw new UsageError('--events and --records both name a file to replay; give one');
  if (options.once && !options.events && !options.records)
    throw new UsageError('--once needs --events FILE or --records FILE (what to replay)');
}

/** What the replayed file holds: its records and the events they pack (summary.json's `records`, `lines`). */
function replayInput(records: readonly EventFileRecord[] | undefined): { records: number; events: number } {
  let events = 0;
  for (const record of records ?? []) events += decodeRecordEvents(record.data, 0, 0).subRecords.length;
  return { records: records?.length ?? 0, events };
}

class LocalLog {
  private readonly stream: fs.WriteStream;

  constructor(
    file: string,
    private readonly quiet: boolean,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.stream = fs.createWriteStream(file, { flags: 'a' });
  }

  write = (entry: PipelineLogEntry): void => {
    if (entry.level === 'debug') return;
    this.stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
    if (entry.level === 'error' || (entry.level === 'warn' && !this.quiet)) {
      process.stderr.write(`sluice local: ${entry.level}: [${entry.component}] ${entry.message}\n`);
    }
  };

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}

async function startDashboard(
  pipeline: LocalPipeline,
  port: number,
  token: string,
  log: LocalLog,
): Promise<DashboardServer> {
  const options = {
    source: new PipelineDashboardSource(pipeline),
    onError: (error: unknown) =>
      log.write({ level: 'warn', component: 'pipeline', message: `dashboard: ${String(error)}` }),
    actions: {
      token,
      handlers: {
        backfill: async (body: unknown) => {
          const { days } = body as { days?: unknown };
          if (!Array.isArray(days) || days.some((d) => typeof d !== 'string'))
            throw new UserError('days must be a list of YYYY-MM-DD');
          const checked = days.map((d: string) => dayOption(d));
          return { builds: await pipeline.batch.run(checked) };
        },
        'dead-letters': async () => listedBatches(await listGivenUp(pipeline.clients, pipeline.resources)),
        repair: async (body: unknown) => {
          const run = createLocalSpeedRepair({
            clients: pipeline.clients,
            resources: pipeline.resources,
            config: pipeline.config,
          });
          try {
            return repairSummary(await run(body as SpeedRepairEvent));
          } catch (error) {
            if (error instanceof RangeError) throw new UserError(error.message);
            throw error;
          }
        },
        query: async (body: unknown) => {
          const { sql } = body as { sql?: unknown };
          if (typeof sql !== 'string' || sql.trim() === '')
            throw new UserError('sql must be a non-empty string');
          await pipeline.quarantine.sync();
          return { rows: await pipeline.batch.query(sql) };
        },
      },
    },
  };
  try {
    return await startDashboardServer({ ...options, port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw error;
    log.write({ level: 'info', component: 'pipeline', message: `port ${port} is taken; using a free port` });
    return startDashboardServer({ ...options, port: 0 });
  }
}

function printBanner(
  pipeline: LocalPipeline,
  dashboard: DashboardServer | undefined,
  config: SluiceConfig,
): void {
  const { resources, endpoints } = pipeline;
  const external = new Set(endpoints.external ?? []);
  const mark = (...services: Array<keyof ExternalEndpoints>): string =>
    services.some((service) => external.has(service)) ? ' (external)' : '';
  const oneForSnsSqsS3 = new Set([endpoints.sns, endpoints.sqs, endpoints.s3]).size === 1;
  const lines = [
    `Sluice local is running (stage ${config.stage}, ${resources.shardCount} shards${pipeline.chaos ? `, chaos seed ${pipeline.chaos.seed}` : ''})`,
    ...(dashboard ? [`  dashboard  ${dashboard.url}`] : []),
    `  kinesis    ${endpoints.kinesis}${mark('kinesis')}  stream ${resources.streamName}`,
    `  dynamodb   ${endpoints.dynamodb}${mark('dynamodb')}  table ${resources.tableName}`,
    ...(oneForSnsSqsS3
      ? [`  sns/sqs/s3 ${endpoints.sns}${mark('sns', 'sqs', 's3')}  bucket ${resources.lakeBucketName}`]
      : [
          `  sns        ${endpoints.sns}${mark('sns')}  topic ${resources.names.alertsTopicName}`,
          `  sqs        ${endpoints.sqs}${mark('sqs')}`,
          `  s3         ${endpoints.s3}${mark('s3')}  bucket ${resources.lakeBucketName}`,
        ]),
    `  lake       ${pipeline.lakeDir}`,
    `Try: npx sluice produce --local --rate 200 --duration 30s   ·   npx sluice query --local "SELECT * FROM sensor_stats_hourly LIMIT 5"`,
    'Press Ctrl-C to stop.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Puts every line of the event file, in order; returns where each record went, as `shard\nsequence` → line. */
async function replay(
  pipeline: LocalPipeline,
  records: readonly EventFileRecord[],
  quiet: boolean,
): Promise<Map<string, number>> {
  const writer = new RecordWriter({
    kinesis: pipeline.clients.kinesis,
    streamName: pipeline.resources.streamName,
  });
  const bar = quiet
    ? undefined
    : new ProgressBar({ label: 'replaying', total: records.length, unit: 'records' });
  const results = await writer.putAll(records, (done) => bar?.update(done));
  bar?.finish(`replayed ${formatCount(records.length)} records into ${pipeline.resources.streamName}`);
  const lineOf = new Map<string, number>();
  results.forEach((r, i) => lineOf.set(`${r.shardId}\n${r.sequenceNumber}`, records[i].line));
  return lineOf;
}

/** Settles the pipeline, runs the batch job for every event date seen, and writes the outputs. */
async function writeOutputs(
  pipeline: LocalPipeline,
  outDir: string,
  input: { readonly records: number; readonly events: number },
  lineOf: ReadonlyMap<string, number>,
  quiet: boolean,
): Promise<ReplaySummary> {
  const say = (text: string): void => {
    if (!quiet) process.stderr.write(`${text}\n`);
  };
  say('waiting for the speed layer, Firehose and the alerts topic…');
  await pipeline.settle();
  const days = pipeline.accounting.eventDates;
  if (days.length > 0) {
    say(`exporting the speed layer's hourly windows and running the batch job for ${days.join(', ')}…`);
    // Settled, and nothing is put any more (a replay is over, the demo producer stopped): the
    // batch run sees every record the speed layer has, so every hour is compared.
    await pipeline.batch.run(days, { allLanded: true });
  }
  const aggregates = await readAggregates(
    pipeline.clients.dynamodb,
    pipeline.resources.tableName,
    toSpeedConfig(pipeline.config).windows,
  );
  const alerts = toAlertLines(pipeline.alerts.received);
  const quarantine = toQuarantineLines(await pipeline.quarantine.records(), (shard, sequence) =>
    lineOf.get(`${shard}\n${sequence}`),
  );
  const tables = await readTables((sql) => pipeline.batch.query(sql));
  const totals = pipeline.accounting.totals;
  const summary: ReplaySummary = {
    lines: input.events,
    records: input.records,
    ingested: totals.ingested,
    valid: totals.valid,
    invalid: totals.invalid,
    late: totals.late,
    rawLanded: await countRawRecords(pipeline.lakeDir),
    itemsWritten: aggregates.length,
    alerts: alerts.length,
    drift: days.length > 0 ? pipeline.reconciliation.summary() : null,
  };
  await writeReplayOutputs(outDir, { aggregates, alerts, quarantine, tables, summary });
  return summary;
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      // A second Ctrl-C while shutting down stops at once.
      process.once('SIGINT', () => {
        process.stderr.write('sluice local: stopped without cleaning up\n');
        process.exit(130);
      });
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

/** The line that says which services run elsewhere, or undefined when all are emulated. */
export function externalServicesLine(external: ExternalEndpoints): string | undefined {
  const services = externalServices(external);
  if (services.length === 0) return undefined;
  const emulated = ENDPOINT_SERVICES.filter((service) => external[service] === undefined);
  return `sluice local: external (AWS_ENDPOINT_URL*, not started here): ${services
    .map((service) => `${service} ${external[service]}`)
    .join(', ')}; emulated: ${emulated.length > 0 ? emulated.join(', ') : 'none'}`;
}

export async function runLocal(options: LocalOptions): Promise<void> {
  checkOptions(options);
  const config = loadConfig(options.config);
  const externalEndpoints = externalEndpointsFromEnv();
  const externalLine = externalServicesLine(externalEndpoints);
  if (externalLine && !options.quiet) process.stderr.write(`${externalLine}\n`);
  const stateDir = path.resolve(options.state);
  const running = findSession(stateDir);
  if (running && running.pid !== process.pid) {
    throw new UserError(
      `a local Sluice is already running (pid ${running.pid}, dashboard ${running.dashboardUrl}) with state directory ${stateDir}; stop it or pass another --state`,
    );
  }
  const records = options.events
    ? readReplayFile(options.events, '--events')
    : options.records
      ? readReplayFile(options.records, '--records')
      : undefined;
  const outDir = options.out ? path.resolve(options.out) : undefined;
  const log = new LocalLog(path.join(stateDir, 'sluice.log'), options.quiet === true);
  const pipeline = await LocalPipeline.start({
    config,
    stateDir,
    keepState: options.keepState,
    chaosSeed: options.chaos,
    emulatorPlacement: options.emulators,
    externalEndpoints,
    batchIntervalMs: options.once || !options.batch ? undefined : options.batchEvery,
    // The first run waits for Firehose's first delivery.
    firstBatchDelayMs: Math.min(
      options.batchEvery,
      (options.firehoseInterval ?? durationMs(config.firehose.bufferInterval)) + 15_000,
    ),
    firehoseBufferIntervalMs: options.firehoseInterval,
    onLog: log.write,
  });
  let dashboard: DashboardServer | undefined;
  let pump: TrafficPump | undefined;
  try {
    if (!options.once) {
      const token = newSessionToken();
      if (options.dashboard) dashboard = await startDashboard(pipeline, options.port, token, log);
      writeSession(stateDir, {
        pid: process.pid,
        startedAt: new Date().toISOString(),
        endpoints: pipeline.endpoints,
        streamName: pipeline.resources.streamName,
        tableName: pipeline.resources.tableName,
        lakeBucketName: pipeline.resources.lakeBucketName,
        lakeDir: pipeline.lakeDir,
        dashboardUrl: dashboard?.url ?? '',
        token,
      });
      printBanner(pipeline, dashboard, config);
    }
    const signal = options.once ? undefined : waitForSignal();
    const lineOf = records
      ? await replay(pipeline, records, options.quiet === true)
      : new Map<string, number>();

    if (options.once) {
      const summary = await writeOutputs(
        pipeline,
        outDir ?? path.join(stateDir, 'out'),
        replayInput(records),
        lineOf,
        options.quiet === true,
      );
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return;
    }

    if (options.demo) {
      pump = new TrafficPump({
        writer: new RecordWriter({
          kinesis: pipeline.clients.kinesis,
          streamName: pipeline.resources.streamName,
        }),
        generator: new TrafficGenerator({
          seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
          sensors: options.sensors,
          idPrefix: `demo-${Date.now().toString(36)}`,
          latenessMs: durationMs(config.lateness),
        }),
        ratePerSecond: options.rate,
      }).start();
      pump.done.catch((error: unknown) =>
        log.write({
          level: 'error',
          component: 'pipeline',
          message: `demo producer stopped: ${String(error)}`,
        }),
      );
      process.stdout.write(`Demo traffic: ${options.rate} events/s from ${options.sensors} sensors.\n`);
    }

    await signal;
    process.stderr.write('\nsluice local: stopping…\n');
    if (pump) await pump.stop().catch(() => undefined);
    if (outDir) {
      const summary = await writeOutputs(
        pipeline,
        outDir,
        replayInput(records),
        lineOf,
        options.quiet === true,
      );
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    }
  } finally {
    if (pump) await pump.stop().catch(() => undefined);
    log.write({
      level: 'info',
      component: 'pipeline',
      message: 'final counters',
      details: { runner: pipeline.runner.metrics().counters, chaos: pipeline.chaos?.counters ?? null },
    });
    removeSession(stateDir);
    if (dashboard) await dashboard.close();
    await pipeline.stop();
    await log.close();
  }
}
