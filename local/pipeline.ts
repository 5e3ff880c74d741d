/**
 * The whole Sluice architecture on one machine, no AWS account: emulators on 127.0.0.1 (in a child
 * process by default), the resources the CDK stack would create (from the same config), the
 * unchanged stream-processor handler behind a local event source runner per stream processor the
 * stack would deploy (the aggregate processor, and the alert processor beside it when the config
 * runs one: `contract/speed-processors.ts`; each with its own settings and checkpoints), the local Firehose
 * landing raw data in the lake directory, the alerts read back from the topic's queue, and the
 * batch job on a schedule.
 *
 *   const pipeline = await LocalPipeline.start({ config, stateDir: '.sluice' });
 *   ... put records into pipeline.resources.streamName with pipeline.clients.kinesis ...
 *   await pipeline.settle();   // everything put so far is processed, landed and alerted
 *   await pipeline.stop();
 *
 * State lives in the state directory: the lake (`lake/`), kinesalite's and dynalite's data
 * (`emulators/`: the stream's records, the speed-layer table) and the checkpoints of the event
 * source runner and the Firehose (`checkpoints/`). A pipeline started with `keepState` on a state
 * directory resumes where the last one stopped, even one that was killed: the runner after its last
 * saved checkpoint (records done since are re-delivered and found already applied), the Firehose
 * after the last record it landed. fauxqs (SNS, SQS, S3) keeps nothing: the topic, queues and bucket
 * are created again; quarantine objects survive as their copies in the lake (mirrored every 5 s and
 * on stop); alerts published but not yet read from the queue are lost with the process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { durationMs, toSpeedConfig, type SluiceConfig } from '../contract/config';
import { processorService } from '../contract/metric-names';
import { speedProcessors, type SpeedProcessorPlan } from '../contract/speed-processors';
import { AlertCollector } from './alert-collector';
import { BatchScheduler } from './batch-scheduler';
import { Chaos } from './chaos/chaos';
import { applyChaos } from './chaos/middleware';
import type { ChaosOptions } from './chaos/options';
import { createLocalClients, destroyLocalClients, type LocalClients, type LocalEndpoints } from './endpoints';
import { EventSourceRunner } from './event-source/runner';
import { eventSourceSettingsFromConfig } from './event-source/settings';
import type { RunnerLogEntry } from './event-source/types';
import { startEmulatorProcess, type EmulatorProcess } from './emulators/process';
import {
  emulatorsNeeded,
  startEmulators,
  type EmulatorPorts,
  type RunningEmulators,
} from './emulators/start';
import type { ExternalEndpoints } from './external-endpoints';
import { FileCheckpointStore } from './event-source/checkpoint-store';
import { LocalFirehose } from './firehose';
import { QuarantineMirror } from './quarantine-mirror';
import { LocalSpeedExport } from './speed-export';
import { LocalReconciliation, settledBeforeOf } from './reconcile';
import { createLocalResources, type LocalResources } from './resources';
import { SpeedAccounting } from './speed-accounting';
import type { StreamProcessorDeps } from '../lambdas/stream-processor/handler';
import { createLocalStreamProcessor } from './local-handler';

export interface LocalPipelineOptions {
  readonly config: SluiceConfig;
  /** Directory of all local state; the lake is `<stateDir>/lake`. */
  readonly stateDir: string;
  /**
   * Keep the state of earlier runs (lake, emulator data, checkpoints) and resume from it, instead of
   * starting empty. @default false
   */
  readonly keepState?: boolean;
  /**
   * Keep kinesalite's and dynalite's data on disk in `<stateDir>/emulators` (when the pipeline starts
   * the emulators itself), so that `keepState` can resume from it; false keeps it in memory.
   * @default true
   */
  readonly persistEmulators?: boolean;
  /** Seed of the event source runner's fault injection (local/chaos/). @default - no faults */
  readonly chaosSeed?: number;
  /** Fault rates of that injection, with `chaosSeed`. @default - local/chaos/options.ts defaults */
  readonly chaosRates?: Omit<ChaosOptions, 'seed'>;
  /** Time between scheduled batch runs. @default - no schedule (runs only on request) */
  readonly batchIntervalMs?: number;
  /** Delay of the first scheduled batch run. @default batchIntervalMs */
  readonly firstBatchDelayMs?: number;
  /** Firehose buffer interval. @default - config `firehose.bufferInterval` */
  readonly firehoseBufferIntervalMs?: number;
  /** Fixed emulator ports. @default - ephemeral ports */
  readonly emulatorPorts?: EmulatorPorts;
  /**
   * Where the pipeline starts the emulators. `'child'`: a child process of their own
   * (local/emulators/process.ts), so that their work (about half of local mode's CPU, mostly
   * dynalite's UpdateItem and kinesalite's GetRecords) runs on another core than the runner and the
   * handler. `'in-process'`: in this process, for when one process is wanted: a profiler or
   * debugger attached to it then sees the emulators' work too (slower: everything shares one thread).
   * Ignored when `emulators` is given.
   * @default 'child'
   */
  readonly emulatorPlacement?: EmulatorPlacement;
  /**
   * Services that run elsewhere (LocalStack, DynamoDB Local, ...; `sluice local` reads them from
   * `AWS_ENDPOINT_URL*`): their emulators are not started, and the pipeline creates its resources
   * there, reusing those that exist (their contents too: `keepState` does not empty them).
   * Ignored when `emulators` is given.
   * @default - none: every service is emulated
   */
  readonly externalEndpoints?: ExternalEndpoints;
  /**
   * Emulators already running (e.g. a test's own emulator process); the pipeline stops them when it
   * stops. @default - started by the pipeline, see `emulatorPlacement`
   */
  readonly emulators?: RunningEmulators;
  /** Structured log lines (runner events, background errors). @default - dropped */
  readonly onLog?: (entry: PipelineLogEntry) => void;
  /**
   * Told after every invocation of the aggregate processor (which sees every record, as the
   * accounting does), once its writes are done, with its result and event (after the pipeline's own
   * accounting); benchmarks time records with it. @default - nothing
   */
  readonly onBatchResult?: StreamProcessorDeps['onResult'];
}

