/**
 * `sluice produce`: realistic sensor traffic at a chosen rate, into the deployed stream or the
 * running local mode (`--local`), or into an NDJSON file (`--out`) to replay later.
 */
import * as fs from 'node:fs';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { Command, Option } from 'commander';
import { durationMs, loadConfig, type SluiceConfig } from '../contract/config';
import {
  DEFAULT_PACKED_RECORD_BYTES,
  MAX_PACKED_BYTES,
  PACK_MODES,
  type PackMode,
  type PackOptions,
} from '../core/record-packing';
import { generateEventLines, TrafficGenerator } from '../local/demo-producer';
import { createLocalClients, destroyLocalClients } from '../local/endpoints';
import { UsageError } from './errors';
import { durationOption, integerOption, numberOption, rateOption } from './options';
import { formatCount, ProgressBar } from './progress';
import { RecordWriter } from './record-writer';
import { requireSession } from './session';
import { readStackOutputs, resolveSetting, targetOptions, type TargetOptions } from './targets';
import { TrafficPump, type PumpStats } from './traffic-pump';

export interface ProduceOptions extends TargetOptions {
  readonly rate: number;
  readonly sensors: number;
  readonly duration: number;
  readonly count?: number;
  readonly anomalyRate: number;
  readonly invalidRate: number;
  readonly lateRate: number;
  readonly duplicateRate: number;
  readonly seed?: number;
  readonly stream?: string;
  readonly out?: string;
  readonly concurrency: number;
  readonly pack: PackMode;
  readonly recordBytes: number;
  readonly json?: boolean;
  readonly progress: boolean;
}

export function produceCommand(): Command {
  const command = new Command('produce')
    .description(
      'Send realistic sensor events (daily cycles, noise, anomalies, malformed and late records) to the stream',
    )
    .option('--rate <n>', 'events per second', numberOption(0.1, 1_000_000), 100)
    .option('--sensors <n>', 'number of sensors', integerOption(1, 100_000), 20)
    .addOption(
      new Option('--duration <duration>', 'how long to produce, e.g. 30s, 5m')
        .argParser(durationOption(1_000, 7 * 86_400_000))
        .default(60_000, '60s'),
    )
    .option(
      '--count <n>',
      'send exactly this many events (instead of --duration)',
      integerOption(1, 100_000_000),
    )
    .option('--anomaly-rate <p>', 'share of anomalous readings (e.g. 0.002 or 0.2%)', rateOption, 0.002)
    .option('--invalid-rate <p>', 'share of malformed records', rateOption, 0.01)
    .option(
      '--late-rate <p>',
      'share of events older than the lateness (speed layer skips them)',
      rateOption,
      0,
    )
    .option('--duplicate-rate <p>', 'share of records repeating an earlier event id', rateOption, 0)
    .option('--seed <n>', 'seed of the generator (default: random)', integerOption(0, 2 ** 32 - 1))
    .option(
      '--stream <name>',
      'Kinesis stream name on AWS (default: $SLUICE_STREAM_NAME or the stack outputs)',
    )
    .option(
      '--out <file>',
      'write the events to an NDJSON file instead of sending them (for `sluice local --events`)',
    )
    .option('--concurrency <n>', 'PutRecords calls in flight', integerOption(1, 64), 4)
    .addOption(
      new Option(
        '--pack <mode>',
        'how events are packed into Kinesis records: ndjson lines, KPL aggregates (needs config stream.kplAggregation) or none (one event per record)',
      )
        .choices(PACK_MODES)
        .default('ndjson'),
    )
    .option(
      '--record-bytes <n>',
      'largest packed record in bytes (Firehose bills every record as at least 5 KiB)',
      integerOption(1, MAX_PACKED_BYTES),
      DEFAULT_PACKED_RECORD_BYTES,
    )
    .option('--json', 'print the final counts as JSON')
    .option('--no-progress', 'no progress bar');
  for (const option of targetOptions()) command.addOption(option);
  return command
    .addHelpText(
      'after',
      `
Examples:
  npx sluice produce --local --rate 2000 --duration 60s
  npx sluice produce --stream sluice-dev-events --rate 200 --sensors 50
  npx sluice produce --local --rate 1000 --pack kpl --record-bytes 51200
  npx sluice produce --count 10000 --out events.ndjson`,
    )
    .action(async (options: ProduceOptions) => runProduce(options));
}

function summaryLine(stats: PumpStats, retried: number): string {
  const k = stats.byKind;
  const seconds = stats.elapsedMs / 1000;
  const valid = k.normal + k.anomaly + k.duplicate;
  return (
    `sent ${formatCount(stats.sent)} events in ${formatCount(stats.records)} records in ${seconds.toFixed(1)}s (${formatCount(stats.sent / Math.max(seconds, 0.001))}/s): ` +
    `${formatCount(valid)} valid (${formatCount(k.anomaly)} anomalies, ${formatCount(k.duplicate)} duplicates), ` +
    `${formatCount(k.malformed)} malformed, ${formatCount(k.late)} late; ${formatCount(retried)} entries retried`
  );
}

