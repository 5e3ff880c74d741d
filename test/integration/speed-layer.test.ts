/**
 * The speed layer end to end against real emulators (kinesalite, dynalite, fauxqs in a child
 * process) with the real AWS SDK: generated traffic goes into the stream, the local event-source
 * runner drives the real handler, and the results are compared with a recomputation done here,
 * independently of core/, with and without seeded chaos.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { toSpeedConfig, type SluiceConfig } from '../../contract/config';
import type { AlertMessage } from '../../lambdas/adapters/alert-publisher';
import { Chaos } from '../../local/chaos/chaos';
import { applyChaos } from '../../local/chaos/middleware';
import { mulberry32 } from '../../local/chaos/prng';
import { createLocalClients, destroyLocalClients, type LocalClients } from '../../local/endpoints';
import { EventSourceRunner } from '../../local/event-source/runner';
import type { KinesisOnFailureRecord } from '../../local/event-source/types';
import { createLocalResources, type LocalResources } from '../../local/resources';
import { createLocalStreamProcessor } from '../../local/local-handler';
import { recentNoon } from '../helpers/clock';
import { useEmulators, type EmulatorProcess } from '../helpers/emulators';
import {
  aggregatesOf,
  faultConfig,
  inRange,
  putLines,
  readQuarantine,
  scanAll,
  VALUE_RULE,
  WINDOW_RULE,
  type Position,
} from '../helpers/fault-ledger';
import { drainQueue } from '../helpers/speed-end-state';
import { windowStartsOf } from '../helpers/contract-oracle';

const MINUTE = 60_000;

interface Line {
  readonly text: string;
  readonly partitionKey: string;
  /** Set for valid events that are not late. */
  readonly event?: { sensorId: string; metric: string; value: number; eventTime: number };
  readonly invalidReason?: string;
  readonly late?: boolean;
}

/** Traffic: many sensors, out-of-order timestamps, malformed lines of known kinds, late events. */
function generateTraffic(count: number, sensors: number, now: number, seed: number): Line[] {
  const random = mulberry32(seed); // the traffic's own PRNG, separate from the chaos instance's
  const lines: Line[] = [];
  const malformed: Array<(i: number) => { text: string; reason: string }> = [
    (i) => ({ text: `garbage line ${i} {`, reason: 'not_json' }),
    (i) => ({
      text: JSON.stringify({ eventId: `m${i}`, metric: 'temperature', value: 1, timestamp: now }),
      reason: 'missing_field:sensorId',
    }),
    (i) => ({
      text: JSON.stringify({
        eventId: `m${i}`,
        sensorId: 'bad sensor',
        metric: 'temperature',
        value: 1,
        timestamp: now,
      }),
      reason: 'bad_value:sensorId',
    }),
    (i) => ({
      text: JSON.stringify({
        eventId: `m${i}`,
        sensorId: 's-1',
        metric: 'temperature',
        value: '20',
        timestamp: now,
      }),
      reason: 'bad_type:value',
    }),
    (i) => ({
      text: JSON.stringify({
        eventId: `m${i}`,
        sensorId: 's-1',
        metric: 'temperature',
        value: 20,
        timestamp: now + 3_600_000,
      }),
      reason: 'future_timestamp',
    }),
  ];
  for (let i = 0; i < count; i++) {
    const roll = random();
    if (roll < 0.03) {
      const { text, reason } = malformed[i % malformed.length](i);
      lines.push({ text, partitionKey: `malformed-${i % 7}`, invalidReason: reason });
      continue;
    }
    const sensorId = `sensor-${String(Math.floor(random() * sensors)).padStart(3, '0')}`;
    const metric = random() < 0.8 ? 'temperature' : 'humidity';
    const value = Math.round((15 + random() * 17 + (random() < 0.01 ? 10 : 0)) * 1000) / 1000;
    if (roll < 0.05) {
      const eventTime = now - 3 * 24 * 3_600_000 - Math.floor(random() * 3_600_000);
      lines.push({
        text: JSON.stringify({ eventId: `e${i}`, sensorId, metric, value, timestamp: eventTime }),
        partitionKey: sensorId,
        late: true,
      });
      continue;
    }
    // Out of order: anywhere in the last 10 minutes, ISO or epoch-ms timestamps.
    const eventTime = now - Math.floor(random() * 10 * MINUTE);
    const timestamp = random() < 0.5 ? new Date(eventTime).toISOString() : eventTime;
    lines.push({
      text: JSON.stringify({
        eventId: `e${i}`,
        sensorId,
        metric,
        value,
        unit: metric === 'temperature' ? 'C' : '%',
        timestamp,
      }),
      partitionKey: sensorId,
      event: { sensorId, metric, value, eventTime },
    });
  }
  return lines;
}