/** Where the pipeline can run the emulators: in a child process (the default) or in its own process. */
export const EMULATOR_PLACEMENTS = ['child', 'in-process'] as const;
export type EmulatorPlacement = (typeof EMULATOR_PLACEMENTS)[number];

export interface PipelineLogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly component: 'runner' | 'firehose' | 'alerts' | 'batch' | 'quarantine' | 'pipeline';
  readonly message: string;
  readonly details?: unknown;
}

/** Where the lake of a state directory is. */
export function lakeDirOf(stateDir: string): string {
  return path.join(stateDir, 'lake');
}

/** Starts the emulators where `options.emulatorPlacement` says, their data under `emulatorDir` unless in memory. */
function startOwnEmulators(
  options: LocalPipelineOptions,
  emulatorDir: string,
  log: (entry: PipelineLogEntry) => void,
): Promise<RunningEmulators> {
  const settings = {
    ports: options.emulatorPorts,
    dataDir: options.persistEmulators === false ? undefined : emulatorDir,
    external: options.externalEndpoints,
  };
  // With every service external there is nothing to run: no process for it either.
  if (options.emulatorPlacement === 'in-process' || emulatorsNeeded(options.externalEndpoints).length === 0)
    return startEmulators(settings);
  return startEmulatorProcess({
    ...settings,
    onUnexpectedExit: (error) =>
      log({
        level: 'error',
        component: 'pipeline',
        message: `${error.message}; the pipeline cannot go on without its emulators: stop it and start it again (with --keep-state to resume)`,
      }),
  });
}

/**
 * One running part of the pipeline and how to stop it. The pipeline keeps its parts in start order
 * and stops them in reverse: on `stop()`, and when a later part fails to start.
 */
interface Component {
  readonly name: string;
  stop(): Promise<unknown> | void;
}

/** Stops `components` in reverse start order, one after the other; a failure is reported and the rest still stop. */
async function stopInReverse(
  components: readonly Component[],
  onError: (component: string, error: unknown) => void,
): Promise<void> {
  for (const component of [...components].reverse()) {
    try {
      await component.stop();
    } catch (error) {
      onError(component.name, error);
    }
  }
}