function writeFile(options: ProduceOptions, seed: number, lateness: number): void {
  const count = options.count ?? Math.round((options.rate * options.duration) / 1000);
  const lines = generateEventLines({
    count,
    nowMs: Date.now(),
    spanMs: options.duration,
    seed,
    sensors: options.sensors,
    anomalyRate: options.anomalyRate,
    invalidRate: options.invalidRate,
    lateRate: options.lateRate,
    duplicateRate: options.duplicateRate,
    latenessMs: lateness,
    idPrefix: `ev-${seed.toString(36)}`,
  });
  fs.writeFileSync(options.out as string, `${lines.join('\n')}\n`);
  process.stderr.write(`wrote ${formatCount(lines.length)} events to ${options.out}\n`);
}

/**
 * The packing the options ask for, checked against the config: KPL only when the config says
 * producers aggregate (it keeps the parallelization factor at 1); above factor 1, NDJSON records
 * carry one partition key each, so lanes stay per sensor (docs/packed-records.md).
 */
export function packingOf(
  options: Pick<ProduceOptions, 'pack' | 'recordBytes'>,
  config: SluiceConfig,
): PackOptions {
  if (options.pack === 'kpl' && !config.stream.kplAggregation)
    throw new UsageError(
      '--pack kpl: the config has stream.kplAggregation false; set it true (it needs parallelizationFactor 1 on both processors) or use --pack ndjson',
    );
  const perPartitionKey =
    config.processor.parallelizationFactor > 1 || config.alertProcessor.parallelizationFactor > 1;
  return { mode: options.pack, maxRecordBytes: options.recordBytes, perPartitionKey };
}

export async function runProduce(options: ProduceOptions): Promise<void> {
  const config = loadConfig(options.config);
  const packing = packingOf(options, config);
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  if (options.invalidRate + options.lateRate + options.duplicateRate > 1) {
    throw new UsageError('--invalid-rate + --late-rate + --duplicate-rate must not exceed 1');
  }
  if (options.out) {
    if (options.local || options.stream)
      throw new UsageError('--out writes a file; it cannot be combined with --local or --stream');
    writeFile(options, seed, durationMs(config.lateness));
    return;
  }

  let kinesis: KinesisClient;
  let streamName: string;
  let release = (): void => undefined;
  if (options.local) {
    const session = requireSession(options.state);
    const clients = createLocalClients(session.endpoints, { requestTimeoutMs: 120_000 });
    kinesis = clients.kinesis;
    streamName = session.streamName;
    release = () => destroyLocalClients(clients);
  } else {
    streamName = resolveSetting(
      {
        flag: '--stream',
        value: options.stream,
        env: 'SLUICE_STREAM_NAME',
        outputKeys: ['StreamName', /StreamName$/],
      },
      readStackOutputs(options),
    );
    kinesis = new KinesisClient(options.region ? { region: options.region } : {});
    release = () => kinesis.destroy();
  }

  const writer = new RecordWriter({ kinesis, streamName });
  const total = options.count;
  const expected = total ?? Math.floor((options.rate * options.duration) / 1000);
  const bar =
    options.progress && !options.json
      ? new ProgressBar({ label: 'producing', total: expected, unit: 'events' })
      : undefined;
  const pump = new TrafficPump({
    writer,
    generator: new TrafficGenerator({
      seed,
      sensors: options.sensors,
      anomalyRate: options.anomalyRate,
      invalidRate: options.invalidRate,
      lateRate: options.lateRate,
      duplicateRate: options.duplicateRate,
      latenessMs: durationMs(config.lateness),
      idPrefix: `p${Date.now().toString(36)}-${seed.toString(36)}`,
    }),
    ratePerSecond: options.rate,
    packing,
    total,
    durationMs: total === undefined ? options.duration : undefined,
    maxInFlight: options.concurrency,
    onProgress: (stats) =>
      bar?.update(stats.sent, stats.backlog > options.rate ? `behind by ${formatCount(stats.backlog)}` : ''),
  });
  const interrupted = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  try {
    pump.start();
    await Promise.race([pump.done, interrupted.then(() => pump.stop())]);
    const stats = await pump.done;
    bar?.finish();
    const result = {
      streamName,
      ...stats,
      calls: writer.stats.calls,
      retriedEntries: writer.stats.retriedEntries,
    };
    if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stderr.write(`${summaryLine(stats, writer.stats.retriedEntries)}\n`);
  } finally {
    bar?.finish();
    release();
  }
}
