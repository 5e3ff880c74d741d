/**
 * Local-mode benchmark: the full local pipeline (local/pipeline.ts: emulators, one event source
 * runner per stream processor invoking the unchanged stream-processor handler, the local Firehose,
 * the alerts reader) fed by the demo producer of `sluice produce` at a steady rate.
 *
 * Traffic: 5,000 sensors × 2 metrics (temperature, humidity) = 10,000 series, as the cost model's
 * workload at 1,000 events/s (one report per series every 10 s). While latencies are measured, 2 %
 * of events are anomalies, so that value alerts come often enough for a p99 (the default rule's
 * 5-minute cooldown per sensor lets each sensor alert once in a run); elsewhere the producer's
 * default rate.
 *
 * Definitions (also printed):
 *  - Value-alert latency of an alert: from its record's ApproximateArrivalTimestamp (kinesalite
 *    stamps it when PutRecords stores the record) to the moment the alert was read from the queue
 *    subscribed to the alerts topic: the SNS publish, plus SNS's delivery. Every per-event alert
 *    read while measuring.
 *  - Aggregate staleness of a record: from its arrival to the moment the aggregate processor's
 *    invocation that applied it returned: every DynamoDB update of that invocation has been
 *    acknowledged by then, so every stored item the record belongs to (the 1-minute pane, which the
 *    hopping windows are composed of when read, and each tumbling window) reflects it. Every valid
 *    record applied while measuring (first successful delivery). Split into the wait before the
 *    invocation started (polling, read-ahead, batching window) and the invocation itself.
 *  - Both at a steady 1,000 events/s, after a warm-up (15 s at the rate, then drained, then 5 s at
 *    the rate again), over 60 s; with the default config (an alert processor with no batching
 *    window beside the aggregate processor's 30 s), and the staleness again with the fresh profile
 *    (examples/fresh.config.json: one processor, every rule, no batching window).
 *  - Max sustained rate at real cardinality (default config): the highest produce rate R of a step
 *    series (each step from a drained pipeline) at which (1) the producer delivered R, (2) after the
 *    step's ramp the backlog (records put but not yet applied, sampled every 250 ms) did not grow by
 *    more than 5 % of R (at least 10) records per second (least-squares slope of its lowest value
 *    in each span in which a batch ends: batches make the backlog a sawtooth, and its troughs are what
 *    is left when a batch ends; bench/throughput-step.ts sets the spans and the step's length from
 *    the batching), (3) the mean backlog over the last quarter was at most R × (batching window +
 *    3 s), i.e. records waited no longer than that, and (4) after the step the pipeline drained,
 *    every record sent applied once and none sent to the on-failure queue (no loss). Rates double
 *    from 1,000/s until a step fails, then two bisection steps narrow the limit (from 0 if 1,000/s
 *    already fails).
 *  - DynamoDB writes per event: aggregate items the aggregate processor wrote (one conditional
 *    UpdateItem each, none retried without faults) per record applied, in a step; the headline is
 *    the 1,000 events/s step's, the rate `cost.default.dynamoWritesPerEvent` is for. The alert
 *    processor's cooldown writes (on breaches only) are not in it.
 *
 *   npx tsx bench/local.bench.ts [--emulators child|in-process] [--config sluice.config.json]
 *     [--fresh-config examples/fresh.config.json] [--sensors 5000] [--latency-only]
 *
 * By default the emulators run in a child process, as `sluice local` runs them. Figures are recorded
 * (with the configs' batching settings) when the emulators run as `sluice local` runs them and the
 * whole benchmark ran; otherwise (`--emulators in-process`, or `--latency-only`, which skips the
 * max-sustained series) they are only printed.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG, durationMs, loadConfig, type SluiceConfig } from '../contract/config';
import { speedProcessors } from '../contract/speed-processors';
import { alertLatencies } from './alert-latency';
import { recordResults, readResults, figureAt, type Figures } from './results';
import type { RecordedLatencies } from './commit-tracker';
import { cpuMsOf, LocalHarness, processCpuMs } from './local-harness';
import { emulatorPlacement, positiveNumber, runBench } from './options';
import { formatCount, linearSlope, percentile, type TimedValue } from './stats';
import { stepTiming, troughs } from './throughput-step';
import type { EmulatorPlacement } from '../local/pipeline';

const LATENCY_RATE = 1_000;
const WARMUP_MS = 15_000;
/** After the warm-up and drain, time at the rate before measuring. */
const RAMP_MS = 5_000;
const MEASURE_MS = 60_000;
/** Share of anomalous events while latencies are measured: enough value alerts for a p99. */
const LATENCY_ANOMALY_RATE = 0.02;
const FIRST_STEP_RATE = 1_000;
const MAX_STEP_RATE = 32_000;
const BISECTIONS = 2;
/** Beyond the batching window, how far behind the stream the speed layer may be and still keep up. */
const LAG_ALLOWANCE_MS = 3_000;
/** The backlog may grow by at most this share of the rate (a pipeline that keeps up does not grow it). */
const MAX_BACKLOG_GROWTH = 0.05;
/** ... and by at most this many records/s, whatever the rate (the troughs' noise at low rates). */
const MIN_BACKLOG_GROWTH_LIMIT = 10;
const BACKLOG_SAMPLE_MS = 250;
const DRAIN_TIMEOUT_MS = 180_000;
/** 5,000 sensors × 2 metrics: 10,000 series. */
const DEFAULT_SENSORS = 5_000;
const METRICS_PER_SENSOR = 2;
const FRESH_CONFIG = path.join(__dirname, '..', 'examples', 'fresh.config.json');
/** The issue's targets. */
const TARGETS = {
  valueAlertP99Ms: 2_000,
  aggregateStalenessP99Ms: 60_000,
  freshStalenessP99Ms: 2_000,
  realCardinalityEventsPerSec: 2_000,
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface StepResult {
  readonly rate: number;
  readonly sustained: boolean;
  /** Least-squares growth of the backlog after the step's ramp, records/s. */
  readonly growthPerSec: number;
  /** Mean backlog over the last quarter of the step. */
  readonly lateBacklog: number;
  /** Aggregate items written (UpdateItem calls) per record applied in the step. */
  readonly writesPerEvent: number;
  readonly stepMs: number;
  readonly why: string;
}

interface LatencyPhase {
  /** Aggregate staleness (end to end of the aggregate processor), its wait and its invocations. */
  readonly latencies: RecordedLatencies;
  /** Value alerts read while measuring: arrival of their record to the alert's delivery, ascending, ms. */
  readonly alertLatencies: Float64Array;
  /** Alerts read while measuring whose record's arrival was not found (should be 0). */
  readonly alertsUnmatched: number;
  /** CPU time per 1,000 records applied while measuring, ms: this process, and the emulators' when separate. */
  readonly cpuMsPer1000: { readonly pipeline: number; readonly emulators?: number };
  readonly appliedPerSec: number;
  /** DynamoDB updates (aggregate items written) per 1,000 records applied while measuring. */
  readonly updatesPer1000: number;
}

async function measureLatency(harness: LocalHarness, sensors: number): Promise<LatencyPhase> {
  const traffic = { sensors, ratePerSecond: LATENCY_RATE, anomalyRate: LATENCY_ANOMALY_RATE };
  // Warm up (JIT, connections, first aggregate items), then drain, so the measurement starts from a
  // pipeline that is warm and not carrying a backlog of its cold start.
  const warmUp = harness.produce({ ...traffic, seed: 6 });
  await sleep(WARMUP_MS);
  await warmUp.stop();
  await harness.pipeline.settle({ timeoutMs: DRAIN_TIMEOUT_MS });
  harness.arrivals.startRecording();
  const pump = harness.produce({ ...traffic, seed: 7 });
  await sleep(RAMP_MS);
  const pid = harness.emulatorPid;
  const before = {
    at: Date.now(),
    applied: harness.commits.applied,
    itemsWritten: harness.commits.itemsWritten,
    cpu: processCpuMs(),
    emulators: pid && cpuMsOf(pid),
  };
  harness.commits.startRecording();
  await sleep(MEASURE_MS);
  const latencies = harness.commits.stopRecording();
  const measuredTo = Date.now();
  const applied = harness.commits.applied - before.applied;
  const emulatorsNow = pid && cpuMsOf(pid);
  const perThousand = (ms: number): number => (ms / Math.max(1, applied)) * 1000;
  const cpuMsPer1000 = {
    pipeline: perThousand(processCpuMs() - before.cpu),
    emulators:
      typeof emulatorsNow === 'number' && typeof before.emulators === 'number'
        ? perThousand(emulatorsNow - before.emulators)
        : undefined,
  };
  const appliedPerSec = applied / ((measuredTo - before.at) / 1000);
  const updatesPer1000 = perThousand(harness.commits.itemsWritten - before.itemsWritten);
  await pump.stop();
  // Everything sent has been applied (so its arrival is known) and every alert read.
  await harness.pipeline.settle({ timeoutMs: DRAIN_TIMEOUT_MS });
  const arrivalOf = harness.arrivals.stopRecording();
  const alerts = alertLatencies(harness.pipeline.alerts.received, arrivalOf, before.at, measuredTo);
  return {
    latencies,
    alertLatencies: alerts.latencies,
    alertsUnmatched: alerts.unmatched,
    cpuMsPer1000,
    appliedPerSec,
    updatesPer1000,
  };
}

/** One step of the throughput series, starting from a drained pipeline. */
async function step(
  harness: LocalHarness,
  options: { rate: number; seed: number; sensors: number; lagLimitMs: number },
): Promise<StepResult> {
  const { rate, lagLimitMs } = options;
  const { commits, pipeline } = harness;
  const timing = stepTiming({
    rate,
    shards: pipeline.resources.shardCount,
    batchSize: pipeline.config.processor.batchSize,
    maxBatchingWindowMs: durationMs(pipeline.config.processor.maxBatchingWindow),
  });
  const appliedBefore = commits.applied;
  const writtenBefore = commits.itemsWritten;
  const onFailureBefore = pipeline.runner.metrics().counters.recordsSentToOnFailure;
  const startedAt = Date.now();
  const pump = harness.produce({
    seed: options.seed,
    sensors: options.sensors,
    ratePerSecond: rate,
    durationMs: timing.stepMs,
  });
  // Backlog = records put but not yet applied, sampled often: batches make it a sawtooth.
  const backlog: TimedValue[] = [];
  const sampler = setInterval(() => {
    const minute = (Date.now() - startedAt) / 60_000;
    if (minute * 60_000 >= timing.rampMs) {
      backlog.push({ minute, value: pump.stats().sent - (commits.applied - appliedBefore) });
    }
  }, BACKLOG_SAMPLE_MS);
  const stats = await pump.done;
  clearInterval(sampler);
  const growthPerSec = linearSlope(troughs(backlog, timing.troughBucketMs)) / 60;
  const lastQuarter = backlog.slice(-Math.max(1, Math.floor(backlog.length / 4)));
  const lateBacklog = lastQuarter.reduce((sum, s) => sum + s.value, 0) / lastQuarter.length;
  const expected = Math.floor((rate * timing.stepMs) / 1000);
  let drained = true;
  await pipeline.runner.drain({ timeoutMs: DRAIN_TIMEOUT_MS }).catch(() => (drained = false));
  await pipeline.alertRunner?.drain({ timeoutMs: DRAIN_TIMEOUT_MS }).catch(() => (drained = false));
  const applied = commits.applied - appliedBefore;
  const lost = stats.sent - applied;
  const sentOn = pipeline.runner.metrics().counters.recordsSentToOnFailure - onFailureBefore;
  const problems = [
    stats.sent < 0.98 * expected
      ? `producer sent ${formatCount(stats.sent)} of ${formatCount(expected)}`
      : '',
    growthPerSec > Math.max(MAX_BACKLOG_GROWTH * rate, MIN_BACKLOG_GROWTH_LIMIT)
      ? `backlog grew ${formatCount(growthPerSec)}/s`
      : '',
    lateBacklog > (rate * lagLimitMs) / 1000
      ? `backlog ${formatCount(lateBacklog)} (> ${lagLimitMs / 1000} s of traffic)`
      : '',
    !drained ? 'did not drain' : lost !== 0 ? `${formatCount(lost)} records not applied` : '',
    sentOn > 0 ? `${formatCount(sentOn)} records sent to the on-failure queue` : '',
  ].filter(Boolean);
  return {
    rate,
    sustained: problems.length === 0,
    growthPerSec,
    lateBacklog,
    writesPerEvent: (commits.itemsWritten - writtenBefore) / Math.max(1, applied),
    stepMs: timing.stepMs,
    why: problems.join(', ') || 'ok',
  };
}

async function findMaxSustained(
  harness: LocalHarness,
  sensors: number,
  lagLimitMs: number,
): Promise<{ max: number; steps: StepResult[] }> {
  const steps: StepResult[] = [];
  const run = async (rate: number): Promise<StepResult> => {
    const result = await step(harness, { rate, seed: 100 + steps.length, sensors, lagLimitMs });
    steps.push(result);
    console.log(
      `  step ${formatCount(rate).padStart(6)}/s (${result.stepMs / 1000} s)  backlog growth ${formatCount(result.growthPerSec).padStart(6)}/s  late backlog ${formatCount(result.lateBacklog).padStart(6)}  writes/event ${result.writesPerEvent.toFixed(3)}  ${result.sustained ? 'sustained' : `not sustained: ${result.why}`}`,
    );
    return result;
  };
  let good = 0;
  let bad = 0;
  for (let rate = FIRST_STEP_RATE; rate <= MAX_STEP_RATE; rate *= 2) {
    if ((await run(rate)).sustained) good = rate;
    else {
      bad = rate;
      break;
    }
  }
  for (let i = 0; i < BISECTIONS && bad > 0 && bad - good > 100; i++) {
    const rate = Math.round((good + bad) / 2 / 50) * 50;
    if ((await run(rate)).sustained) good = rate;
    else bad = rate;
  }
  return { max: good, steps };
}

/** p50, p99 and max of ascending `values`, rounded, ms; with how many there were. */
function summary(values: Float64Array): { p50: number; p99: number; max: number; count: number } {
  return {
    p50: Math.round(percentile(values, 50)),
    p99: Math.round(percentile(values, 99)),
    max: Math.round(values[values.length - 1] ?? Number.NaN),
    count: values.length,
  };
}

function row(label: string, values: Float64Array): string {
  const s = summary(values);
  return `  ${label.padEnd(40)} p50 ${formatCount(s.p50).padStart(6)} ms   p99 ${formatCount(s.p99).padStart(6)} ms   max ${formatCount(s.max).padStart(6)} ms`;
}

const verdict = (met: boolean): string => (met ? 'met' : 'NOT met');

function describeConfig(config: SluiceConfig, harness: LocalHarness): string {
  const processors = speedProcessors(config)
    .map(
      (p) =>
        `${p.role} (batch size ${p.settings.batchSize}, window ${durationMs(p.settings.maxBatchingWindow) / 1000} s)`,
    )
    .join(' + ');
  return `${harness.pipeline.resources.shardCount} shards; ${processors}`;
}

/** Prints a latency phase; returns its figures. */
function reportLatency(phase: LatencyPhase, placement: EmulatorPlacement, withAlerts: boolean): Figures {
  const { latencies } = phase;
  const staleness = latencies.endToEnd;
  if (withAlerts) {
    console.log(
      row(`value alert (${formatCount(phase.alertLatencies.length)} alerts)`, phase.alertLatencies) +
        (phase.alertsUnmatched > 0 ? `  (${phase.alertsUnmatched} alerts without a known arrival)` : ''),
    );
  }
  console.log(row(`aggregate staleness (${formatCount(staleness.length)} records)`, staleness));
  console.log(row('  waiting to be invoked', latencies.waitBeforeInvoke));
  console.log(
    row(`  invocation (${formatCount(latencies.invocation.length)} batches)`, latencies.invocation),
  );
  const { pipeline: pipelineCpu, emulators: emulatorCpu } = phase.cpuMsPer1000;
  // Each process can use at most one core; the busier one bounds the rate on an idle machine.
  const bound = 1_000_000 / Math.max(pipelineCpu, emulatorCpu ?? 0);
  console.log(
    `  applied ${formatCount(phase.appliedPerSec)} records/s while measuring; CPU per 1,000 records: ${formatCount(pipelineCpu)} ms in the pipeline's process` +
      `${placement === 'in-process' ? ' (emulators included)' : `, ${formatCount(emulatorCpu ?? Number.NaN)} ms in the emulators'`}` +
      ` -> at most ~${formatCount(bound)} records/s with a whole core per process`,
  );
  console.log(`  DynamoDB updates per 1,000 records applied: ${phase.updatesPer1000.toFixed(1)}`);
  const alerts = summary(phase.alertLatencies);
  const stale = summary(staleness);
  return {
    ...(withAlerts
      ? {
          valueAlertLatencyMs: {
            p50: alerts.p50,
            p99: alerts.p99,
            max: alerts.max,
            alerts: alerts.count,
            atEventsPerSec: LATENCY_RATE,
          },
        }
      : {}),
    aggregateStalenessMs: {
      p50: stale.p50,
      p99: stale.p99,
      max: stale.max,
      records: stale.count,
      atEventsPerSec: LATENCY_RATE,
    },
    waitBeforeInvokeMs: {
      p50: Math.round(percentile(latencies.waitBeforeInvoke, 50)),
      p99: Math.round(percentile(latencies.waitBeforeInvoke, 99)),
    },
    invocationMs: {
      p50: Math.round(percentile(latencies.invocation, 50)),
      p99: Math.round(percentile(latencies.invocation, 99)),
    },
    // CPU time per 1,000 records applied: the pipeline's process, and the emulators' process.
    cpuMsPer1000Events: Math.round(pipelineCpu),
    emulatorCpuMsPer1000Events: Math.round(emulatorCpu ?? Number.NaN),
    dynamoUpdatesPer1000Events: Math.round(phase.updatesPer1000 * 10) / 10,
  };
}

function batchingFigures(config: SluiceConfig, harness: LocalHarness, file: string): Figures {
  return {
    config: file,
    shards: harness.pipeline.resources.shardCount,
    processors: speedProcessors(config)
      .map((p) => `${p.role}:${p.settings.batchSize}/${durationMs(p.settings.maxBatchingWindow)}ms`)
      .join(' '),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      emulators: { type: 'string' },
      config: { type: 'string' },
      'fresh-config': { type: 'string' },
      sensors: { type: 'string' },
      'latency-only': { type: 'boolean', default: false },
    },
  });
  const placement = emulatorPlacement(values.emulators);
  const sensors = positiveNumber('--sensors', values.sensors, DEFAULT_SENSORS);
  const config = values.config === undefined ? DEFAULT_CONFIG : loadConfig(values.config);
  const configName = values.config === undefined ? 'default' : path.basename(values.config);
  const freshFile = values['fresh-config'] ?? FRESH_CONFIG;
  const freshConfig = loadConfig(freshFile);
  const series = sensors * METRICS_PER_SENSOR;
  const startedAt = Date.now();
  console.log(
    `local pipeline: emulators ${placement}, ${formatCount(sensors)} sensors x ${METRICS_PER_SENSOR} metrics = ${formatCount(series)} series, chaos off` +
      '\n(timings depend on what else the machine runs: figures from a busy machine are pessimistic)',
  );
  console.log(
    `latencies at ${formatCount(LATENCY_RATE)} events/s, ${LATENCY_ANOMALY_RATE * 100} % anomalies (${WARMUP_MS / 1000} s warm-up and drain, then ${RAMP_MS / 1000} s at the rate before ${MEASURE_MS / 1000} s measured):\n` +
      '  value alert: record arrival in the stream (kinesalite ApproximateArrivalTimestamp) -> alert read from the\n' +
      '    queue subscribed to the alerts topic (SNS publish + delivery); every per-event alert read while measuring\n' +
      "  aggregate staleness: record arrival -> end of the aggregate processor's invocation that applied it (all its\n" +
      '    DynamoDB updates acknowledged: every window item reflects it); valid records, first successful delivery',
  );

  let recorded: Figures = {};
  const harness = await LocalHarness.start({ emulators: placement, config });
  let max = 0;
  let steps: StepResult[] = [];
  let lagLimitMs = 0;
  try {
    console.log(`\n${configName} config: ${describeConfig(config, harness)}`);
    const phase = await measureLatency(harness, sensors);
    const figures = reportLatency(phase, placement, true);
    const alertP99 = percentile(phase.alertLatencies, 99);
    const staleP99 = percentile(phase.latencies.endToEnd, 99);
    console.log(
      `  targets: value alerts p99 <= ${formatCount(TARGETS.valueAlertP99Ms)} ms -> ${verdict(alertP99 <= TARGETS.valueAlertP99Ms)}; ` +
        `aggregates p99 <= ${formatCount(TARGETS.aggregateStalenessP99Ms)} ms -> ${verdict(staleP99 <= TARGETS.aggregateStalenessP99Ms)}`,
    );
    recorded = { ...figures, ...batchingFigures(config, harness, configName) };

    if (!values['latency-only']) {
      const windowMs = durationMs(config.processor.maxBatchingWindow);
      lagLimitMs = windowMs + LAG_ALLOWANCE_MS;
      console.log(
        `\nmax sustained rate at ${formatCount(series)} series (${configName} config; sustained = the producer kept the rate, and after the step's ramp the backlog\n` +
          `  (its lowest value in each span a batch ends in) grew by at most ${MAX_BACKLOG_GROWTH * 100} % of the rate (at least ${MIN_BACKLOG_GROWTH_LIMIT}) per second and its mean in the last\n` +
          `  quarter stayed under ${lagLimitMs / 1000} s of traffic; then it drained with every record applied once, none lost):`,
      );
      ({ max, steps } = await findMaxSustained(harness, sensors, lagLimitMs));
      console.log(
        `  max sustained: ${formatCount(max)} events/s; target >= ${formatCount(TARGETS.realCardinalityEventsPerSec)} -> ${verdict(max >= TARGETS.realCardinalityEventsPerSec)}`,
      );
    }
  } finally {
    await harness.stop();
  }

  const fresh = await LocalHarness.start({ emulators: placement, config: freshConfig });
  let freshFigures: Figures;
  try {
    console.log(`\nfresh profile (${path.basename(freshFile)}): ${describeConfig(freshConfig, fresh)}`);
    const phase = await measureLatency(fresh, sensors);
    freshFigures = {
      ...reportLatency(phase, placement, true),
      ...batchingFigures(freshConfig, fresh, path.basename(freshFile)),
    };
    const staleP99 = percentile(phase.latencies.endToEnd, 99);
    console.log(
      `  target: aggregates p99 <= ${formatCount(TARGETS.freshStalenessP99Ms)} ms -> ${verdict(staleP99 <= TARGETS.freshStalenessP99Ms)}`,
    );
  } finally {
    await fresh.stop();
  }

  const atFirstRate = steps.find((s) => s.rate === FIRST_STEP_RATE);
  const atMax = steps.find((s) => s.rate === max);
  const costWrites = figureAt(readResults()?.figures ?? {}, 'cost.default.dynamoWritesPerEvent');
  if (atFirstRate) {
    console.log(
      `\nDynamoDB writes per event at ${formatCount(series)} series, ${formatCount(FIRST_STEP_RATE)} events/s: ${atFirstRate.writesPerEvent.toFixed(3)} ` +
        `(cost.default.dynamoWritesPerEvent in bench/results.json: ${costWrites ?? 'not measured'})`,
    );
  }
  console.log(`(ran ${Math.round((Date.now() - startedAt) / 1000)} s)`);

  if (values['latency-only'] || placement !== 'child') {
    console.log(
      '(not recorded in bench/results.json: only a whole run with the emulators in a child process, as `sluice local` runs them, is)',
    );
    return;
  }
  recordResults(
    {
      local: {
        ...recorded,
        fresh: freshFigures,
        realCardinality: {
          maxSustainedEventsPerSec: max,
          maxSustainedLagLimitMs: lagLimitMs,
          dynamoWritesPerEvent: Math.round((atFirstRate?.writesPerEvent ?? Number.NaN) * 1000) / 1000,
          dynamoWritesPerEventAtEventsPerSec: FIRST_STEP_RATE,
          // No sustained step, no rate to give it at.
          ...(atMax ? { dynamoWritesPerEventAtMax: Math.round(atMax.writesPerEvent * 1000) / 1000 } : {}),
          sensors,
          series,
          steps: steps
            .map(
              (s) => `${s.rate}:${s.sustained ? 'ok' : s.why} (${s.writesPerEvent.toFixed(3)} writes/event)`,
            )
            .join('; '),
          config: configName,
        },
        emulators: placement,
      },
    },
    undefined,
    undefined,
    'replace',
  );
}

runBench(main);