/** What a started pipeline is made of: its public parts, and what only it uses. */
type LocalPipelineParts = Pick<
  LocalPipeline,
  | 'config'
  | 'stateDir'
  | 'lakeDir'
  | 'clients'
  | 'resources'
  | 'runner'
  | 'alertRunner'
  | 'firehose'
  | 'alerts'
  | 'quarantine'
  | 'batch'
  | 'accounting'
  | 'reconciliation'
  | 'speedExport'
  | 'chaos'
> & {
  readonly emulators: RunningEmulators;
  readonly log: (entry: PipelineLogEntry) => void;
  /** The running parts, in start order. */
  readonly components: readonly Component[];
};

export class LocalPipeline {
  private stopping: Promise<void> | undefined;
  readonly config: SluiceConfig;
  readonly stateDir: string;
  readonly lakeDir: string;
  private readonly emulators: RunningEmulators;
  /** Clients for everything outside the handler (the handler has its own, with chaos when asked). */
  readonly clients: LocalClients;
  readonly resources: LocalResources;
  /** The aggregate processor's event source runner (every rule when there is no alert processor). */
  readonly runner: EventSourceRunner;
  /** The alert processor's runner, on the same stream, when the config runs one. */
  readonly alertRunner: EventSourceRunner | undefined;
  readonly firehose: LocalFirehose;
  readonly alerts: AlertCollector;
  readonly quarantine: QuarantineMirror;
  readonly batch: BatchScheduler;
  readonly accounting: SpeedAccounting;
  /** Speed-vs-batch drift, measured after every batch run. */
  readonly reconciliation: LocalReconciliation;
  /** The speed layer's hourly windows copied to the lake (`speed_hourly`) before every batch run. */
  readonly speedExport: LocalSpeedExport;
  readonly chaos: Chaos | undefined;
  private readonly log: (entry: PipelineLogEntry) => void;
  /** The running parts, in start order. */
  private readonly components: readonly Component[];

  private constructor(parts: LocalPipelineParts) {
    this.config = parts.config;
    this.stateDir = parts.stateDir;
    this.lakeDir = parts.lakeDir;
    this.emulators = parts.emulators;
    this.clients = parts.clients;
    this.resources = parts.resources;
    this.runner = parts.runner;
    this.alertRunner = parts.alertRunner;
    this.firehose = parts.firehose;
    this.alerts = parts.alerts;
    this.quarantine = parts.quarantine;
    this.batch = parts.batch;
    this.accounting = parts.accounting;
    this.reconciliation = parts.reconciliation;
    this.speedExport = parts.speedExport;
    this.chaos = parts.chaos;
    this.log = parts.log;
    this.components = parts.components;
  }

  get endpoints(): LocalEndpoints {
    return this.emulators.endpoints;
  }

  /** The emulators' process id when they run in a process of their own. */
  get emulatorPid(): number | undefined {
    const { pid } = this.emulators as Partial<EmulatorProcess>;
    return typeof pid === 'number' ? pid : undefined;
  }

