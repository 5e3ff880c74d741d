/**
 * Local-mode benchmark: the full local pipeline (local/pipeline.ts: emulators, the event source
 * runner invoking the unchanged stream-processor handler, the local Firehose, the alerts reader)
 * fed by the demo producer of `sluice produce` at a steady rate, with the default config.
 *
 * Definitions (also printed):
 *  - End-to-end latency of a record: from its ApproximateArrivalTimestamp (kinesalite stamps it when
 *    PutRecords stores the record) to the moment the stream-processor invocation that applied it
 *    returned its result: every DynamoDB update of that invocation, the one carrying this record's
 *    contribution included, has been acknowledged by then. Measured for every valid record (first
 *    successful delivery), at a steady 1,000 events/s, after a warm-up (15 s at the rate, then drained,
 *    then 5 s at the rate again). Split into the wait before the invocation started (polling,
 *    read-ahead, batching window) and the invocation itself.
 *  - Max sustained rate: the highest produce rate R of a step series (30 s per step, each from a
 *    drained pipeline) at which (1) the producer delivered R, (2) after the first 10 s of the step the
 *    backlog (records put but not yet applied, sampled every 250 ms) did not grow by more than 5 % of R
 *    (at least 10) records per second (least-squares slope of its lowest value in each 2 s: batches make the backlog a
 *    sawtooth, and its troughs are what is left when a batch ends), (3) the mean backlog over
 *    the last quarter was at most R × (batching window + 3 s), i.e. records waited no longer than that,
 *    and (4) after the step the pipeline drained, every record sent applied once and none sent to the
 *    on-failure queue (no loss). Rates double from 1,000/s until a step fails, then two bisection steps
 *    narrow the limit (from 0 if 1,000/s already fails).
 *
 *   npx tsx bench/local.bench.ts [--emulators child|in-process] [--config sluice.config.json] [--latency-only]
 *
 * By default the emulators run in a child process, as `sluice local` runs them, with the default
 * config. Figures are recorded (with the config's batching settings) when the emulators run as
 * `sluice local` runs them and the whole benchmark ran; otherwise (`--emulators in-process`, or
 * `--latency-only`, which skips the max-sustained series) they are only printed.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG, durationMs, loadConfig } from '../contract/config';
import { recordResults } from './results';
import type { RecordedLatencies } from './commit-tracker';
import { cpuMsOf, LocalHarness, processCpuMs } from './local-harness';
import { emulatorPlacement, runBench } from './options';
import { formatCount, linearSlope, percentile, type TimedValue } from './stats';

const LATENCY_RATE = 1_000;
const WARMUP_MS = 15_000;
/** After the warm-up and drain, time at the rate before measuring. */
const RAMP_MS = 5_000;
const MEASURE_MS = 40_000;
const FIRST_STEP_RATE = 1_000;
const STEP_MS = 30_000;
const MAX_STEP_RATE = 32_000;
const BISECTIONS = 2;
/** Beyond the batching window, how far behind the stream the speed layer may be and still keep up. */
const LAG_ALLOWANCE_MS = 3_000;
/** The backlog may grow by at most this share of the rate (a pipeline that keeps up does not grow it). */
const MAX_BACKLOG_GROWTH = 0.05;
/** ... and by at most this many records/s, whatever the rate (the troughs' noise at low rates). */
const MIN_BACKLOG_GROWTH_LIMIT = 10;
/** The start of a step that is not judged: the backlog fills up to its steady level. */
const STEP_RAMP_MS = 10_000;
const BACKLOG_SAMPLE_MS = 250;
/**
 * The backlog is a sawtooth (it drops by a batch when an invocation ends); its growth is judged on
 * the lowest value of each span this long, in which at least one batch ends while the pipeline keeps up.
 */
const TROUGH_BUCKET_MS = 2_000;
const DRAIN_TIMEOUT_MS = 180_000;
const SENSORS = 20;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface StepResult {
  readonly rate: number;
  readonly sustained: boolean;
  /** Least-squares growth of the backlog after the step's ramp, records/s. */
  readonly growthPerSec: number;
  /** Mean backlog over the last quarter of the step. */
  readonly lateBacklog: number;
  readonly why: string;
}

interface LatencyPhase {
  readonly latencies: RecordedLatencies;
  /** CPU time per 1,000 records applied while measuring, ms: this process, and the emulators' when separate. */
  readonly cpuMsPer1000: { readonly pipeline: number; readonly emulators?: number };
  readonly appliedPerSec: number;
  /** DynamoDB updates (aggregate items written) per 1,000 records applied while measuring. */
  readonly updatesPer1000: number;
}

