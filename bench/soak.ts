/**
 * Soak: `npm run soak -- --minutes N` produces demo traffic at a steady rate through the full local
 * pipeline (emulators, event source runner with the real stream-processor handler, local Firehose to
 * the lake, alerts reader, quarantine mirror, scheduled batch runs with reconciliation, and the
 * dashboard with one page open on its event stream) with seeded chaos on (crashes, throttles, lost
 * responses and redeliveries at a tenth of the fault tests' rates by default), and reports every
 * `--report-every` seconds: events produced, throughput (records/s the speed layer applied), lag
 * (largest iterator age, largest event-time lag of a batch, backlog = produced minus applied) and
 * memory (RSS and heap used of this process, after a forced GC; RSS of the emulators' process).
 *
 * At the end it drains the pipeline and checks that nothing was lost or double-counted:
 *  - the counts of the first tumbling window's aggregates in DynamoDB add up to the valid records
 *    produced (normal, anomalous and duplicate records; late ones are skipped by design),
 *  - the speed layer counted as many valid, invalid and late records as were produced,
 *  - the quarantine holds exactly the malformed records produced, the lake's raw zone every record,
 *    and no record went to the on-failure queue.
 * And whether memory stayed flat: after the warm-up (the first sixth of the run, at least 30 s), the
 * least-squares slope of the post-GC heap used, in MiB per minute, and the medians of the first and
 * last quarters of those samples. GROWING when the slope is above the threshold (--max-growth,
 * MiB/min) and the last quarter's median is above the first's; FLAT otherwise.
 *
 * Exit code 0 when nothing was lost and memory is FLAT, 1 otherwise. The figures go to
 * bench/results.json under `soak`.
 *
 * The emulators run in a child process by default, as `sluice local` runs them: they keep every
 * record of the stream for its 24 h retention (and every object and item) in memory by design,
 * which would hide the pipeline's own memory behind theirs. `--heap-snapshots DIR` writes a heap snapshot after the warm-up and at
 * the end, to compare in Chrome DevTools (Memory tab, "Comparison") when memory grows.
 *
 *   npm run soak -- --minutes 3 [--rate 1000] [--chaos-seed 1] [--chaos-scale 0.1] [--sensors 20] [--max-growth 1]
 *                               [--report-every 10] [--emulators child|in-process] [--heap-snapshots DIR]
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as v8 from 'node:v8';
import { DEFAULT_CONFIG, toSpeedConfig } from '../contract/config';
import type { ChaosOptions } from '../local/chaos/options';
import { startDashboardServer, type DashboardServer } from '../local/dashboard/server';
import { PipelineDashboardSource } from '../local/dashboard/pipeline-source';
import type { EmulatorPlacement } from '../local/pipeline';
import { countRawRecords, readAggregates } from '../local/replay-outputs';
import { recordResults } from './results';
import { LocalHarness, cpuMsOf, MIB, processCpuMs, processMemory, residentBytesOf } from './local-harness';
import { BenchOptionError, emulatorPlacement, positiveNumber, runBench } from './options';
import { formatCount, linearSlope, median, memoryVerdict, type MemoryVerdict } from './stats';

interface SoakOptions {
  readonly minutes: number;
  readonly rate: number;
  readonly chaosSeed: number;
  readonly chaosScale: number;
  readonly sensors: number;
  readonly maxGrowthMiBPerMinute: number;
  readonly reportEverySeconds: number;
  readonly emulators: EmulatorPlacement;
  readonly heapSnapshots?: string;
  readonly batchEverySeconds: number;
  readonly firehoseIntervalSeconds: number;
}

interface Sample {
  /** Minutes since the start of the soak. */
  readonly minute: number;
  /** Taken after production stopped, while the pipeline drains. */
  readonly draining: boolean;
  readonly produced: number;
  readonly applied: number;
  readonly appliedPerSec: number;
  readonly iteratorAgeMs: number;
  readonly eventTimeLagMs: number;
  readonly backlog: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** CPU time of this process per wall-clock second (1 = one core busy). */
  readonly cpuShare: number;
  readonly emulatorRss?: number;
  readonly emulatorCpuShare?: number;
  readonly chaosFaults: number;
}