interface Expected {
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** Recomputes every window aggregate from the lines, straightforwardly. */
function expectedAggregates(lines: readonly Line[], config: SluiceConfig): Map<string, Expected> {
  const speed = toSpeedConfig(config);
  const result = new Map<string, Expected>();
  for (const { event } of lines) {
    if (!event) continue;
    for (const w of speed.windows) {
      for (const start of windowStartsOf(event.eventTime, w)) {
        const key = `${event.sensorId}|${event.metric}|${w.name}|${start}`;
        const e = result.get(key);
        if (!e) result.set(key, { count: 1, sum: event.value, min: event.value, max: event.value });
        else {
          e.count += 1;
          e.sum += event.value;
          e.min = Math.min(e.min, event.value);
          e.max = Math.max(e.max, event.value);
        }
      }
    }
  }
  return result;
}

/** Per sensor, in stream order: a breach alerts unless an earlier alert lies within the cooldown. */
function expectedValueAlerts(lines: readonly Line[], cooldownMs: number): Map<string, number[]> {
  const alerts = new Map<string, number[]>();
  for (const { event } of lines) {
    if (!event || event.metric !== 'temperature' || !(event.value > VALUE_RULE.threshold)) continue;
    const times = alerts.get(event.sensorId) ?? [];
    if (!times.some((t) => t === event.eventTime || Math.abs(t - event.eventTime) < cooldownMs))
      times.push(event.eventTime);
    alerts.set(event.sensorId, times);
  }
  return alerts;
}

interface RunOptions {
  readonly stage: string;
  readonly chaosSeed?: number;
  readonly parallelizationFactor?: number;
  /** Replaces the single put-and-drain with a scripted sequence (outage scenarios). */
  readonly script?: (run: {
    put: (lines: readonly Line[]) => Promise<Position[]>;
    drain: () => Promise<void>;
    chaos: Chaos;
  }) => Promise<void>;
  readonly retryAttempts?: number;
}

interface Observed {
  readonly config: SluiceConfig;
  readonly resources: LocalResources;
  readonly aggregates: Map<string, { count: number; sum: number; min: number; max: number }>;
  readonly alertItems: Record<string, AttributeValue>[];
  readonly alerts: AlertMessage[];
  readonly alertDeliveries: number;
  readonly quarantine: Map<string, { reason: string; data: string }>;
  readonly onFailure: KinesisOnFailureRecord[];
  readonly chaos?: Chaos;
}

let emulators: EmulatorProcess;
let clients: LocalClients;

const local = useEmulators();
beforeAll(() => ({ emulators, clients } = local()));

async function runSpeedLayer(lines: readonly Line[], options: RunOptions, now: number): Promise<Observed> {
  // The handler and the event source take the parallelization factor from the same config, as on AWS.
  const config = faultConfig(options.stage, options.parallelizationFactor);
  const resources = await createLocalResources(clients, config);
  const handlerClients = createLocalClients(emulators.endpoints);
  const chaos =
    options.script !== undefined
      ? new Chaos({ seed: 0, throttleProbability: 0, crashProbability: 0, redeliveryProbability: 0 })
      : options.chaosSeed === undefined
        ? undefined
        : new Chaos({
            seed: options.chaosSeed,
            throttleProbability: 0.08,
            crashProbability: 0.25,
            redeliveryProbability: 0.3,
          });
  if (chaos) applyChaos(handlerClients, chaos);
  const handler = createLocalStreamProcessor({
    clients: handlerClients,
    resources,
    config: toSpeedConfig(config),
    now: () => now,
  });
  if (!options.script) await putLines(clients.kinesis, resources.streamName, lines);
  const runner = new EventSourceRunner({
    kinesis: handlerClients.kinesis,
    streamName: resources.streamName,
    handler,
    batchSize: 200,
    bisectBatchOnError: true,
    reportBatchItemFailures: true,
    retryAttempts: options.retryAttempts ?? 10,
    parallelizationFactor: config.processor.parallelizationFactor,
    retryBackoffMs: 1,
    maxRetryBackoffMs: 5,
    pollIntervalMs: 20,
    onFailure: { sqs: handlerClients.sqs, queueUrl: resources.onFailureQueueUrl },
    chaos,
  });
  await runner.start();
  if (options.script) {
    await options.script({
      put: (more) => putLines(clients.kinesis, resources.streamName, more),
      drain: () => runner.drain({ timeoutMs: 90_000 }),
      chaos: chaos as Chaos,
    });
  } else {
    await runner.drain({ timeoutMs: 90_000 });
  }
  await runner.stop();
  destroyLocalClients(handlerClients);

  const items = await scanAll(clients, resources.tableName);
  const aggregates = aggregatesOf(items, toSpeedConfig(config).windows);
  const deliveries = await drainQueue(clients.sqs, resources.alertsQueueUrl);
  const alerts = new Map<string, AlertMessage>();
  for (const body of deliveries) {
    const alert = JSON.parse((JSON.parse(body) as { Message: string }).Message) as AlertMessage;
    alerts.set(alert.alertId, alert);
  }
  return {
    config,
    resources,
    aggregates,
    alertItems: items.filter((i) => i.pk.S!.startsWith('ALERT#')),
    alerts: [...alerts.values()],
    alertDeliveries: deliveries.length,
    quarantine: await readQuarantine(clients, resources.lakeBucketName),
    onFailure: (await drainQueue(clients.sqs, resources.onFailureQueueUrl)).map(
      (b) => JSON.parse(b) as KinesisOnFailureRecord,
    ),
    chaos,
  };
}

function expectExactAggregates(observed: Observed, lines: readonly Line[]): void {
  const expected = expectedAggregates(lines, observed.config);
  expect(observed.aggregates.size).toBe(expected.size);
  const mismatches: string[] = [];
  for (const [key, want] of expected) {
    const got = observed.aggregates.get(key);
    const sumOk = got && Math.abs(got.sum - want.sum) <= 1e-9 * Math.max(1, Math.abs(want.sum));
    if (!got || got.count !== want.count || got.min !== want.min || got.max !== want.max || !sumOk) {
      mismatches.push(`${key}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }
  }
  expect(mismatches.slice(0, 5)).toEqual([]);
}

function expectQuarantineComplete(observed: Observed, lines: readonly Line[]): void {
  const got = [...observed.quarantine.values()].map((q) => `${q.reason} ${q.data}`).sort();
  const want = lines
    .filter((l) => l.invalidReason)
    .map((l) => `${l.invalidReason} ${l.text}`)
    .sort();
  expect(got).toEqual(want);
}

function expectAlertsExactlyAsRulesAllow(observed: Observed, lines: readonly Line[]): void {
  const valueAlerts = observed.alerts.filter((a) => a.ruleId === 'temperature-high');
  const got = new Map<string, number[]>();
  for (const a of valueAlerts)
    got.set(
      a.sensorId,
      [...(got.get(a.sensorId) ?? []), Date.parse(a.eventTime)].sort((x, y) => x - y),
    );
  const want = expectedValueAlerts(lines, VALUE_RULE.cooldownMs);
  for (const times of want.values()) times.sort((x, y) => x - y);
  expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));

  // Window rule: which of two nearby breaching windows alerts depends on batch boundaries, so the
  // rule's two guarantees are checked instead of one exact set.
  const spikes = observed.alerts.filter((a) => a.ruleId === 'minute-spike');
  const breachingWindows = [...expectedAggregates(lines, observed.config)]
    .filter(
      ([key, agg]) =>
        key.split('|')[1] === 'temperature' && key.split('|')[2] === '1m' && agg.max > WINDOW_RULE.threshold,
    )
    .map(([key]) => ({ sensorId: key.split('|')[0], start: Number(key.split('|')[3]) }));
  for (const sensorId of new Set(breachingWindows.map((b) => b.sensorId))) {
    const times = spikes
      .filter((a) => a.sensorId === sensorId)
      .map((a) => Date.parse(a.eventTime))
      .sort((x, y) => x - y);
    times.forEach((t, i) => i > 0 && expect(t - times[i - 1]).toBeGreaterThanOrEqual(WINDOW_RULE.cooldownMs));
    for (const b of breachingWindows.filter((w) => w.sensorId === sensorId)) {
      expect(times.some((t) => Math.abs(t - b.start) < WINDOW_RULE.cooldownMs)).toBe(true);
    }
    for (const t of times)
      expect(breachingWindows.some((b) => b.sensorId === sensorId && b.start === t)).toBe(true);
  }
  expect(spikes.length).toBeGreaterThan(0);
  // Nothing is left in an outbox: every recorded alert was published.
  for (const item of observed.alertItems) expect(Object.keys(item.pending?.M ?? {})).toEqual([]);
}

/** Noon of a recent day: TTL is measured from it, and DynamoDB expires by the wall clock (clock.ts). */
const NOW = recentNoon();
const LINES = generateTraffic(1200, 20, NOW, 7);

describe('speed layer against the emulators', () => {
  test('without faults: aggregates equal recomputation, every malformed line is quarantined, alerts are exact', async () => {
    const observed = await runSpeedLayer(LINES, { stage: 'calm' }, NOW);
    expectExactAggregates(observed, LINES);
    expectQuarantineComplete(observed, LINES);
    expectAlertsExactlyAsRulesAllow(observed, LINES);
    expect(observed.alertDeliveries).toBe(observed.alerts.length);
    expect(observed.onFailure).toEqual([]);
  });

  test.each([1, 2, 3, 4, 5])('under chaos seed %i the results are exactly the same', async (seed) => {
    const observed = await runSpeedLayer(
      LINES,
      { stage: `chaos${seed}`, chaosSeed: seed, parallelizationFactor: seed % 2 ? 1 : 3 },
      NOW,
    );
    const counters = observed.chaos!.counters;
    expect(counters.crashes + counters.throttles + counters.lostResponses).toBeGreaterThan(0);
    expect(counters.redeliveries).toBeGreaterThan(0);
    expectExactAggregates(observed, LINES);
    expectQuarantineComplete(observed, LINES);
    expectAlertsExactlyAsRulesAllow(observed, LINES);
    expect(observed.onFailure).toEqual([]);
  });
});

describe('a DynamoDB outage longer than the retry budget', () => {
  test('sends the affected records to the on-failure queue, and every record is accounted for', async () => {
    const during = generateTraffic(400, 10, NOW, 11).map((l) => ({
      ...l,
      text: l.text.replace(/sensor-/g, 'outage-'),
    }));
    const after = generateTraffic(400, 10, NOW, 12);
    let duringPositions: Position[] = [];
    const observed = await runSpeedLayer(
      [],
      {
        stage: 'outage',
        retryAttempts: 2,
        script: async ({ put, drain, chaos }) => {
          chaos.setOutage('dynamodb', true);
          duringPositions = await put(during);
          await drain();
          chaos.setOutage('dynamodb', false);
          await put(after);
          await drain();
        },
      },
      NOW,
    );

    const ranges = observed.onFailure.map((f) => f.KinesisBatchInfo);
    expect(observed.onFailure.length).toBeGreaterThan(0);
    expect(observed.onFailure.every((f) => f.requestContext.condition === 'RetryAttemptsExhausted')).toBe(
      true,
    );
    const quarantined = new Set(observed.quarantine.keys());
    const unaccounted = during.filter((line, i) => {
      const p = duringPositions[i];
      const inDlq = ranges.some((r) => inRange(p, r));
      if (line.event) return !inDlq; // valid: must be in the on-failure queue
      if (line.invalidReason) return !inDlq && !quarantined.has(`${p.shardId}/${p.sequenceNumber}`);
      return false; // late: counted and skipped by design, never applied
    });
    expect(unaccounted).toEqual([]);
    // Nothing of the outage traffic reached the aggregates; the traffic after it is exact.
    expect([...observed.aggregates.keys()].some((k) => k.startsWith('outage-'))).toBe(false);
    expectExactAggregates(observed, after);
  });
});