async function measureLatency(harness: LocalHarness): Promise<LatencyPhase> {
  // Warm up (JIT, connections, first aggregate items), then drain, so the measurement starts from a
  // pipeline that is warm and not carrying a backlog of its cold start.
  const warmUp = harness.produce({ seed: 6, sensors: SENSORS, ratePerSecond: LATENCY_RATE });
  await sleep(WARMUP_MS);
  await warmUp.stop();
  await harness.pipeline.runner.drain({ timeoutMs: DRAIN_TIMEOUT_MS });
  const pump = harness.produce({ seed: 7, sensors: SENSORS, ratePerSecond: LATENCY_RATE });
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
  const applied = harness.commits.applied - before.applied;
  const emulatorsNow = pid && cpuMsOf(pid);
  const perThousand = (ms: number): number => (ms / Math.max(1, applied)) * 1000;
  const phase: LatencyPhase = {
    latencies,
    cpuMsPer1000: {
      pipeline: perThousand(processCpuMs() - before.cpu),
      emulators:
        typeof emulatorsNow === 'number' && typeof before.emulators === 'number'
          ? perThousand(emulatorsNow - before.emulators)
          : undefined,
    },
    appliedPerSec: applied / ((Date.now() - before.at) / 1000),
    updatesPer1000: perThousand(harness.commits.itemsWritten - before.itemsWritten),
  };
  await pump.stop();
  await harness.pipeline.runner.drain({ timeoutMs: DRAIN_TIMEOUT_MS });
  return phase;
}

/** The lowest sample of each `bucketMs` span, at that span's start. */
function troughs(samples: readonly TimedValue[], bucketMs: number): TimedValue[] {
  const lowest = new Map<number, number>();
  for (const sample of samples) {
    const bucket = Math.floor((sample.minute * 60_000) / bucketMs);
    lowest.set(bucket, Math.min(lowest.get(bucket) ?? Number.POSITIVE_INFINITY, sample.value));
  }
  return [...lowest].map(([bucket, value]) => ({ minute: (bucket * bucketMs) / 60_000, value }));
}

/** One step of the throughput series, starting from a drained pipeline. */
async function step(
  harness: LocalHarness,
  rate: number,
  seed: number,
  lagLimitMs: number,
): Promise<StepResult> {
  const { commits, pipeline } = harness;
  const appliedBefore = commits.applied;
  const onFailureBefore = pipeline.runner.metrics().counters.recordsSentToOnFailure;
  const startedAt = Date.now();
  const pump = harness.produce({ seed, sensors: SENSORS, ratePerSecond: rate, durationMs: STEP_MS });
  // Backlog = records put but not yet applied, sampled often: batches make it a sawtooth.
  const backlog: TimedValue[] = [];
  const sampler = setInterval(() => {
    const minute = (Date.now() - startedAt) / 60_000;
    if (minute * 60_000 >= STEP_RAMP_MS) {
      backlog.push({ minute, value: pump.stats().sent - (commits.applied - appliedBefore) });
    }
  }, BACKLOG_SAMPLE_MS);
  const stats = await pump.done;
  clearInterval(sampler);
  const growthPerSec = linearSlope(troughs(backlog, TROUGH_BUCKET_MS)) / 60;
  const lastQuarter = backlog.slice(-Math.max(1, Math.floor(backlog.length / 4)));
  const lateBacklog = lastQuarter.reduce((sum, s) => sum + s.value, 0) / lastQuarter.length;
  const expected = Math.floor((rate * STEP_MS) / 1000);
  let drained = true;
  await pipeline.runner.drain({ timeoutMs: DRAIN_TIMEOUT_MS }).catch(() => (drained = false));
  const lost = stats.sent - (commits.applied - appliedBefore);
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
    why: problems.join(', ') || 'ok',
  };
}