function parseOptions(argv: string[]): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string' },
      rate: { type: 'string' },
      'chaos-seed': { type: 'string' },
      'chaos-scale': { type: 'string' },
      sensors: { type: 'string' },
      'max-growth': { type: 'string' },
      'report-every': { type: 'string' },
      emulators: { type: 'string' },
      'heap-snapshots': { type: 'string' },
      'batch-every': { type: 'string' },
      'firehose-interval': { type: 'string' },
    },
  });
  const emulators = emulatorPlacement(values.emulators);
  const chaosSeed = Number(values['chaos-seed'] ?? 1);
  if (!Number.isInteger(chaosSeed) || chaosSeed < 0) {
    throw new BenchOptionError(
      `--chaos-seed: got ${JSON.stringify(values['chaos-seed'])}; must be an integer >= 0`,
    );
  }
  return {
    minutes: positiveNumber('--minutes', values.minutes, 3),
    rate: positiveNumber('--rate', values.rate, 1_000),
    chaosSeed,
    chaosScale: positiveNumber('--chaos-scale', values['chaos-scale'], 0.1),
    sensors: Math.round(positiveNumber('--sensors', values.sensors, 20)),
    maxGrowthMiBPerMinute: positiveNumber('--max-growth', values['max-growth'], 1),
    reportEverySeconds: positiveNumber('--report-every', values['report-every'], 10),
    emulators,
    heapSnapshots: values['heap-snapshots'],
    batchEverySeconds: positiveNumber('--batch-every', values['batch-every'], 60),
    firehoseIntervalSeconds: positiveNumber('--firehose-interval', values['firehose-interval'], 15),
  };
}

/**
 * The chaos of the fault tests (local/chaos/options.ts defaults) scaled down: there, 5 % of DynamoDB calls
 * are throttled, and with ~140 UpdateItem calls per invocation nearly every invocation fails in part,
 * a throttling storm the pipeline survives but cannot keep a steady 1,000 events/s through. The soak
 * wants faults of every kind on a pipeline that keeps up: by default a tenth of each rate.
 */
function scaledChaosRates(scale: number): Omit<ChaosOptions, 'seed'> {
  const defaults = { crashProbability: 0.1, throttleProbability: 0.05, redeliveryProbability: 0.1 };
  return {
    crashProbability: Math.min(1, defaults.crashProbability * scale),
    throttleProbability: Math.min(1, defaults.throttleProbability * scale),
    redeliveryProbability: Math.min(1, defaults.redeliveryProbability * scale),
  };
}

const DRAIN_TIMEOUT_MS = 600_000;

const mib = (bytes: number | undefined): string => (bytes === undefined ? '-' : (bytes / MIB).toFixed(1));

/** A full GC first, when node runs with --expose-gc, so heap figures are live objects, not garbage. */
function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  return gc !== undefined;
}

/** CPU time used so far, ms: this process, and the emulators' process when it is another one. */
function cpuNow(emulatorPid: number | undefined): { self: number; emulators?: number } {
  return { self: processCpuMs(), emulators: emulatorPid === undefined ? undefined : cpuMsOf(emulatorPid) };
}

function formatSample(sample: Sample): string {
  const share = (value: number | undefined): string => (value === undefined ? '-' : value.toFixed(2));
  return [
    `${sample.minute.toFixed(2).padStart(6)}${sample.draining ? 'd' : ' '}`,
    formatCount(sample.produced).padStart(9),
    formatCount(sample.appliedPerSec).padStart(7),
    formatCount(sample.iteratorAgeMs).padStart(8),
    formatCount(sample.eventTimeLagMs).padStart(8),
    formatCount(sample.backlog).padStart(8),
    mib(sample.rss).padStart(7),
    mib(sample.heapUsed).padStart(6),
    share(sample.cpuShare).padStart(5),
    mib(sample.emulatorRss).padStart(7),
    share(sample.emulatorCpuShare).padStart(5),
    formatCount(sample.chaosFaults).padStart(6),
  ].join(' ');
}

