/**
 * What the local-mode benchmark (bench/local.bench.ts) and the soak (bench/soak.ts) share: the full
 * local pipeline (local/pipeline.ts) with its emulators in a child process (as `sluice local` runs
 * them) or in this process, the demo producer (`sluice produce`'s traffic pump) sending into it at a
 * steady rate, and books kept from the stream processor's results: which records were applied,
 * when, and how long after they arrived in the stream.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TrafficPump } from '../cli/traffic-pump';
import { RecordWriter } from '../cli/record-writer';
import { DEFAULT_CONFIG, durationMs, type SluiceConfig } from '../contract/config';
import type { ChaosOptions } from '../local/chaos/options';
import { TrafficGenerator, type TrafficOptions } from '../local/demo-producer';
import { LocalPipeline, type EmulatorPlacement, type PipelineLogEntry } from '../local/pipeline';
import { ArrivalLog } from './alert-latency';
import { CommitTracker } from './commit-tracker';

export interface HarnessOptions {
  /** @default DEFAULT_CONFIG */
  readonly config?: SluiceConfig;
  /** Where the pipeline runs the emulators. @default 'child' (as `sluice local` runs them) */
  readonly emulators?: EmulatorPlacement;
  /** Seed of the runner's fault injection. @default - no faults */
  readonly chaosSeed?: number;
  /** Its fault rates. @default - local/chaos/options.ts defaults */
  readonly chaosRates?: Omit<ChaosOptions, 'seed'>;
  /** @default - no scheduled batch runs */
  readonly batchIntervalMs?: number;
  /** @default - config `firehose.bufferInterval` */
  readonly firehoseBufferIntervalMs?: number;
  /** @default - warnings and errors to stderr */
  readonly onLog?: (entry: PipelineLogEntry) => void;
}

/** Producer settings: the demo traffic of `sluice produce`, at `ratePerSecond`. */
export interface ProducerOptions extends Omit<TrafficOptions, 'latenessMs' | 'idPrefix'> {
  readonly ratePerSecond: number;
  /** @default - until `stop()` */
  readonly durationMs?: number;
}

/** A sample of one process's memory, in bytes. */
export interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export const MIB = 1024 * 1024;

/** This process's memory. */
export function processMemory(): MemorySample {
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external, arrayBuffers };
}

/** CPU time (user + system) this process has used, ms. */
export function processCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Linux reports CPU times in /proc in clock ticks of 1/100 s. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user + system) another process has used, ms, from /proc (Linux); undefined where that cannot be read. */
export function cpuMsOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (in parentheses, which may hold spaces): utime is the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Resident set size of another process from /proc (Linux); undefined where that cannot be read. */
export function residentBytesOf(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function defaultLog(entry: PipelineLogEntry): void {
  if (entry.level === 'warn' || entry.level === 'error') {
    process.stderr.write(`[${entry.level}] ${entry.component}: ${entry.message}\n`);
  }
}

/** The full local pipeline with its emulators, a producer, and the commit books. */
export class LocalHarness {
  private readonly pumps: TrafficPump[] = [];
  private producerCount = 0;

  private constructor(
    readonly pipeline: LocalPipeline,
    /** Records the speed layer applied, and their end-to-end latencies when recording. */
    readonly commits: CommitTracker,
    /** Arrival times of the records applied when recording, by eventId: what value alerts are timed from. */
    readonly arrivals: ArrivalLog,
    readonly stateDir: string,
  ) {}

  static async start(options: HarnessOptions): Promise<LocalHarness> {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-'));
    const commits = new CommitTracker();
    const arrivals = new ArrivalLog();
    let pipeline: LocalPipeline;
    try {
      pipeline = await LocalPipeline.start({
        config: options.config ?? DEFAULT_CONFIG,
        stateDir,
        chaosSeed: options.chaosSeed,
        chaosRates: options.chaosRates,
        batchIntervalMs: options.batchIntervalMs,
        firehoseBufferIntervalMs: options.firehoseBufferIntervalMs,
        emulatorPlacement: options.emulators,
        onLog: (entry) => {
          commits.noteLog(entry);
          (options.onLog ?? defaultLog)(entry);
        },
        onBatchResult: (result, event) => {
          commits.observe(result, event);
          arrivals.observe(result, event);
        },
      });
    } catch (error) {
      fs.rmSync(stateDir, { recursive: true, force: true });
      throw error;
    }
    return new LocalHarness(pipeline, commits, arrivals, stateDir);
  }

  /** The emulators' process id when they run in a child process. */
  get emulatorPid(): number | undefined {
    return this.pipeline.emulatorPid;
  }

  /** Starts sending demo traffic into the stream at a steady rate. */
  produce(options: ProducerOptions): TrafficPump {
    const { ratePerSecond, durationMs: duration, ...traffic } = options;
    const pump = new TrafficPump({
      writer: new RecordWriter({
        kinesis: this.pipeline.clients.kinesis,
        streamName: this.pipeline.resources.streamName,
      }),
      generator: new TrafficGenerator({
        ...traffic,
        latenessMs: durationMs(this.pipeline.config.lateness),
        idPrefix: `bench-${Date.now().toString(36)}-${this.producerCount++}`,
      }),
      ratePerSecond,
      durationMs: duration,
      // Enough calls in flight that one slow PutRecords does not hold the rate back.
      maxInFlight: 8,
    });
    this.pumps.push(pump);
    return pump.start();
  }

  /** Stops every producer and the pipeline, then the emulators, and removes the state directory. */
  async stop(): Promise<void> {
    await Promise.all(this.pumps.map((pump) => pump.stop().catch(() => undefined)));
    await this.pipeline.stop();
    fs.rmSync(this.stateDir, { recursive: true, force: true });
  }
}