async function findMaxSustained(
  harness: LocalHarness,
  lagLimitMs: number,
): Promise<{ max: number; steps: StepResult[] }> {
  const steps: StepResult[] = [];
  const run = async (rate: number): Promise<StepResult> => {
    const result = await step(harness, rate, 100 + steps.length, lagLimitMs);
    steps.push(result);
    console.log(
      `  step ${formatCount(rate).padStart(6)}/s  backlog growth ${formatCount(result.growthPerSec).padStart(6)}/s  late backlog ${formatCount(result.lateBacklog).padStart(6)}  ${result.sustained ? 'sustained' : `not sustained: ${result.why}`}`,
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      emulators: { type: 'string' },
      config: { type: 'string' },
      'latency-only': { type: 'boolean', default: false },
    },
  });
  const placement = emulatorPlacement(values.emulators);
  const config = values.config === undefined ? DEFAULT_CONFIG : loadConfig(values.config);
  const harness = await LocalHarness.start({ emulators: placement, config });
  try {
    const shards = harness.pipeline.resources.shardCount;
    const windowMs = durationMs(config.processor.maxBatchingWindow);
    console.log(
      `local pipeline: emulators ${placement}, ${shards} shards, batch size ${config.processor.batchSize}, ` +
        `batching window ${windowMs} ms, ${SENSORS} sensors, chaos off`,
    );
    console.log(
      `end-to-end latency at ${formatCount(LATENCY_RATE)} events/s (${WARMUP_MS / 1000} s warm-up and drain, then ${RAMP_MS / 1000} s at the rate before ${MEASURE_MS / 1000} s measured):\n` +
        '  record arrival in the stream (kinesalite ApproximateArrivalTimestamp) -> end of the invocation\n' +
        '  that applied it (all its DynamoDB updates acknowledged); valid records, first successful delivery',
    );
    const phase = await measureLatency(harness);
    const latency = phase.latencies;
    const e2e = latency.endToEnd;
    const row = (label: string, values: Float64Array): string =>
      `  ${label.padEnd(34)} p50 ${formatCount(percentile(values, 50)).padStart(6)} ms   p99 ${formatCount(percentile(values, 99)).padStart(6)} ms   max ${formatCount(values[values.length - 1] ?? Number.NaN).padStart(6)} ms`;
    console.log(row(`end to end (${formatCount(e2e.length)} records)`, e2e));
    console.log(row('  waiting to be invoked', latency.waitBeforeInvoke));
    console.log(row(`  invocation (${formatCount(latency.invocation.length)} batches)`, latency.invocation));
    const p99 = percentile(e2e, 99);
    console.log(`  target: p99 <= 1,000 ms -> ${p99 <= 1_000 ? 'met' : 'NOT met'}`);
    const { pipeline: pipelineCpu, emulators: emulatorCpu } = phase.cpuMsPer1000;
    // Each process can use at most one core; the busier one bounds the rate on an idle machine.
    const bound = 1_000_000 / Math.max(pipelineCpu, emulatorCpu ?? 0);
    console.log(
      `  applied ${formatCount(phase.appliedPerSec)} records/s while measuring; CPU per 1,000 records: ${formatCount(pipelineCpu)} ms in the pipeline's process` +
        `${placement === 'in-process' ? ' (emulators included)' : `, ${formatCount(emulatorCpu ?? Number.NaN)} ms in the emulators'`}` +
        ` -> at most ~${formatCount(bound)} records/s with a whole core per process`,
    );
    console.log(`  DynamoDB updates per 1,000 records applied: ${phase.updatesPer1000.toFixed(1)}`);
    if (values['latency-only']) {
      console.log('(--latency-only: no max-sustained series; not recorded in bench/results.json)');
      return;
    }

    const lagLimitMs = windowMs + LAG_ALLOWANCE_MS;
    console.log(
      `max sustained rate (steps of ${STEP_MS / 1000} s; sustained = the producer kept the rate, and after the first ${STEP_RAMP_MS / 1000} s the backlog\n` +
        `  (its lowest value in each ${TROUGH_BUCKET_MS / 1000} s) grew by at most ${MAX_BACKLOG_GROWTH * 100} % of the rate (at least ${MIN_BACKLOG_GROWTH_LIMIT}) per second and its mean in the last\n` +
        `  quarter stayed under ${lagLimitMs / 1000} s of traffic; then it drained with every record` +
        ' applied once, none lost):',
    );
    const { max, steps } = await findMaxSustained(harness, lagLimitMs);
    console.log(`  max sustained: ${formatCount(max)} events/s`);

    if (placement !== 'child') {
      console.log(
        '(not recorded in bench/results.json: only emulators in a child process, as `sluice local` runs them, are)',
      );
      return;
    }
    recordResults({
      local: {
        e2eLatencyMs: {
          p50: Math.round(percentile(e2e, 50)),
          p99: Math.round(percentile(e2e, 99)),
          max: Math.round(e2e[e2e.length - 1] ?? Number.NaN),
          records: e2e.length,
          atEventsPerSec: LATENCY_RATE,
        },
        waitBeforeInvokeMs: {
          p50: Math.round(percentile(latency.waitBeforeInvoke, 50)),
          p99: Math.round(percentile(latency.waitBeforeInvoke, 99)),
        },
        invocationMs: {
          p50: Math.round(percentile(latency.invocation, 50)),
          p99: Math.round(percentile(latency.invocation, 99)),
        },
        // CPU time per 1,000 records applied: the pipeline's process, and the emulators' process.
        cpuMsPer1000Events: Math.round(pipelineCpu),
        emulatorCpuMsPer1000Events: Math.round(emulatorCpu ?? Number.NaN),
        dynamoUpdatesPer1000Events: Math.round(phase.updatesPer1000 * 10) / 10,
        maxSustainedEventsPerSec: max,
        maxSustainedLagLimitMs: lagLimitMs,
        steps: steps.map((s) => `${s.rate}:${s.sustained ? 'ok' : s.why}`).join('; '),
        emulators: placement,
        config: values.config === undefined ? 'default' : path.basename(values.config),
        shards,
        batchSize: config.processor.batchSize,
        maxBatchingWindowMs: windowMs,
      },
    });
  } finally {
    await harness.stop();
  }
}

runBench(main);