  static async start(options: LocalPipelineOptions): Promise<LocalPipeline> {
    const log = options.onLog ?? (() => undefined);
    const stateDir = path.resolve(options.stateDir);
    const lakeDir = lakeDirOf(stateDir);
    const emulatorDir = path.join(stateDir, 'emulators');
    const checkpointDir = path.join(stateDir, 'checkpoints');
    if (!options.keepState) {
      for (const dir of [lakeDir, emulatorDir, checkpointDir])
        fs.rmSync(dir, { recursive: true, force: true });
    }
    const checkpointStore = new FileCheckpointStore({ dir: checkpointDir });
    fs.mkdirSync(lakeDir, { recursive: true });

    const config = options.config;
    const speedConfig = toSpeedConfig(config);
    const emulators = options.emulators ?? (await startOwnEmulators(options, emulatorDir, log));
    // The one ordered list of running parts: stop() and a failed start both stop it in reverse.
    // Consumers of what the runner's handler writes (alerts, quarantine copies) start before it so
    // that they stop after it; the batch scheduler, which reads everything, starts last.
    const components: Component[] = [{ name: 'emulators', stop: () => emulators.stop() }];
    try {
      // Under a heavy replay an emulator (one thread, in this process or its own) can keep a request
      // waiting its turn for many seconds, which is not a failure.
      const clientOptions = { requestTimeoutMs: 120_000 };
      const clients = createLocalClients(emulators.endpoints, clientOptions);
      const handlerClients = createLocalClients(emulators.endpoints, clientOptions);
      components.push({
        name: 'clients',
        stop: () => {
          destroyLocalClients(clients);
          destroyLocalClients(handlerClients);
        },
      });
      const resources = await createLocalResources(clients, config);

      const chaos =
        options.chaosSeed === undefined
          ? undefined
          : new Chaos({ ...options.chaosRates, seed: options.chaosSeed });
      if (chaos) applyChaos(handlerClients, chaos);

      // Quarantine objects are copied to the lake every 5 s, and a last time on stop (fauxqs forgets them).
      const quarantine = new QuarantineMirror({ s3: clients.s3, bucket: resources.lakeBucketName, lakeDir });
      const mirrorTimer = setInterval(() => {
        quarantine
          .sync()
          .catch((error: unknown) => log({ level: 'warn', component: 'quarantine', message: String(error) }));
      }, 5_000);
      mirrorTimer.unref();
      components.push({
        name: 'quarantine',
        stop: () => {
          clearInterval(mirrorTimer);
          return quarantine.sync();
        },
      });

      const alerts = new AlertCollector({
        sqs: clients.sqs,
        queueUrl: resources.alertsQueueUrl,
        onError: (error) => log({ level: 'warn', component: 'alerts', message: String(error) }),
      });
      alerts.start();
      components.push({ name: 'alerts', stop: () => alerts.stop() });

      const firehoseIntervalMs =
        options.firehoseBufferIntervalMs ?? durationMs(config.firehose.bufferInterval);
      const firehose = new LocalFirehose({
        kinesis: clients.kinesis,
        streamName: resources.streamName,
        lakeDir,
        bufferSizeBytes: config.firehose.bufferSizeMiB * 1024 * 1024,
        bufferIntervalMs: firehoseIntervalMs,
        checkpointStore,
        onError: (error) => log({ level: 'warn', component: 'firehose', message: String(error) }),
      });
      firehose.start();
      components.push({ name: 'firehose', stop: () => firehose.stop() });

      const accounting = new SpeedAccounting({ config: speedConfig });
      // One runner per stream processor the stack deploys, same handler code in its role, same
      // chaos (scoped per consumer). Only the aggregate processor, which sees every record in every
      // role it runs, feeds the accounting: its checkpoints are what "processed" means across a
      // restart (the alert processor's run ahead of them, by up to the batching window).
      const startRunner = async (plan: SpeedProcessorPlan): Promise<EventSourceRunner> => {
        const aggregates = plan.role !== 'alerts';
        const handler = createLocalStreamProcessor({
          clients: handlerClients,
          resources,
          config: toSpeedConfig(config, plan.section),
          role: plan.role,
          onResult: aggregates
            ? (result, event) => {
                accounting.observe(result, event);
                options.onBatchResult?.(result, event);
              }
            : undefined,
        });
        const runner = new EventSourceRunner({
          ...eventSourceSettingsFromConfig(config, plan.section),
          // Also the checkpoints' consumer name: each mapping keeps its own.
          functionName: processorService(plan.role),
          kinesis: clients.kinesis,
          streamName: resources.streamName,
          handler,
          onFailure: { sqs: clients.sqs, queueUrl: resources.onFailureQueueUrl },
          chaos,
          checkpointStore,
          pollIntervalMs: 100,
          onLog: (entry: RunnerLogEntry) =>
            log({
              level: entry.level,
              component: 'runner',
              message: `${aggregates ? '' : 'alert processor: '}${entry.event}: ${entry.message}${
                entry.event === 'onfailure.sent'
                  ? '; `sluice repair --local` repairs the speed layer for them'
                  : ''
              }`,
              details: entry,
            }),
        });
        // A runner whose start fails stops itself.
        await runner.start();
        components.push({ name: aggregates ? 'runner' : 'alert runner', stop: () => runner.stop() });
        return runner;
      };
      const [aggregatePlan, ...alertPlans] = speedProcessors(config);
      const runner = await startRunner(aggregatePlan);
      const alertRunner = alertPlans.length > 0 ? await startRunner(alertPlans[0]) : undefined;

      const reconciliation = new LocalReconciliation({
        dynamodb: clients.dynamodb,
        tableName: resources.tableName,
        lakeDir,
        windows: speedConfig.windows,
        tolerance: config.reconciliation.tolerance,
        maxDifferences: config.reconciliation.maxDifferences,
        onError: (error) =>
          log({ level: 'error', component: 'batch', message: `reconciliation: ${String(error)}` }),
      });
      const speedExport = new LocalSpeedExport({
        dynamodb: clients.dynamodb,
        tableName: resources.tableName,
        lakeDir,
        windows: speedConfig.windows,
        latenessMs: speedConfig.latenessMs,
        // Without a schedule (a replay), runs on request export the days they build (`days`).
        intervalMs: options.batchIntervalMs ?? 3_600_000,
      });
      const batch = new BatchScheduler({
        lakeDir,
        maxClockSkewMs: speedConfig.maxClockSkewMs,
        intervalMs: options.batchIntervalMs,
        firstRunDelayMs: options.firstBatchDelayMs,
        scheduledDays: () => accounting.eventDates,
        beforeRun: async (days, { allLanded }) => {
          await quarantine.sync();
          // The view sensor_stats_hourly_live reads the export beside the tables the run builds: a
          // settled run (a replay's) exports every hour of its days, whose events may be older than
          // a scheduled run looks; a scheduled one the hours that can still change.
          await (allLanded ? speedExport.days(days) : speedExport.run(Date.now())).catch((error: unknown) =>
            log({ level: 'warn', component: 'batch', message: `speed export: ${String(error)}` }),
          );
        },
        // What is not drift (core/reconcile.ts): hours that ended too recently for the run to
        // have seen all their records (unless the pipeline was settled first, as in a --once
        // replay), and hours only the batch layer has whose events were all late.
        afterRun: (lake, days, run) =>
          reconciliation.run(lake, days, {
            settledBefore: settledBeforeOf(run, firehoseIntervalMs),
            lateBefore: Date.now() - speedConfig.latenessMs,
          }),
        onError: (error) => log({ level: 'error', component: 'batch', message: String(error) }),
      });
      batch.start();
      components.push({ name: 'batch', stop: () => batch.stop() });

      return new LocalPipeline({
        config,
        stateDir,
        lakeDir,
        emulators,
        clients,
        resources,
        runner,
        alertRunner,
        firehose,
        alerts,
        quarantine,
        batch,
        accounting,
        reconciliation,
        speedExport,
        chaos,
        log,
        components,
      });
    } catch (error) {
      await stopInReverse(components, () => undefined);
      throw error;
    }
  }

  /**
   * Resolves when everything put into the stream before the call has been processed by the speed
   * layer, landed raw in the lake, its alerts received and its quarantined records copied to the lake.
   */
  async settle(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    await Promise.all([
      this.runner.drain({ timeoutMs: options.timeoutMs }),
      this.alertRunner?.drain({ timeoutMs: options.timeoutMs }),
    ]);
    await this.firehose.flush();
    await this.alerts.drain();
    await this.quarantine.sync();
  }

  /**
   * Stops everything, in reverse start order: no new batches, then the runner, Firehose (flushing),
   * alerts, the last quarantine copies (fauxqs forgets its objects), the clients, the emulators.
   */
  stop(): Promise<void> {
    this.stopping ??= stopInReverse(this.components, (component, error) =>
      this.log({ level: 'warn', component: 'pipeline', message: `stopping ${component}: ${String(error)}` }),
    );
    return this.stopping;
  }
}