/** Keeps one dashboard page open: reads the server-sent event stream and throws it away. */
function openDashboardPage(dashboard: DashboardServer): () => void {
  const request = http.get(`${dashboard.url}api/stream`, (response) => response.resume());
  request.on('error', () => undefined);
  return () => request.destroy();
}

function writeSnapshot(dir: string | undefined, name: string): void {
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  const file = v8.writeHeapSnapshot(path.join(dir, `${name}.heapsnapshot`));
  console.log(`heap snapshot: ${file}`);
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const gcAvailable = collectGarbage();
  const config = DEFAULT_CONFIG;
  const tumbling = toSpeedConfig(config).windows.find((w) => w.hopMs === w.sizeMs);
  if (!tumbling) throw new Error('the config has no tumbling window to check counts against');
  // Warnings and errors of the pipeline (chaos makes the runner warn), counted for the summary.
  const logCounts = new Map<string, number>();
  const firstMessages = new Map<string, string>();
  const harness = await LocalHarness.start({
    emulators: options.emulators,
    config,
    chaosSeed: options.chaosSeed,
    chaosRates: scaledChaosRates(options.chaosScale),
    batchIntervalMs: options.batchEverySeconds * 1000,
    firehoseBufferIntervalMs: options.firehoseIntervalSeconds * 1000,
    onLog: (entry) => {
      if (entry.level !== 'warn' && entry.level !== 'error') return;
      const key = `${entry.level} ${entry.component}`;
      logCounts.set(key, (logCounts.get(key) ?? 0) + 1);
      firstMessages.set(key, firstMessages.get(key) ?? entry.message);
    },
  });
  const { pipeline, commits } = harness;
  const dashboard = await startDashboardServer({ source: new PipelineDashboardSource(pipeline) });
  const closePage = openDashboardPage(dashboard);
  const durationMs = options.minutes * 60_000;
  const warmUpMs = Math.max(30_000, durationMs / 6);
  console.log(
    `soak: ${options.minutes} min at ${formatCount(options.rate)} events/s, ${options.sensors} sensors, chaos seed ${options.chaosSeed} at ${options.chaosScale} × the fault tests' rates, ` +
      `emulators ${options.emulators} (pid ${harness.emulatorPid ?? process.pid}), ${pipeline.resources.shardCount} shards, ` +
      `batch job every ${options.batchEverySeconds} s, Firehose buffer ${options.firehoseIntervalSeconds} s, dashboard page open`,
  );
  if (!gcAvailable)
    console.log('note: run with node --expose-gc (npm run soak does) for post-GC heap figures');
  console.log(
    'columns: minute, produced, applied/s (speed layer), iterator age ms, event-time lag ms, backlog (produced - applied),\n' +
      '         rss MiB, heap used MiB (after GC), cpu (cores), emulators rss MiB, emulators cpu (cores), chaos faults so far',
  );

  const pump = harness.produce({
    seed: options.chaosSeed + 1,
    sensors: options.sensors,
    ratePerSecond: options.rate,
    durationMs,
    invalidRate: 0.01,
    lateRate: 0.002,
    duplicateRate: 0.001,
  });
  const started = Date.now();
  const samples: Sample[] = [];
  let lastApplied = 0;
  let lastAt = started;
  let lastCpu = cpuNow(harness.emulatorPid);
  let snapshotTaken = false;
  let draining = false;
  const takeSample = (): void => {
    const now = Date.now();
    collectGarbage();
    const memory = processMemory();
    const cpu = cpuNow(harness.emulatorPid);
    const metrics = pipeline.runner.metrics();
    const applied = commits.applied;
    const seconds = (now - lastAt) / 1000;
    const sample: Sample = {
      minute: (now - started) / 60_000,
      draining,
      produced: pump.stats().sent,
      applied,
      appliedPerSec: (applied - lastApplied) / seconds,
      iteratorAgeMs: Math.max(0, ...metrics.shards.map((s) => s.iteratorAgeMs)),
      eventTimeLagMs: commits.takeMaxEventTimeLag(),
      backlog: pump.stats().sent - applied,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      cpuShare: (cpu.self - lastCpu.self) / 1000 / seconds,
      emulatorRss: harness.emulatorPid === undefined ? undefined : residentBytesOf(harness.emulatorPid),
      emulatorCpuShare:
        cpu.emulators === undefined || lastCpu.emulators === undefined
          ? undefined
          : (cpu.emulators - lastCpu.emulators) / 1000 / seconds,
      chaosFaults: pipeline.chaos?.faults.length ?? 0,
    };
    samples.push(sample);
    lastApplied = applied;
    lastAt = now;
    lastCpu = cpu;
    console.log(formatSample(sample));
    if (!snapshotTaken && now - started >= warmUpMs) {
      writeSnapshot(options.heapSnapshots, 'after-warm-up');
      snapshotTaken = true;
    }
  };
  const sampler = setInterval(takeSample, options.reportEverySeconds * 1000);
  const produced = await pump.done;
  takeSample();

  console.log('draining: speed layer, Firehose, alerts, quarantine (lines marked d)…');
  draining = true;
  const drainStarted = Date.now();
  let drained = true;
  await pipeline.settle({ timeoutMs: DRAIN_TIMEOUT_MS }).catch((error: unknown) => {
    console.log(`  not drained: ${String(error).slice(0, 300)}`);
    drained = false;
  });
  clearInterval(sampler);
  const drainSeconds = (Date.now() - drainStarted) / 1000;
  collectGarbage();
  writeSnapshot(options.heapSnapshots, 'end');

  const kinds = produced.byKind;
  const expectedValid = kinds.normal + kinds.anomaly + kinds.duplicate;
  const aggregates = await readAggregates(
    pipeline.clients.dynamodb,
    pipeline.resources.tableName,
    toSpeedConfig(pipeline.config).windows,
  );
  const aggregatedCount = aggregates
    .filter((a) => a.window === tumbling.name)
    .reduce((sum, a) => sum + a.count, 0);
  const totals = pipeline.accounting.totals;
  const quarantined = (await pipeline.quarantine.records()).length;
  const rawLanded = await countRawRecords(pipeline.lakeDir);
  const counters = pipeline.runner.metrics().counters;
  const checks: Array<[string, number, number]> = [
    [`valid records produced vs counts of the ${tumbling.name} aggregates`, expectedValid, aggregatedCount],
    ['valid records produced vs counted valid by the speed layer', expectedValid, totals.valid],
    ['malformed records produced vs quarantined', kinds.malformed, quarantined],
    ['malformed records produced vs counted invalid', kinds.malformed, totals.invalid],
    ['late records produced vs counted late', kinds.late, totals.late],
    ['records produced vs landed raw in the lake', produced.sent, rawLanded],
    ['records sent to the on-failure queue', 0, counters.recordsSentToOnFailure + counters.recordsDiscarded],
  ];
  const lossFree = drained && checks.every(([, expected, actual]) => expected === actual);

  const steady = samples.filter((s) => !s.draining && s.minute * 60_000 >= warmUpMs);
  const verdict: MemoryVerdict = memoryVerdict(
    steady.map((s) => ({ minute: s.minute, value: s.heapUsed / MIB })),
    options.maxGrowthMiBPerMinute,
  );
  const rssSlope = linearSlope(steady.map((s) => ({ minute: s.minute, value: s.rss / MIB })));
  const emulatorSteady = steady.filter((s) => s.emulatorRss !== undefined);
  const emulatorSlope = linearSlope(
    emulatorSteady.map((s) => ({ minute: s.minute, value: (s.emulatorRss as number) / MIB })),
  );
  const measured = samples.slice(1).filter((s) => !s.draining);
  const throughput = median(measured.map((s) => s.appliedPerSec));
  const maxIteratorAge = Math.max(0, ...samples.map((s) => s.iteratorAgeMs));
  const maxBacklog = Math.max(0, ...samples.map((s) => s.backlog));
  const maxEventTimeLag = Math.max(0, ...samples.map((s) => s.eventTimeLagMs));
  const chaos = pipeline.chaos?.counters;

  console.log('\nsummary');
  console.log(
    `  produced ${formatCount(produced.sent)} records in ${(produced.elapsedMs / 60_000).toFixed(1)} min: ${formatCount(kinds.normal + kinds.anomaly)} valid, ` +
      `${formatCount(kinds.duplicate)} duplicates, ${formatCount(kinds.malformed)} malformed, ${formatCount(kinds.late)} late`,
  );
  console.log(
    `  throughput: median ${formatCount(throughput)} records/s applied per ${options.reportEverySeconds} s interval; ` +
      `max iterator age ${formatCount(maxIteratorAge)} ms, max event-time lag ${formatCount(maxEventTimeLag)} ms, max backlog ${formatCount(maxBacklog)}; drained in ${drainSeconds.toFixed(1)} s`,
  );
  console.log(
    `  chaos: ${formatCount(chaos?.faultyInvocations ?? 0)} faulty invocations of ${formatCount(chaos?.invocations ?? 0)}, ` +
      `${formatCount(chaos?.crashes ?? 0)} crashes, ${formatCount(chaos?.throttles ?? 0)} throttles, ${formatCount(chaos?.lostResponses ?? 0)} lost responses, ` +
      `${formatCount(chaos?.redeliveries ?? 0)} redeliveries; runner: ${formatCount(counters.retries)} retries, ${formatCount(counters.bisections)} bisections`,
  );
  for (const [key, n] of [...logCounts].sort()) {
    console.log(
      `  ${key}: ${formatCount(n)} log entries, first: ${(firstMessages.get(key) ?? '').slice(0, 160)}`,
    );
  }
  console.log('  no loss, no double count:');
  for (const [label, expected, actual] of checks) {
    console.log(
      `    ${expected === actual ? 'ok  ' : 'FAIL'} ${label}: ${formatCount(expected)} / ${formatCount(actual)}`,
    );
  }
  console.log(
    `  memory after the ${(warmUpMs / 1000).toFixed(0)} s warm-up (${steady.length} samples, heap after ${gcAvailable ? 'forced GC' : 'no forced GC'}):`,
  );
  console.log(
    `    heap used: slope ${verdict.slopeMiBPerMinute.toFixed(2)} MiB/min, median first quarter ${verdict.firstQuarterMiB.toFixed(1)} MiB, ` +
      `last quarter ${verdict.lastQuarterMiB.toFixed(1)} MiB -> ${verdict.verdict} ` +
      `(GROWING = slope above ${options.maxGrowthMiBPerMinute} MiB/min and last quarter above the first)`,
  );
  console.log(`    rss: slope ${rssSlope.toFixed(2)} MiB/min (includes native memory: DuckDB, buffers)`);
  if (emulatorSteady.length > 0) {
    console.log(
      `    emulators' process rss: slope ${emulatorSlope.toFixed(2)} MiB/min (in-memory stream, table and bucket: grows with the data by design)`,
    );
  }
  const ok = lossFree && verdict.verdict === 'FLAT';
  console.log(`  result: ${ok ? 'PASS' : 'FAIL'}${lossFree ? '' : ' (records lost or double-counted)'}`);

  recordResults({
    soak: {
      minutes: options.minutes,
      rateEventsPerSec: options.rate,
      chaosSeed: options.chaosSeed,
      chaosScale: options.chaosScale,
      emulators: options.emulators,
      produced: produced.sent,
      appliedEventsPerSecMedian: Math.round(throughput),
      maxIteratorAgeMs: Math.round(maxIteratorAge),
      maxEventTimeLagMs: Math.round(maxEventTimeLag),
      maxBacklog: Math.round(maxBacklog),
      lossFree,
      heapUsedSlopeMiBPerMin: Number(verdict.slopeMiBPerMinute.toFixed(3)),
      heapUsedFirstQuarterMiB: Number(verdict.firstQuarterMiB.toFixed(1)),
      heapUsedLastQuarterMiB: Number(verdict.lastQuarterMiB.toFixed(1)),
      rssSlopeMiBPerMin: Number(rssSlope.toFixed(3)),
      emulatorRssSlopeMiBPerMin: Number(emulatorSlope.toFixed(3)),
      memory: verdict.verdict,
      maxGrowthMiBPerMin: options.maxGrowthMiBPerMinute,
      passed: ok,
    },
  });

  closePage();
  await dashboard.close();
  await harness.stop();
  return ok ? 0 : 1;
}

runBench(main, 2);
